"""Where each notebook's time goes, from what a run recorded: kernel start and imports, each sweep, figures, rest.

Reads a finished run (``normprop reproduce --preset paper --no-cache``, say): the report's wall time per notebook
(``build/<preset>/report.json``, from papermill's start to its end), the record's time from the notebook's setup
call to its verdict (``<notebook>.json``), and the session's task log (``<notebook>.tasks.json``: seconds per
sweep, as the tasks layer timed them, and the seconds spent drawing and saving figures). The difference between
the wall time and the record's is the kernel's start and imports. Run after a run without the cache, or the
sweeps show the cache's time::

    python benchmarks/profile_notebooks.py --preset paper
"""

from __future__ import annotations

import argparse
import json

from normprop.claims import all_claims
from normprop.repro.layout import build_dir, read_task_log, record_path


def profile(preset: str) -> list[str]:
    report = json.loads((build_dir(preset) / "report.json").read_text())
    wall = {entry["notebook"]: entry["wall_seconds"] for entry in report["claims"]}
    lines = [f"## Where the time goes ({preset} preset, from {report['run'].get('command', 'a run')})", ""]
    lines += ["| notebook | wall s | kernel + imports | sweeps (s each) | figures | rest |", "|" + "---|" * 6]
    for claim in all_claims():
        path = record_path(claim.notebook, preset)
        log = read_task_log(claim.notebook, preset)
        if claim.notebook not in wall or not path.is_file() or log is None:
            continue
        inside = json.loads(path.read_text())["seconds"]
        sweeps = {name: sweep["seconds"] for name, sweep in log["sweeps"].items()}
        figures = log.get("figure_seconds", 0.0)
        total = wall[claim.notebook]
        if total < inside:  # `reproduce` reused the last run (nothing changed): this report timed no execution
            lines.append(f"| {claim.notebook} | not executed by this run: profile a cold one (`--no-cache`) | | | | |")
            continue
        rest = inside - sum(sweeps.values()) - figures
        listed = ", ".join(f"{name} {seconds:.1f}" for name, seconds in sorted(sweeps.items(), key=lambda kv: -kv[1]))
        lines.append(
            f"| {claim.notebook} | {total:.1f} | {total - inside:.1f} | {sum(sweeps.values()):.1f}: {listed} "
            f"| {figures:.1f} | {rest:.1f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="paper")
    print("\n".join(profile(parser.parse_args().preset)))


if __name__ == "__main__":
    main()
