"""The claim ledger: every notebook run at several base seeds, and for every check how often it held and by
what margin (``normprop ledger --preset paper --seeds 0-9``).

A verdict is a statement about every seed. The ledger reads the record of each (notebook, seed) run (written
under ``build/<preset>-seed<N>/``) and writes ``build/<preset>/ledger.json`` and ``ledger.md``: per claim, the
seeds it was reproduced at; per check, the seeds it held at and its **margin** at each seed (how far the tested
quantity clears its threshold in units of its own interval's half width, from :class:`normprop.analysis.Check`;
blank for a check without one), so that a check that holds by a hair is visible.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from normprop.claims import Claim
from normprop.repro.files import write_text_atomic
from normprop.repro.layout import ledger_paths
from normprop.repro.records import REPRODUCED, read_record


def parse_seeds(text: str) -> list[int]:
    """``"0-9"``, ``"0,3,7"`` or ``"2"`` -> the seeds, in order; a one-line ``ValueError`` otherwise."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            seeds += list(range(int(low), int(high or low) + 1))
    except ValueError:
        raise ValueError(f"--seeds must look like 0-9 or 0,3,7, got {text!r}") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must name distinct non-negative seeds, got {text!r}")
    return seeds


def seed_variant(seed: int) -> str:
    """The folder of a ledger run: ``build/<preset>-seed<N>/``."""
    return f"seed{seed}"


def _number(value: Any) -> float | None:
    if value is None:
        return None
    return float(value) if not isinstance(value, str) else float(value)  # "inf" / "-inf" as written by records


def summarise(claims: Sequence[Claim], preset: str, seeds: Sequence[int]) -> dict[str, Any]:
    """The ledger of ``claims`` over ``seeds`` from their records (a missing record: the run failed)."""
    ledger: dict[str, Any] = {"preset": preset, "seeds": list(seeds), "claims": []}
    for claim in claims:
        records = {seed: read_record(claim.notebook, preset, seed_variant(seed)) for seed in seeds}
        checks: dict[str, dict[str, Any]] = {}
        for kind in ("checks", "supporting"):
            for seed, record in records.items():
                for name, ok in (record or {}).get(kind, {}).items():
                    entry = checks.setdefault(name, {"kind": kind, "held": [], "failed": [], "margins": {}})
                    entry["held" if ok else "failed"].append(seed)
                    entry["margins"][str(seed)] = _number((record.get("margins") or {}).get(name))
        for entry in checks.values():
            margins = [m for m in entry["margins"].values() if m is not None and not math.isnan(m)]
            entry["min_margin"] = min(margins) if margins else None
        reproduced = [seed for seed, record in records.items() if record and record.get("verdict") == REPRODUCED]
        missing = [seed for seed, record in records.items() if record is None]
        ledger["claims"].append(
            {"notebook": claim.notebook, "reproduced": reproduced, "no_record": missing, "checks": checks}
        )
    return ledger


def verdict_line(entry: Mapping[str, Any], seeds: Sequence[int]) -> str:
    """``reproduced at 10 of 10 seeds``, or which checks failed at which seeds."""
    line = f"reproduced at {len(entry['reproduced'])} of {len(seeds)} seeds"
    failing = [
        f"'{name}' failed at seed(s) {', '.join(map(str, check['failed']))}"
        for name, check in entry["checks"].items()
        if check["kind"] == "checks" and check["failed"]
    ]
    if entry["no_record"]:
        failing.append(f"no record (the run failed) at seed(s) {', '.join(map(str, entry['no_record']))}")
    return line + ("; " + "; ".join(failing) if failing else "")


def _cell(margin: float | None, held: bool) -> str:
    mark = "" if held else " ✗"
    return ("·" if margin is None else f"{margin:.2g}") + mark


def ledger_markdown(ledger: Mapping[str, Any]) -> str:
    seeds = ledger["seeds"]
    lines = [f"# Claim ledger ({ledger['preset']} preset, seeds {', '.join(map(str, seeds))})", ""]
    lines += [
        "Each check at each seed: its margin, how far the tested quantity clears its threshold in units of its own "
        "interval's half width (· for a check without one); ✗ marks a seed where the check failed. Supporting lines "
        "are not part of the verdict.",
        "",
    ]
    for entry in ledger["claims"]:
        lines += [f"## {entry['notebook']}", "", f"**{verdict_line(entry, seeds)}**", ""]
        lines.append("| check | held | min margin | " + " | ".join(f"seed {seed}" for seed in seeds) + " |")
        lines.append("|---|---|---|" + "---|" * len(seeds))
        for name, check in entry["checks"].items():
            label = name.replace("|", "\\|") + (" (supporting)" if check["kind"] == "supporting" else "")
            held = f"{len(check['held'])} of {len(check['held']) + len(check['failed'])}"
            low = "·" if check["min_margin"] is None else f"{check['min_margin']:.2g}"
            cells = [
                _cell(check["margins"].get(str(seed)), seed in check["held"]) if str(seed) in check["margins"] else "-"
                for seed in seeds
            ]
            lines.append(f"| {label} | {held} | {low} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_ledger(ledger: Mapping[str, Any], preset: str) -> tuple[Path, Path]:
    json_path, markdown_path = ledger_paths(preset)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(json_path, json.dumps(ledger, indent=2, sort_keys=True) + "\n")
    write_text_atomic(markdown_path, ledger_markdown(ledger))
    return json_path, markdown_path
