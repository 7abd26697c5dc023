"""``normprop verify``: how far a run is from the committed reference, number by number.

``figures/reference/<notebook>.json`` (committed, rewritten by ``make figures`` through ``normprop verify
--write``) holds each claim's verdict, checks and headline numbers at the paper preset, the sha256 of each of its
figure files, and for each number a **tolerance** from its spread over seeds (three standard deviations over the
seeds of the paper ledger, ``build/paper/ledger.json``, where one was run when the reference was written; none
otherwise). ``normprop verify`` compares the last run's records (``build/<preset>/<notebook>.json``) and figures
with it and prints, per number: the same to the byte, within tolerance, or outside it (both values shown); per
figure: identical or different bytes. On a machine where the bytes differ (another architecture, another BLAS),
a user sees at once whether anything that matters moved. Exit status 1 when a verdict or check differs or a
number is outside its tolerance (or has none and differs), else 0.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from normprop.claims import Claim
from normprop.repro.files import write_text_atomic
from normprop.repro.layout import figures_dir, ledger_paths, reference_path
from normprop.repro.ledger import seed_variant
from normprop.repro.records import read_record

SAME, WITHIN, OUTSIDE, NEW, MISSING = "same bytes", "within tolerance", "OUTSIDE", "not in reference", "missing"
SPREAD_FACTOR = 3.0  # a tolerance is this many standard deviations of the number over the ledger's seeds


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested numbers as ``{"a.b[0]": value}``; inf as the string records write it."""
    if isinstance(value, Mapping):
        return {
            k: v
            for key, item in value.items()
            for k, v in flatten(item, f"{prefix}.{key}" if prefix else str(key)).items()
        }
    if isinstance(value, list):
        return {k: v for index, item in enumerate(value) for k, v in flatten(item, f"{prefix}[{index}]").items()}
    return {prefix: value}


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if value in ("inf", "-inf", "nan"):
        return float(value)
    return None


def seed_spread(notebook: str, seeds: Sequence[int]) -> dict[str, float]:
    """For each numeric headline number: its standard deviation over the paper ledger's seeds."""
    values: dict[str, list[float]] = {}
    for seed in seeds:
        record = read_record(notebook, "paper", seed_variant(seed))
        for key, value in flatten((record or {}).get("numbers", {})).items():
            number = _float(value)
            if number is not None and math.isfinite(number):
                values.setdefault(key, []).append(number)
    return {key: statistics.stdev(found) for key, found in values.items() if len(found) >= 3}


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def reference_of(claim: Claim, preset: str = "paper") -> dict[str, Any]:
    """The reference for ``claim`` from its last ``preset`` run (and the paper ledger's spread, if there is one)."""
    record = read_record(claim.notebook, preset)
    if record is None:
        raise FileNotFoundError(f"no {preset} record of {claim.notebook}: run `normprop reproduce --preset {preset}`")
    ledger_json = ledger_paths("paper")[0]
    seeds = json.loads(ledger_json.read_text())["seeds"] if ledger_json.is_file() else []
    spread = seed_spread(claim.notebook, seeds)
    numbers = flatten(record["numbers"])
    tolerances = {key: SPREAD_FACTOR * spread[key] for key in numbers if key in spread}
    source = f"{SPREAD_FACTOR:g} standard deviations over seeds {seeds}" if seeds else "no ledger"
    previous = reference_path(claim.notebook)
    if not seeds and previous.is_file():  # no ledger here: keep the tolerances the committed reference has
        kept = json.loads(previous.read_text())
        tolerances = {key: value for key, value in kept["tolerances"].items() if key in numbers}
        source = kept["tolerance_from"]
    folder = figures_dir(preset)
    figures = {
        f"{stem}.{suffix}": _digest(folder / f"{stem}.{suffix}") for stem in claim.figures for suffix in ("png", "pdf")
    }
    return {
        "notebook": claim.notebook,
        "preset": preset,
        "verdict": record["verdict"],
        "checks": record["checks"],
        "numbers": numbers,
        "tolerances": tolerances,
        "tolerance_from": source,
        "figures": figures,
    }


def write_reference(claim: Claim, preset: str = "paper") -> Path:
    path = reference_path(claim.notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(reference_of(claim, preset), indent=2, sort_keys=True) + "\n")
    return path


def compare(claim: Claim, preset: str = "paper") -> list[dict[str, Any]]:
    """One row per number, check, verdict and figure: what the reference holds, what the run gave, the status."""
    path = reference_path(claim.notebook)
    if not path.is_file():
        return [{"what": "reference", "name": str(path.name), "status": MISSING, "reference": None, "run": None}]
    reference = json.loads(path.read_text())
    record = read_record(claim.notebook, preset) or {}
    rows = [{"what": "verdict", "name": "verdict", "reference": reference["verdict"], "run": record.get("verdict")}]
    rows[0]["status"] = SAME if rows[0]["reference"] == rows[0]["run"] else OUTSIDE
    for name, held in reference["checks"].items():
        found = record.get("checks", {}).get(name)
        rows.append({"what": "check", "name": name, "reference": held, "run": found,
                     "status": SAME if found == held else (MISSING if found is None else OUTSIDE)})  # fmt: skip
    numbers = flatten(record.get("numbers", {}))
    for name, expected in reference["numbers"].items():
        found = numbers.get(name)
        tolerance = reference["tolerances"].get(name)
        if name not in numbers:
            status = MISSING
        elif json.dumps(found) == json.dumps(expected):
            status = SAME
        else:
            a, b = _float(found), _float(expected)
            close = a is not None and b is not None and tolerance is not None and abs(a - b) <= tolerance
            status = WITHIN if close else OUTSIDE
        rows.append({"what": "number", "name": name, "reference": expected, "run": found, "tolerance": tolerance,
                     "status": status})  # fmt: skip
    rows += [{"what": "number", "name": name, "reference": None, "run": value, "status": NEW}
             for name, value in numbers.items() if name not in reference["numbers"]]  # fmt: skip
    folder = figures_dir(preset)
    for name, digest in reference["figures"].items():
        found = _digest(folder / name)
        status = SAME if found == digest else (MISSING if found is None else "bytes differ")
        rows.append({"what": "figure", "name": name, "reference": digest, "run": found, "status": status})
    return rows


def failed(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows that matter: a verdict, check or number outside (or missing); figures that differ only in bytes
    and numbers new since the reference do not fail a run."""
    return [row for row in rows if row["status"] in (OUTSIDE, MISSING) and row["what"] != "figure"]


def _short(value: Any) -> Any:
    """A sha256 digest shortened to 12 characters; anything else as it is."""
    return value[:12] if isinstance(value, str) and len(value) == 64 else value


def table(claim: Claim, rows: Sequence[Mapping[str, Any]]) -> str:
    counts = {
        status: sum(row["status"] == status for row in rows) for status in dict.fromkeys(r["status"] for r in rows)
    }
    lines = [f"{claim.notebook}: " + ", ".join(f"{count} {status}" for status, count in counts.items())]
    for row in rows:
        if row["status"] not in (SAME,):
            extra = f" (tolerance {row['tolerance']:.3g})" if row.get("tolerance") is not None else ""
            found = f"reference {_short(row['reference'])!r}"
            lines.append(f"  {row['status']:<16} {row['what']:<7} {row['name']}: {found}, "
                         f"this run {_short(row['run'])!r}{extra}")  # fmt: skip
    return "\n".join(lines)
