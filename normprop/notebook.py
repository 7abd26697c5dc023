"""The scaffold of every notebook: one call sets it up, one call closes it with the claim check.

A notebook reads from its ``parameters`` cell to its verdict::

    session = npp.start("01_orthogonality", preset, seed=seed, threads=threads, device=device)
    ...                                       # package calls, tables and figures
    session.finish(checks, numbers)           # records, prints the verdict table, raises if not reproduced

The notebook's name appears once, in :func:`start`; everything that depends on it (its preset sizes, where
its record and figures go) is derived from the session.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import matplotlib.pyplot as plt
import torch

from normprop.catalog import Claim, find_claim
from normprop.nets import make_generator
from normprop.plotting import save_figure, set_theme
from normprop.presets import load_preset
from normprop.results import REPRODUCED, ClaimRun
from normprop.runtime import configure


class ClaimNotReproduced(AssertionError):
    """Raised by :meth:`Session.finish` when a check of the claim fails: the notebook (and CI) fails too."""


@dataclass
class Session:
    """What a notebook needs after its parameters: sizes, randomness, device, and where results go."""

    claim: Claim
    preset: str
    seed: int
    sizes: MappingProxyType
    generator: torch.Generator
    device: torch.device
    _run: ClaimRun = field(repr=False)

    @property
    def notebook(self) -> str:
        return self.claim.notebook

    @property
    def band(self) -> dict[str, Any]:
        """seaborn's bootstrap 95% error band, seeded so that regenerated figures are byte-identical."""
        return {"errorbar": ("ci", 95), "seed": self.seed}

    def save_figure(self, fig: plt.Figure, stem: str) -> list[Path]:
        """Write ``stem.png`` and ``stem.pdf`` where this preset's figures go (paper: ``figures/``)."""
        if stem not in self.claim.figures:
            raise ValueError(f"stem must be one of this notebook's figures {sorted(self.claim.figures)}, got {stem!r}")
        return save_figure(fig, stem, self.preset)

    def finish(
        self,
        checks: Mapping[str, bool],
        numbers: Mapping[str, Any],
        supporting: Mapping[str, bool] | None = None,
    ) -> None:
        """Record the checks and headline numbers, print one line per check and the verdict, and raise
        :class:`ClaimNotReproduced` unless every check holds.

        ``supporting`` checks are recorded and printed but do not enter the verdict: results from a related
        paper that this notebook reports without claiming them.
        """
        verdict = self._run.record(checks, numbers, supporting or {})
        for name, ok in checks.items():
            print(f"{'ok  ' if ok else 'FAIL'}  {name}")
        for name, ok in (supporting or {}).items():
            print(f"{'yes ' if ok else 'no  '}  {name}  (supporting, not part of the verdict)")
        print(f"verdict: {verdict}")
        if verdict != REPRODUCED:
            failed = [name for name, ok in checks.items() if not ok]
            raise ClaimNotReproduced(f"claim {self.notebook} not reproduced; failed checks: {failed}")


def start(
    notebook: str,
    preset: str = "quick",
    seed: int = 0,
    threads: int | None = None,
    device: str | None = "cpu",
    **overrides: Any,
) -> Session:
    """Set a notebook up: its preset sizes (``overrides`` change single sizes), torch threads and device,
    the plot theme, one explicit generator seeded with ``seed``, and the results record."""
    claim = find_claim(notebook)
    sizes = load_preset(claim.notebook, preset, **overrides)
    resolved = configure(threads=threads, device=device)
    run = ClaimRun(claim.notebook, preset, started=time.perf_counter())
    set_theme()
    return Session(claim, preset, seed, sizes, make_generator(seed, resolved), resolved, run)
