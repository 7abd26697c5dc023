"""The results record: each notebook ends by writing its verdict and headline numbers.

``build/<preset>/<notebook>.json`` holds::

    {"claim": ..., "notebook": ..., "preset": ..., "verdict": "reproduced" | "not reproduced",
     "checks": {name: bool}, "numbers": {...}, "seconds": ...}

The CLI reads these records to print its table of verdicts.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from normprop.claims import check_preset, find_claim
from normprop.repro import layout
from normprop.repro.files import write_text_atomic

REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"


def _plain(value: Any) -> Any:
    """Numbers as JSON numbers (inf as the string "inf"), mappings with string keys."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if hasattr(value, "as_record"):  # an analysis.Estimate, say: it says how it is stored
        return _plain(value.as_record())
    if hasattr(value, "tolist"):  # a numpy array or scalar (numpy is not imported here: the CLI starts without it)
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    return value


def record_path(notebook: str, preset: str, variant: str | None = None) -> Path:
    return layout.record_path(find_claim(notebook).notebook, preset, variant)


class ClaimRun:
    """Started when a notebook starts (:func:`normprop.repro.session.start`); :meth:`record` writes the record."""

    def __init__(
        self,
        notebook: str,
        preset: str,
        started: float | None = None,
        variant: str | None = None,
        seed: int | None = None,
    ) -> None:
        self.claim = find_claim(notebook)
        self.preset = check_preset(preset)
        self.variant, self.seed = variant, seed
        self._start = time.perf_counter() if started is None else started

    def record(
        self, checks: Mapping[str, bool], numbers: Mapping[str, Any], supporting: Mapping[str, bool] | None = None
    ) -> str:
        """Write the record and return the verdict: reproduced iff every check holds (``supporting``
        checks are recorded but do not count). A check may be a bool or an :class:`normprop.analysis.Check`, whose
        margin (how far its tested quantity clears the threshold, in units of its own interval) is recorded under
        ``margins`` for the ledger."""
        if not checks:
            raise ValueError("checks must hold at least one named check")
        verdict = REPRODUCED if all(bool(ok) for ok in checks.values()) else NOT_REPRODUCED
        path = record_path(self.claim.notebook, self.preset, self.variant)
        path.parent.mkdir(parents=True, exist_ok=True)
        every = {**dict(checks), **dict(supporting or {})}
        payload = {
            "claim": self.claim.statement,
            "notebook": self.claim.notebook,
            "preset": self.preset,
            "verdict": verdict,
            "seed": self.seed,
            "checks": {name: bool(ok) for name, ok in checks.items()},
            "supporting": {name: bool(ok) for name, ok in (supporting or {}).items()},
            "margins": _plain({name: getattr(ok, "margin", None) for name, ok in every.items()}),
            "numbers": _plain(dict(numbers)),
            "seconds": round(time.perf_counter() - self._start, 2),
        }
        write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")  # never a half record
        return verdict


def read_record(notebook: str, preset: str, variant: str | None = None) -> dict[str, Any] | None:
    """The record a notebook last wrote for ``preset`` (and ``variant``), or None if there is none."""
    path = record_path(notebook, preset, variant)
    return json.loads(path.read_text()) if path.exists() else None
