"""Command line: ``normprop reproduce``, ``normprop run`` and ``normprop list``.

``reproduce`` executes the notebooks headlessly through papermill (several at once with ``--jobs``, each
with its share of the cores so that they do not oversubscribe them), writes the executed copies and a
report under ``build/<preset>/``, the figures (paper preset: ``figures/``) and the gallery, and exits
non-zero when a notebook fails or a claim is not reproduced. ``run`` does the same without the report.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from tqdm import tqdm

from normprop import report
from normprop.catalog import CLAIMS, Claim, find_claim
from normprop.paths import build_dir, notebooks_dir, relative_to_root
from normprop.presets import PRESET_NAMES
from normprop.results import REPRODUCED, read_record, record_path
from normprop.runtime import KERNEL_ENVIRONMENT


def execute_notebook(claim: Claim, preset: str, threads: int) -> tuple[str, float]:
    """Run one notebook with papermill in a subprocess; return (status, seconds).

    The status is the notebook's recorded verdict, or ``failed: ...`` if it raised before recording one.
    papermill's own output goes to ``build/<preset>/<notebook>.log``.
    """
    source = notebooks_dir() / f"{claim.notebook}.ipynb"
    output = build_dir(preset) / f"{claim.notebook}.ipynb"
    log = build_dir(preset) / f"{claim.notebook}.log"
    output.parent.mkdir(parents=True, exist_ok=True)
    record_path(claim.notebook, preset).unlink(missing_ok=True)  # never report a stale verdict
    env = {**os.environ, **KERNEL_ENVIRONMENT, "NORMPROP_THREADS": str(threads)}
    command = [sys.executable, "-m", "papermill", str(source), str(output), "-p", "preset", preset]
    command += ["--cwd", str(notebooks_dir()), "-k", "python3", "--no-progress-bar"]
    start = time.perf_counter()
    with log.open("w") as handle:
        finished = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env, check=False)
    seconds = time.perf_counter() - start
    record = read_record(claim.notebook, preset)
    if record is not None:
        return record["verdict"], seconds
    reason = "notebook raised an error" if finished.returncode else "no results record"
    return f"failed: {reason} (see {relative_to_root(log)})", seconds


def plan_jobs(requested: int, notebooks: int) -> tuple[int, int]:
    """``(jobs, threads per job)``: at most one job per core and per notebook, and the cores shared out."""
    cores = os.cpu_count() or 1
    jobs = max(1, min(requested, cores, notebooks))
    return jobs, max(1, cores // jobs)


def execute_all(claims: Sequence[Claim], preset: str, jobs: int, progress: bool = True) -> dict[str, tuple[str, float]]:
    """Run the notebooks, ``jobs`` at a time, with ``cores // jobs`` torch threads each."""
    jobs, threads = plan_jobs(jobs, len(claims))
    statuses: dict[str, tuple[str, float]] = {}
    bar = tqdm(total=len(claims), desc=f"{preset} preset", unit="notebook", disable=not progress, file=sys.stderr)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(execute_notebook, claim, preset, threads): claim for claim in claims}
        for future in as_completed(futures):
            claim = futures[future]
            statuses[claim.notebook] = future.result()
            bar.set_postfix_str(f"{claim.notebook}: {statuses[claim.notebook][0]}")
            bar.update()
    bar.close()
    return statuses


def print_table(claims: Sequence[Claim], statuses: dict[str, tuple[str, float]]) -> None:
    width = max(len(claim.notebook) for claim in claims)
    print(f"\n{'notebook':<{width}}  {'seconds':>8}  verdict")
    for claim in claims:
        status, seconds = statuses[claim.notebook]
        print(f"{claim.notebook:<{width}}  {seconds:8.1f}  {status}")


def _claims(names: Sequence[str]) -> list[Claim]:
    return [find_claim(name) for name in names] if names else list(CLAIMS)


def _all_reproduced(statuses: dict[str, tuple[str, float]]) -> bool:
    return all(status == REPRODUCED for status, _ in statuses.values())


def command_run(args: argparse.Namespace) -> int:
    claims = _claims(args.notebooks)
    statuses = execute_all(claims, args.preset, args.jobs, progress=not args.no_progress)
    print_table(claims, statuses)
    print(f"\nexecuted notebooks, logs and records: build/{args.preset}/")
    return 0 if _all_reproduced(statuses) else 1


def command_reproduce(args: argparse.Namespace) -> int:
    claims = _claims(args.only)
    statuses = execute_all(claims, args.preset, args.jobs, progress=not args.no_progress)
    print_table(claims, statuses)
    environment = report.environment(*plan_jobs(args.jobs, len(claims)))
    result = report.build_report(claims, args.preset, statuses, environment)
    json_path, markdown_path = report.write_report(result, args.preset)
    gallery = report.write_gallery(args.preset)
    print(f"\nreport: {relative_to_root(markdown_path)} and {relative_to_root(json_path)}")
    print(f"figures and gallery: {relative_to_root(gallery.parent)}/")
    return 0 if result["all_reproduced"] else 1


def command_list(args: argparse.Namespace) -> int:
    for claim in CLAIMS:
        print(f"{claim.notebook}: {claim.title}")
        print(f"  claim: {claim.statement}")
        for paper in claim.papers:
            print(f"  paper: {paper}")
        print(f"  notebook: notebooks/{claim.notebook}.ipynb")
        for stem, paper_figure in claim.figures.items():
            print(f"  figure: figures/{stem}.png  ({paper_figure})")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="normprop", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    reproduce = commands.add_parser("reproduce", help="run the notebooks and write the report and the gallery")
    reproduce.add_argument("--preset", choices=PRESET_NAMES, default="paper")
    reproduce.add_argument("--only", nargs="+", default=[], metavar="NOTEBOOK", help="notebook names or numbers")
    reproduce.add_argument("--jobs", type=_positive, default=1, help="notebooks run at once (capped at the cores)")
    reproduce.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    reproduce.set_defaults(handler=command_reproduce)

    run = commands.add_parser("run", help="execute notebooks with papermill and print their verdicts")
    run.add_argument("notebooks", nargs="*", help="notebook names or numbers (default: all)")
    run.add_argument("--preset", choices=PRESET_NAMES, default="quick")
    run.add_argument("--jobs", type=_positive, default=1, help="notebooks run at once (capped at the cores)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
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
