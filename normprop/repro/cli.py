"""Command line: ``normprop reproduce``, ``normprop run`` and ``normprop list``.

``reproduce`` executes the notebooks headlessly through papermill (several at once with ``--jobs``, each
with its share of the cores so that they do not oversubscribe them), writes the executed copies and a
report under ``build/<preset>/``, the figures (paper preset: ``figures/``) and the gallery, and exits
non-zero when a notebook fails or a claim is not reproduced. ``run`` does the same without the report.

Each notebook has a wall-clock limit (``--timeout``, default per preset in
:data:`normprop.repro.runner.TIMEOUT_SECONDS`); Ctrl-C or SIGTERM stops every running notebook within seconds;
one run per preset at a time (``build/<preset>/.lock``). Exit status: 0 every claim reproduced; 1 a claim
not reproduced, a notebook failed or timed out; 2 bad arguments; 75 another run of the preset is going;
130 stopped by SIGINT (Ctrl-C), 143 by SIGTERM.

The notebooks' sweeps are tasks (:mod:`normprop.repro.sweeps`): run in each notebook's kernel by default, on a Dask
cluster with ``--scheduler tcp://HOST:PORT`` (or a ``LocalCluster`` of ``--workers N`` processes, started for
the run and shared by its notebooks), with results cached under ``build/cache/`` unless ``--no-cache``. The
flags reach the kernels as ``NORMPROP_SCHEDULER`` and ``NORMPROP_NO_CACHE``; the run prints where each
notebook's tasks ran.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from normprop.claims import PRESET_NAMES, Claim, all_claims, find_claim
from normprop.repro import ledger, provenance, report
from normprop.repro.cluster import local_cluster
from normprop.repro.layout import (
    build_dir,
    cache_dir,
    cache_disabled,
    describe_task_log,
    notebooks_dir,
    read_task_log,
    relative_to_root,
    repo_root,
)
from normprop.repro.ledger import parse_seeds, seed_variant
from normprop.repro.lock import LockHeld, preset_lock
from normprop.repro.parameters import resolve_value, validate, variant_name
from normprop.repro.records import REPRODUCED
from normprop.repro.runner import (
    FINISHED,
    NOT_STARTED,
    TIMEOUT_SECONDS,
    Outcome,
    Run,
    StopSignal,
    catch_stop_signals,
    default_timeout,
    execute_all,
    execute_runs,
    kernel_settings,
    plan_jobs,
)
from normprop.repro.runtime import FIGURES_VARIABLE

EXIT_REPRODUCED, EXIT_NOT_REPRODUCED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 75


def print_table(claims: Sequence[Claim], outcomes: Mapping[str, Outcome]) -> None:
    """One line per notebook: its runtime, whether it finished (or was stopped, or never started), its verdict."""
    width = max(len(claim.notebook) for claim in claims)
    print(f"\n{'notebook':<{width}}  {'seconds':>8}  {'state':<11}  verdict")
    for claim in claims:
        outcome = outcomes[claim.notebook]
        seconds = f"{'-':>8}" if outcome.state == NOT_STARTED else f"{outcome.seconds:8.1f}"
        print(f"{claim.notebook:<{width}}  {seconds}  {outcome.state:<11}  {outcome.verdict}")


def _claims(names: Sequence[str]) -> list[Claim]:
    return [find_claim(name) for name in names] if names else list(all_claims())


def _exit_code(outcomes: Mapping[str, Outcome], stop: StopSignal) -> int:
    if stop:
        return stop.exit_code
    reproduced = all(outcome.state == FINISHED and outcome.verdict == REPRODUCED for outcome in outcomes.values())
    return EXIT_REPRODUCED if reproduced else EXIT_NOT_REPRODUCED


def _say_stopped(stop: StopSignal) -> None:
    if stop:
        print(f"\nnormprop: stopped by {stop.name}: running notebooks were stopped, the rest not started.")


def _count_workers(address: str) -> int:
    """Connect to the scheduler at ``address`` and count its workers (a clear error if it cannot be reached)."""
    from distributed import Client

    try:
        with Client(address, timeout="10s", set_as_default=False) as client:
            return len(client.scheduler_info().get("workers", {}))
    except (OSError, TimeoutError) as error:
        raise ValueError(f"--scheduler: cannot reach a Dask scheduler at {address}: {error}") from None


@contextmanager
def task_settings(args: argparse.Namespace) -> Iterator[str]:
    """Where the notebooks' tasks will run (a LocalCluster for ``--workers``, started here and closed after the
    run), passed to their kernels through the environment; yields a line saying so."""
    variables, cluster = {}, None
    if args.no_cache:
        variables["NORMPROP_NO_CACHE"] = "1"
    address = args.scheduler
    if args.workers:
        cluster = local_cluster(args.workers)
        address = cluster.scheduler_address
    try:
        if address:
            # one torch thread per task on the workers (each runs one task per thread), not this machine's share
            variables.update(NORMPROP_SCHEDULER=address, NORMPROP_TASK_THREADS="1")
            where = f"on the Dask scheduler {address} ({_count_workers(address)} workers)"
        else:
            where = "in each notebook's kernel" + (" (NORMPROP_WORKERS)" if os.environ.get("NORMPROP_WORKERS") else "")
        with kernel_settings(variables):
            cache = "off" if cache_disabled() else f"{relative_to_root(cache_dir())}/"
            yield f"tasks: {where}; result cache: {cache}"
    finally:
        if cluster is not None:
            cluster.close()


def print_task_logs(claims: Sequence[Claim], preset: str, outcomes: Mapping[str, Outcome]) -> None:
    """Per notebook: how many tasks, computed where, read from the cache (``build/<preset>/*.tasks.json``)."""
    width = max(len(claim.notebook) for claim in claims)
    print("\nwhere the sweeps' tasks ran:")
    for claim in claims:
        if outcomes[claim.notebook].reused:
            print(f"  {claim.notebook:<{width}}  not executed: unchanged since its last run (--no-cache runs it)")
            continue
        print(f"  {claim.notebook:<{width}}  {describe_task_log(read_task_log(claim.notebook, preset))}")


def _parameters(args: argparse.Namespace, claims: Sequence[Claim]) -> tuple[dict[str, Any], str]:
    """The notebooks' parameters from ``-p NAME VALUE`` and ``--seed``, checked against their parameters cells
    before any kernel starts (``-p preset`` sets the preset), and the variant they make ("" for the defaults)."""
    parameters = {name: resolve_value(value) for name, value in args.parameter or []}
    if args.seed is not None:
        parameters["seed"] = resolve_value(args.seed)
    paths = [notebooks_dir() / f"{claim.notebook}.ipynb" for claim in claims]
    validate(parameters, paths)
    args.preset = parameters.pop("preset", args.preset)
    return parameters, variant_name(parameters, paths)


def _run(args: argparse.Namespace, claims: Sequence[Claim], write_report: bool) -> int:
    """Run ``claims`` under the preset's lock, with stop signals caught; the report too if asked."""
    parameters, variant = _parameters(args, claims)
    timeout = args.timeout if args.timeout is not None else default_timeout(args.preset)
    with catch_stop_signals() as stop, kernel_settings({"NORMPROP_VARIANT": variant}):
        try:
            with preset_lock(args.preset, args.command_line), task_settings(args) as where:
                print(where)
                if parameters:
                    print("parameters: " + ", ".join(f"{name} = {value!r}" for name, value in parameters.items()))
                if write_report:
                    return _reproduce(args, claims, timeout, stop, parameters, variant)
                outcomes = execute_all(
                    claims, args.preset, args.jobs, timeout, stop, not args.no_progress, parameters, variant
                )
                _say_stopped(stop)
                print_table(claims, outcomes)
                print_task_logs(claims, args.preset, outcomes)
                print(f"\nexecuted notebooks, logs and records: {relative_to_root(build_dir(args.preset))}/")
                return _exit_code(outcomes, stop)
        except LockHeld as error:
            print(f"normprop: {error}", file=sys.stderr)
            return EXIT_LOCKED


def _reproduce(
    args: argparse.Namespace,
    claims: Sequence[Claim],
    timeout: float,
    stop: StopSignal,
    parameters: Mapping[str, Any],
    variant: str,
) -> int:
    jobs, threads = plan_jobs(args.jobs, len(claims))
    run = {
        "command": args.command_line,
        "pid": os.getpid(),
        "started": report.now(),
        "timeout_seconds": timeout,
        "parameters": dict(parameters),
    }
    # Gathered before any notebook rewrites a figure (which would make the checkout look modified).
    environment = provenance.environment(repo_root(), jobs, threads)
    seeds = {claim.notebook: provenance.notebook_seed(notebooks_dir() / f"{claim.notebook}.ipynb") for claim in claims}
    if "seed" in parameters:
        seeds = dict.fromkeys(seeds, parameters["seed"])
    # The last run's report must not stand while this one runs: if this run never ends, this one says so.
    report.write_report(report.running_report(claims, args.preset, environment, run, seeds), args.preset)
    outcomes = execute_all(claims, args.preset, jobs, timeout, stop, not args.no_progress, parameters, variant)
    _say_stopped(stop)
    print_table(claims, outcomes)
    print_task_logs(claims, args.preset, outcomes)
    result = report.build_report(claims, args.preset, outcomes, environment, run=run, seeds=seeds, stopped_by=stop.name)
    json_path, markdown_path = report.write_report(result, args.preset)
    print(f"\nreport: {relative_to_root(markdown_path)} and {relative_to_root(json_path)}")
    if result["complete"]:
        gallery = report.write_gallery(args.preset)
        print(f"figures and gallery: {relative_to_root(gallery.parent)}/")
    else:
        print("the run is INCOMPLETE (the report says so); the gallery was left as it was")
    return _exit_code(outcomes, stop)


def command_run(args: argparse.Namespace) -> int:
    return _run(args, _claims(args.notebooks), write_report=False)


def command_reproduce(args: argparse.Namespace) -> int:
    return _run(args, _claims(args.only), write_report=True)


def command_ledger(args: argparse.Namespace) -> int:
    """Every notebook at every seed (notebooks in parallel), then ``build/<preset>/ledger.md`` and ``.json``."""
    claims, seeds = _claims(args.only), parse_seeds(args.seeds)
    runs = [Run(claim, {"seed": seed}, seed_variant(seed)) for seed in seeds for claim in claims]
    validate({"seed": seeds[0]}, [notebooks_dir() / f"{claim.notebook}.ipynb" for claim in claims])
    timeout = args.timeout if args.timeout is not None else default_timeout(args.preset)
    outcomes: list[Outcome] = []
    with catch_stop_signals() as stop:
        try:
            figures = {} if args.figures else {FIGURES_VARIABLE: "off"}  # the checks are wanted, not the pictures
            with preset_lock(args.preset, args.command_line), task_settings(args) as where, kernel_settings(figures):
                print(
                    f"{where}; {len(claims)} notebook(s) x {len(seeds)} seed(s)"
                    + ("" if args.figures else "; figures off")
                )
                if not args.from_records:  # else the runs were made before (a few notebooks at a time, say)
                    outcomes = execute_runs(runs, args.preset, args.jobs, timeout, stop, not args.no_progress)
        except LockHeld as error:
            print(f"normprop: {error}", file=sys.stderr)
            return EXIT_LOCKED
    _say_stopped(stop)
    summary = ledger.summarise(claims, args.preset, seeds)
    json_path, markdown_path = ledger.write_ledger(summary, args.preset)
    print()
    for entry in summary["claims"]:
        print(f"{entry['notebook']}: {ledger.verdict_line(entry, seeds)}")
    print(f"\nledger: {relative_to_root(markdown_path)} and {relative_to_root(json_path)}")
    if stop:
        return stop.exit_code
    everywhere = all(len(entry["reproduced"]) == len(seeds) for entry in summary["claims"])
    finished = all(outcome.state == FINISHED for outcome in outcomes)
    return EXIT_REPRODUCED if everywhere and finished else EXIT_NOT_REPRODUCED


def command_verify(args: argparse.Namespace) -> int:
    """Compare the last run's records and figures with the committed reference (and rewrite it with --write)."""
    from normprop.repro import verify  # here: it is the one command that reads every record

    claims, problems = _claims(args.only), 0
    print(f"normprop verify: the last {args.preset} run against figures/reference/ (tolerances: seed spread)")
    for claim in claims:
        rows = verify.compare(claim, args.preset)
        problems += len(verify.failed(rows))
        print(verify.table(claim, rows))
    if args.write:
        for claim in claims:
            print(f"reference written: {relative_to_root(verify.write_reference(claim, args.preset))}")
    print("every number within tolerance" if not problems else f"{problems} number(s), check(s) or verdict(s) moved")
    return EXIT_REPRODUCED if not problems else EXIT_NOT_REPRODUCED


def command_list(args: argparse.Namespace) -> int:
    for claim in all_claims():
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


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _add_run_options(command: argparse.ArgumentParser, default_preset: str) -> None:
    defaults = ", ".join(f"{preset} {seconds:g}" for preset, seconds in TIMEOUT_SECONDS.items())
    command.add_argument("--preset", choices=PRESET_NAMES, default=default_preset)
    command.add_argument("--jobs", type=_positive, default=1, help="notebooks run at once (capped at the cores)")
    command.add_argument(
        "--timeout", type=_seconds, default=None, metavar="SECONDS",
        help=f"wall-clock limit per notebook, kernel start included (default by preset: {defaults})",
    )  # fmt: skip
    command.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    where = command.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler", metavar="ADDRESS", default=os.environ.get("NORMPROP_SCHEDULER") or None,
        help="run the sweeps' tasks on the Dask scheduler at ADDRESS, e.g. tcp://10.0.0.5:8786 "
        "(default: $NORMPROP_SCHEDULER, else in each notebook's kernel)",
    )  # fmt: skip
    where.add_argument(
        "--workers", type=_positive, default=None, metavar="N",
        help="run the sweeps' tasks on a Dask LocalCluster of N worker processes started for this run",
    )  # fmt: skip
    command.add_argument(
        "--no-cache", action="store_true", default=False,
        help="compute every task, neither reading nor writing build/cache/ (also: NORMPROP_NO_CACHE=1)",
    )  # fmt: skip


def _add_parameter_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--seed", metavar="N", help="the notebooks' base seed (a non-negative integer)")
    command.add_argument(
        "-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
        help="set a notebook parameter, as papermill's -p (repeatable); a run with other parameters than the "
        "defaults writes under build/<preset>-<variant>/, never over build/<preset>/ or figures/",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="normprop", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    reproduce = commands.add_parser("reproduce", help="run the notebooks and write the report and the gallery")
    reproduce.add_argument("--only", nargs="+", default=[], metavar="NOTEBOOK", help="notebook names or numbers")
    _add_run_options(reproduce, "paper")
    _add_parameter_options(reproduce)
    reproduce.set_defaults(handler=command_reproduce)

    run = commands.add_parser("run", help="execute notebooks with papermill and print their verdicts")
    run.add_argument("notebooks", nargs="*", help="notebook names or numbers (default: all)")
    _add_run_options(run, "quick")
    _add_parameter_options(run)
    run.set_defaults(handler=command_run)

    ledger_command = commands.add_parser(
        "ledger", help="run every notebook at several seeds; per check, how often it held and by what margin"
    )
    ledger_command.add_argument("--seeds", default="0-9", help="base seeds, e.g. 0-9 or 0,3,7 (default 0-9)")
    ledger_command.add_argument("--only", nargs="+", default=[], metavar="NOTEBOOK", help="notebook names or numbers")
    ledger_command.add_argument(
        "--figures", action="store_true", help="save every seed's figures too (default: off, the checks only)"
    )
    ledger_command.add_argument(
        "--from-records",
        action="store_true",
        help="run nothing: summarise the records that earlier ledger runs left in build/<preset>-seed<N>/",
    )
    _add_run_options(ledger_command, "quick")
    ledger_command.set_defaults(handler=command_ledger)

    verifying = commands.add_parser("verify", help="compare the last run with the committed reference numbers")
    verifying.add_argument("--preset", choices=PRESET_NAMES, default="paper")
    verifying.add_argument("--only", nargs="+", default=[], metavar="NOTEBOOK", help="notebook names or numbers")
    verifying.add_argument("--write", action="store_true", help="then rewrite the reference from this run")
    verifying.set_defaults(handler=command_verify)

    listing = commands.add_parser("list", help="the claims, their papers, notebooks and figures")
    listing.set_defaults(handler=command_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(arguments)
    args.command_line = shlex.join(["normprop", *arguments])  # for the lock file and the report
    try:
        return args.handler(args)
    except ValueError as error:  # a bad value the parser could not see: one line, as argparse's own errors end
        print(f"normprop: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C outside a run (a run catches it itself): a line, not a traceback
        print("normprop: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
