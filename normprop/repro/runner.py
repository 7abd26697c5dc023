"""Run notebooks through papermill, a few at a time, each within a time limit, and stop them cleanly.

One loop in the main thread starts each notebook as a papermill subprocess in its own session
(:mod:`normprop.repro.processes`), polls them, stops any that run past ``timeout`` seconds (wall clock, kernel
start included: papermill's own ``--execution-timeout`` only limits each cell), and, when SIGINT or SIGTERM
arrives, stops every running notebook (papermill and kernel) within seconds and reports the rest as not
started. No signal ever interrupts the loop itself: :func:`catch_stop_signals` only notes it.

papermill writes the executed notebook to a temporary name, renamed into place once papermill is done;
a notebook stopped early leaves no executed copy and no record.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol

from tqdm import tqdm

from normprop.claims import Claim
from normprop.repro.files import commit, remove_stale_temporaries, temporary_path, write_text_atomic
from normprop.repro.layout import (
    build_dir,
    cache_disabled,
    executed_notebook_path,
    figures_dir,
    inputs_path,
    log_path,
    notebooks_dir,
    record_path,
    relative_to_root,
    task_log_path,
)
from normprop.repro.processes import start_in_own_session, stop_trees
from normprop.repro.records import read_record
from normprop.repro.runtime import kernel_environment

# Per-notebook wall-clock limits, seconds (``--timeout`` overrides). The slowest notebook takes about a minute
# quick and four paper on the 2-core reference machine, so these only catch a hung kernel or cell. The full
# preset runs for hours to days on a cluster (README): its limit, a week, only stops a run that was forgotten.
TIMEOUT_SECONDS = {"quick": 300.0, "paper": 900.0, "full": 7 * 24 * 3600.0}
POLL_SECONDS = 0.1
STOP_GRACE_SECONDS = 2.0  # from SIGTERM to SIGKILL for a notebook's processes

FINISHED, INTERRUPTED, TIMED_OUT, NOT_STARTED = "finished", "interrupted", "timed out", "not started"


class Outcome(NamedTuple):
    """What became of one notebook: ``state`` is one of FINISHED, INTERRUPTED, TIMED_OUT, NOT_STARTED;
    ``verdict`` the recorded verdict or ``failed: ...`` when finished, else what happened (``-``: nothing)."""

    state: str
    verdict: str
    seconds: float
    reused: bool = False  # finished earlier and unchanged since (:func:`unchanged_outcome`): not executed now


def default_timeout(preset: str) -> float:
    """The preset's default limit: every preset has one (a test checks), so no run waits forever."""
    return TIMEOUT_SECONDS[preset]


def plan_jobs(requested: int, notebooks: int) -> tuple[int, int]:
    """``(jobs, threads per job)``: at most one job per core and per notebook, and the cores shared out."""
    cores = os.cpu_count() or 1
    jobs = max(1, min(requested, cores, notebooks))
    return jobs, max(1, cores // jobs)


class StopSignal:
    """The first stop signal received (SIGINT or SIGTERM), or None."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str | None:
        return signal.Signals(self.signum).name if self.signum else None

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + (self.signum or 0)


@contextmanager
def catch_stop_signals() -> Iterator[StopSignal]:
    """Within the block, SIGINT and SIGTERM only set the yielded flag (no KeyboardInterrupt anywhere)."""
    received = StopSignal()
    if threading.current_thread() is not threading.main_thread():  # Python allows handlers there only
        yield received
        return

    def note(signum: int, frame: object) -> None:
        received.signum = received.signum or signum

    previous = {signum: signal.signal(signum, note) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def kernel_settings(variables: Mapping[str, str]) -> Iterator[None]:
    """Within the block, the notebooks started get ``variables`` in their environment (each papermill, and so
    its kernel, inherits this process's): how ``--scheduler`` and ``--no-cache`` reach the notebooks'
    sessions (``NORMPROP_SCHEDULER``, ``NORMPROP_NO_CACHE``). The previous values come back afterwards."""
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Job(Protocol):
    """A notebook being executed."""

    claim: Claim

    def poll(self) -> Outcome | None:
        """The outcome if the notebook has ended (or has run out of time and been stopped), else None."""

    def children(self) -> list[subprocess.Popen]:
        """The subprocesses to stop if the run is interrupted."""

    def abandon(self, state: str) -> Outcome:
        """Clean up after :func:`normprop.repro.processes.stop_trees` stopped the children."""


@dataclass
class NotebookJob:
    """One notebook run by papermill in its own session, output to ``build/<preset>[-<variant>]/<notebook>.ipynb``.

    ``parameters`` go to papermill as ``-p NAME VALUE`` (the preset always does); ``variant`` names the folder of a
    run with other parameters than the defaults (:mod:`normprop.repro.parameters`), which its kernel learns from
    ``$NORMPROP_VARIANT``.
    """

    claim: Claim
    preset: str
    threads: int
    timeout: float
    parameters: Mapping[str, Any] = field(default_factory=dict)
    variant: str = ""
    output: Path = field(init=False)
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        notebook, preset, variant = self.claim.notebook, self.preset, self.variant
        build_dir(preset, variant).mkdir(parents=True, exist_ok=True)
        self.output = executed_notebook_path(notebook, preset, variant)
        self.log = log_path(notebook, preset, variant)
        self._temporary = temporary_path(self.output, ".ipynb")  # papermill wants the .ipynb extension
        # Never report a stale verdict, nor leave an executed copy that is not this run's.
        for path in (record_path, inputs_path, task_log_path):
            path(notebook, preset, variant).unlink(missing_ok=True)
        self.output.unlink(missing_ok=True)
        source = notebooks_dir() / f"{notebook}.ipynb"
        # papermill's command line, minus a 2 s import it never uses (normprop/repro/papermill_driver.py)
        command = [sys.executable, "-m", "normprop.repro.papermill_driver", str(source), str(self._temporary)]
        command += ["-p", "preset", preset]
        for name, value in self.parameters.items():
            if name != "preset":
                command += ["-p", name, str(value)]
        command += ["--cwd", str(notebooks_dir()), "-k", "python3", "--no-progress-bar"]
        command += ["--execution-timeout", str(math.ceil(self.timeout))]
        env = {**os.environ, **kernel_environment(), "NORMPROP_THREADS": str(self.threads), "NORMPROP_VARIANT": variant}
        self._log: IO = self.log.open("w")  # streamed in place, so that one can follow it
        self._start = time.monotonic()
        self._process = start_in_own_session(command, self._log, env)

    def seconds(self) -> float:
        return time.monotonic() - self._start

    def children(self) -> list[subprocess.Popen]:
        return [self._process]

    def poll(self) -> Outcome | None:
        returncode = self._process.poll()
        if returncode is None:
            if self.seconds() <= self.timeout:
                return None
            stopped = stop_trees([self._process], STOP_GRACE_SECONDS)
            for folder in {build_dir(self.preset, self.variant), figures_dir(self.preset, self.variant)}:
                remove_stale_temporaries(folder, stopped)  # what the timed-out kernel was writing
            return self.abandon(TIMED_OUT)
        self._log.close()
        seconds = self.seconds()
        if self._temporary.exists():
            commit(self._temporary, self.output)  # papermill has written it in full
        record = read_record(self.claim.notebook, self.preset, self.variant)
        if record is not None:
            if returncode == 0:  # ran through: note what it ran, so that an unchanged notebook is not re-run
                key = inputs_key(self.claim, self.preset, self.threads, self.parameters)
                noted = {"key": key, "verdict": record["verdict"]}
                write_text_atomic(inputs_path(self.claim.notebook, self.preset, self.variant), json.dumps(noted) + "\n")
            return Outcome(FINISHED, record["verdict"], seconds)
        if "CellTimeoutError" in self.log.read_text(errors="replace"):  # papermill's own per-cell limit
            return Outcome(TIMED_OUT, f"a cell ran past the {self.timeout:g} s limit (see {self._log_name()})", seconds)
        reason = "notebook raised an error" if returncode else "no results record"
        return Outcome(FINISHED, f"failed: {reason} (see {self._log_name()})", seconds)

    def abandon(self, state: str) -> Outcome:
        seconds = self.seconds()
        self._log.close()
        self._temporary.unlink(missing_ok=True)
        if state == TIMED_OUT:
            return Outcome(state, f"stopped at the {self.timeout:g} s limit (see {self._log_name()})", seconds)
        return Outcome(state, f"stopped after {seconds:.1f} s", seconds)

    def _log_name(self) -> str:
        return relative_to_root(self.log)


def inputs_key(claim: Claim, preset: str, threads: int, parameters: Mapping[str, Any] | None = None) -> str:
    """sha256 of everything a notebook's run depends on: the notebook file, normprop's code, the interpreter
    and numerical libraries (:func:`normprop.repro.cache.environment`), the preset and the torch threads."""
    from normprop.repro.cache import environment  # imports torch: only when a notebook is about to run

    source = (notebooks_dir() / f"{claim.notebook}.ipynb").read_bytes()
    inputs = {
        "notebook": hashlib.sha256(source).hexdigest(),
        "environment": environment(),
        "preset": preset,
        "threads": threads,
        "parameters": dict(parameters or {}),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def unchanged_outcome(
    claim: Claim, preset: str, threads: int, parameters: Mapping[str, Any] | None = None, variant: str = ""
) -> Outcome | None:
    """The last run's outcome if nothing it depends on has changed and everything it wrote is still there:
    its inputs key, its record, its executed notebook and every figure of the claim; else None.

    The notebook-level counterpart of the task cache (``--no-cache`` and ``NORMPROP_NO_CACHE=1`` bypass both):
    a notebook whose every task would come from the cache still spends seconds on its kernel, imports and
    plots; re-running it would rewrite the same files byte for byte.
    """
    if cache_disabled():
        return None
    try:
        noted = json.loads(inputs_path(claim.notebook, preset, variant).read_text())
    except (OSError, ValueError):
        return None
    record = read_record(claim.notebook, preset, variant)
    folder = figures_dir(preset, variant)
    figures = [folder / f"{stem}.{suffix}" for stem in claim.figures for suffix in ("png", "pdf")]
    executed = executed_notebook_path(claim.notebook, preset, variant)
    if record is None or not executed.exists() or not all(path.exists() for path in figures):
        return None
    key = inputs_key(claim, preset, threads, parameters)
    if noted.get("key") != key or noted.get("verdict") != record.get("verdict"):
        return None
    return Outcome(FINISHED, record["verdict"], 0.0, reused=True)


@dataclass
class UnchangedJob:
    """A notebook whose last run still stands (:func:`unchanged_outcome`): nothing to execute."""

    claim: Claim
    outcome: Outcome

    def poll(self) -> Outcome:
        return self.outcome

    def children(self) -> list[subprocess.Popen]:
        return []

    def abandon(self, state: str) -> Outcome:
        return self.outcome


def launch(
    claim: Claim,
    preset: str,
    threads: int,
    timeout: float,
    parameters: Mapping[str, Any] | None = None,
    variant: str = "",
) -> Job:
    """Start one notebook, or reuse its last run when nothing it depends on changed (tests replace this)."""
    outcome = unchanged_outcome(claim, preset, threads, parameters, variant)
    if outcome is not None:
        print(
            f"{claim.notebook}: unchanged since its last {preset} run (notebook, code, libraries, threads, "
            "parameters): its record, executed notebook and figures stand; --no-cache runs it again",
            file=sys.stderr,
        )
        return UnchangedJob(claim, outcome)
    return NotebookJob(claim, preset, threads, timeout, dict(parameters or {}), variant)


class Run(NamedTuple):
    """One notebook to execute: its claim, the parameters it gets and the variant folder they make."""

    claim: Claim
    parameters: Mapping[str, Any] = {}
    variant: str = ""


def execute_all(
    claims: Sequence[Claim],
    preset: str,
    jobs: int,
    timeout: float,
    stop: StopSignal,
    progress: bool = True,
    parameters: Mapping[str, Any] | None = None,
    variant: str = "",
) -> dict[str, Outcome]:
    """Run the notebooks (each with ``parameters``, into ``variant``'s folder), ``jobs`` at a time with
    ``cores // jobs`` torch threads each, until all are done or ``stop`` is set; return an outcome for every claim,
    in order."""
    runs = [Run(claim, dict(parameters or {}), variant) for claim in claims]
    outcomes = execute_runs(runs, preset, jobs, timeout, stop, progress)
    return {run.claim.notebook: outcome for run, outcome in zip(runs, outcomes, strict=True)}


def cold_seconds_path(preset: str, variant: str | None = None) -> Path:
    """``build/<preset>/cold_seconds.json``: per notebook, the runtime of its last run that computed most of its tasks
    (:func:`note_cold_seconds`)."""
    return build_dir(preset, variant) / "cold_seconds.json"


def read_cold_seconds(preset: str, variant: str | None = None) -> dict[str, float]:
    path = cold_seconds_path(preset, variant)
    return json.loads(path.read_text()) if path.exists() else {}


def note_cold_seconds(notebook: str, preset: str, variant: str | None, seconds: float) -> None:
    """Remember ``seconds`` as ``notebook``'s cold runtime if its last run computed most of its tasks (more than
    it read from the cache: a few may be shared with another preset's or seed's run).

    A run served from the cache takes seconds, so its runtime says nothing about how long the notebook computes;
    ordering by it started 04 and 05 last after a cached run (a cold ``make figures`` then took minutes longer)."""
    path = task_log_path(notebook, preset, variant)
    tasks = json.loads(path.read_text()) if path.exists() else {}
    if not tasks.get("computed", 0) > tasks.get("cached", 0):
        return
    noted = {**read_cold_seconds(preset, variant), notebook: round(seconds, 2)}
    write_text_atomic(cold_seconds_path(preset, variant), json.dumps(noted, indent=2, sort_keys=True) + "\n")


def longest_first(runs: Sequence[Run], preset: str) -> list[int]:
    """The order to start ``runs`` in: the longest first, so that two jobs finish together instead of the longest
    starting last. A run's length is its last cold runtime (:func:`note_cold_seconds`), else the runtime its last
    record noted (the default run's where a variant has neither), else the claim's ``runtime`` for the preset (a
    first run on a fresh clone); runs with none of these keep their order, first."""

    def last_seconds(run: Run) -> float:
        for variant in (run.variant, ""):
            cold = read_cold_seconds(preset, variant).get(run.claim.notebook)
            if isinstance(cold, int | float):
                return float(cold)
        for variant in (run.variant, ""):
            record = read_record(run.claim.notebook, preset, variant)
            if record and isinstance(record.get("seconds"), int | float):
                return float(record["seconds"])
        return float(run.claim.runtime.get(preset, math.inf))

    seconds = [last_seconds(run) for run in runs]
    return sorted(range(len(runs)), key=lambda index: -seconds[index])


def execute_runs(
    runs: Sequence[Run], preset: str, jobs: int, timeout: float, stop: StopSignal, progress: bool = True
) -> list[Outcome]:
    """:func:`execute_all` for any list of runs (a notebook at several seeds, say): an outcome per run, in order."""
    jobs, threads = plan_jobs(jobs, len(runs))
    pending, running, outcomes = longest_first(runs, preset), [], {}
    bar = tqdm(total=len(runs), desc=f"{preset} preset", unit="notebook", disable=not progress, file=sys.stderr)

    def done(index: int, outcome: Outcome) -> None:
        outcomes[index] = outcome
        if outcome.state == FINISHED and not outcome.reused:
            note_cold_seconds(runs[index].claim.notebook, preset, runs[index].variant, outcome.seconds)
        name = runs[index].claim.notebook + (f" ({runs[index].variant})" if runs[index].variant else "")
        bar.set_postfix_str(f"{name}: {outcome.state}")
        if outcome.state != INTERRUPTED:  # the bar counts notebooks that ran their course
            bar.update()

    folders = {folder for run in runs for folder in (build_dir(preset, run.variant), figures_dir(preset, run.variant))}
    for folder in folders:
        remove_stale_temporaries(folder)  # left by a run killed outright (SIGKILL); this run holds the lock
    try:
        while (pending or running) and not stop:
            while pending and len(running) < jobs and not stop:
                index = pending.pop(0)
                claim, parameters, variant = runs[index]
                running.append((index, launch(claim, preset, threads, timeout, parameters, variant)))
            for index, job in list(running):
                outcome = job.poll()
                if outcome is not None:
                    running.remove((index, job))
                    done(index, outcome)
            if running:
                time.sleep(POLL_SECONDS)
        for index, job in list(running):  # stopped: a notebook that has just ended by itself counts as finished
            outcome = job.poll()
            if outcome is not None:
                running.remove((index, job))
                done(index, outcome)
    finally:  # a stop signal, or an error in this loop: never leave a notebook running
        stopped = stop_trees([child for _, job in running for child in job.children()], STOP_GRACE_SECONDS)
        for index, job in running:
            done(index, job.abandon(INTERRUPTED))
        for index in pending:
            outcomes[index] = Outcome(NOT_STARTED, "-", 0.0)
        bar.close()
        for folder in folders:
            remove_stale_temporaries(folder, stopped)  # what the stopped kernels were writing
    return [outcomes[index] for index in range(len(runs))]
