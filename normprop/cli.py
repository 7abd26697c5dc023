"""Command line: ``normprop run [NOTEBOOK ...] [--preset quick|paper]`` and ``normprop list``.

``run`` executes notebooks headlessly through papermill, writes the executed copies under
``build/<preset>/``, prints a table of verdicts from the results records, and exits non-zero when a
notebook fails or a claim is not reproduced.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from normprop.catalog import CLAIMS, Claim, find_claim
from normprop.paths import build_dir, notebooks_dir
from normprop.presets import PRESET_NAMES
from normprop.results import REPRODUCED, read_record, record_path


def execute_notebook(claim: Claim, preset: str, progress: bool = True) -> tuple[str, float]:
    """Run one notebook with ``preset``; return (status, seconds). Status is the verdict, or an error."""
    import papermill

    source = notebooks_dir() / f"{claim.notebook}.ipynb"
    output = build_dir(preset) / f"{claim.notebook}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    record_path(claim.notebook, preset).unlink(missing_ok=True)  # never report a stale verdict
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(source),
            str(output),
            parameters={"preset": preset},
            kernel_name="python3",
            cwd=str(notebooks_dir()),
            progress_bar=progress,
        )
    except papermill.PapermillExecutionError as error:
        record = read_record(claim.notebook, preset)
        status = record["verdict"] if record else f"failed: {error.ename}"
        return status, time.perf_counter() - start
    record = read_record(claim.notebook, preset)
    return (record["verdict"] if record else "failed: no results record"), time.perf_counter() - start


def _parse_notebooks(names: Sequence[str]) -> list[Claim]:
    return [find_claim(name) for name in names] if names else list(CLAIMS)


def command_run(args: argparse.Namespace) -> int:
    claims = _parse_notebooks(args.notebooks)
    rows = []
    for index, claim in enumerate(claims, start=1):
        print(f"[{index}/{len(claims)}] {claim.notebook} ({args.preset} preset)", file=sys.stderr, flush=True)
        status, seconds = execute_notebook(claim, args.preset, progress=not args.no_progress)
        rows.append((claim.notebook, status, seconds))
    width = max(len(name) for name, _, _ in rows)
    print(f"\n{'notebook':<{width}}  {'seconds':>8}  verdict")
    for name, status, seconds in rows:
        print(f"{name:<{width}}  {seconds:8.1f}  {status}")
    print(f"\nexecuted notebooks and records: build/{args.preset}/")
    return 0 if all(status == REPRODUCED for _, status, _ in rows) else 1


def command_list(args: argparse.Namespace) -> int:
    for claim in CLAIMS:
        print(f"{claim.notebook}: {claim.title}")
        print(f"  claim: {claim.claim}")
        for paper in claim.papers:
            print(f"  paper: {paper}")
        for stem, paper_figure in claim.figures.items():
            print(f"  figure: figures/{stem}.png  ({paper_figure})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="normprop", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute notebooks with papermill and print their verdicts")
    run.add_argument("notebooks", nargs="*", help="notebook names or numbers (default: all)")
    run.add_argument("--preset", choices=PRESET_NAMES, default="quick")
    run.add_argument("--no-progress", action="store_true", help="hide papermill's per-cell progress bar")
    run.set_defaults(handler=command_run)
    listing = commands.add_parser("list", help="the claims, their papers, notebooks and figures")
    listing.set_defaults(handler=command_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:
        parser.error(str(error))
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
