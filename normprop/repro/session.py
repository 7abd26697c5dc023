"""The scaffold of every notebook: one call sets it up, one call closes it with the claim check.

A notebook reads from its ``parameters`` cell to its verdict::

    session = npp.start("01_orthogonality", preset, seed=seed, threads=threads, device=device)
    ...                                       # package calls, tables and figures
    session.finish(checks, numbers)           # records, prints the verdict table, raises if not reproduced

The notebook's name appears once, in :func:`start`; everything that depends on it (its preset sizes, where
its record and figures go) is derived from the session.

Sweeps are declared through the session, as independent tasks (:mod:`normprop.repro.sweeps`)::

    table = session.grid("fig2b", gap_chain, fixed={"depth": 500}, seeds=20, shard=10, width=[16, 32, 64])

Each task gets its own generator, seeded from the session's seed, the notebook, the sweep's name and the
task's configuration (and seed shard); results are cached under ``build/cache/``; tasks run in the kernel, or on
a Dask cluster when ``$NORMPROP_SCHEDULER`` names one (``normprop run --scheduler``). Where they ran is
written to ``build/<preset>/<notebook>.tasks.json``, which ``normprop run`` prints.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import torch

from normprop.analysis import t_interval
from normprop.claims import Claim, claim_module, find_claim, load_preset
from normprop.repro import layout
from normprop.repro import sweeps as tasks
from normprop.repro.cache import ResultCache, result_cache
from normprop.repro.files import write_text_atomic
from normprop.repro.plotting import save_figure, set_theme
from normprop.repro.records import REPRODUCED, ClaimRun
from normprop.repro.runtime import FIGURES_VARIABLE, configure
from normprop.seeding import make_generator


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
    #: torch threads of every task (:func:`normprop.repro.sweeps.task_threads`), wherever it runs.
    threads: int = 1
    #: Where sweeps' tasks run; None: chosen from the environment at the first sweep
    #: (:func:`normprop.repro.sweeps.executor_from_environment`).
    executor: tasks.Executor | None = field(default=None, repr=False)
    #: The result cache; None: no cache (``NORMPROP_NO_CACHE=1``).
    cache: ResultCache | None = field(default=None, repr=False)
    sweeps: dict[str, tasks.SweepReport] = field(default_factory=dict, repr=False)
    figure_seconds: float = field(default=0.0, repr=False)

    @property
    def notebook(self) -> str:
        return self.claim.notebook

    @property
    def band(self) -> dict[str, Any]:
        """seaborn's error band: the 95% Student t interval over seeds (:func:`normprop.analysis.t_interval`).

        The same interval the claim checks use, and deterministic; seaborn's bootstrap band took 3 s a plot.
        None when figures are off (:func:`figures_on`): nothing is drawn that anyone will see.
        """
        return {"errorbar": t_interval if figures_on() else None}

    @property
    def sweep_settings(self) -> tasks.SweepSettings:
        return tasks.SweepSettings(self.seed, self.notebook, str(self.device), self.threads)

    def grid(
        self,
        name: str,
        function: Callable[..., pd.DataFrame | Mapping[str, Any]],
        /,
        fixed: Mapping[str, Any] | None = None,
        seeds: int | None = None,
        shard: int | None = None,
        shared: tasks.SharedDraws | None = None,
        **axes: Sequence[Any],
    ) -> pd.DataFrame:
        """The sweep ``name``: ``function(**configuration, **fixed, generator=...)`` for every combination of
        the ``axes`` values (``itertools.product`` order), each an independent task, in one table with the
        configuration's values as columns.

        With ``seeds`` the function also gets ``seeds=`` (how many seeds to batch) and must return a ``seed``
        column; ``shard`` splits the seeds into tasks of at most that many (for a cluster), each with its own
        generator. ``name`` must differ between the sweeps of a notebook: it enters every task's seed.
        """
        return self.cases(name, function, tasks.grid_configurations(**axes), fixed, seeds, shard, shared)

    def cases(
        self,
        name: str,
        function: Callable[..., pd.DataFrame | Mapping[str, Any]],
        configurations: Iterable[Mapping[str, Any]],
        /,
        fixed: Mapping[str, Any] | None = None,
        seeds: int | None = None,
        shard: int | None = None,
        shared: tasks.SharedDraws | None = None,
    ) -> pd.DataFrame:
        """Like :meth:`grid`, for a list of configurations that is not a product (paired settings, say).

        ``shared`` (:class:`normprop.repro.sweeps.SharedDraws`) makes configurations that agree on some keys draw
        the same random numbers (paired comparisons); by default every task draws its own."""
        if self.executor is None:
            self.executor = tasks.executor_from_environment()
        table, report = tasks.run_sweep(
            name, function, configurations, self.sweep_settings, fixed, seeds, shard, self.executor, self.cache, shared
        )
        self.sweeps[name] = report
        self._write_task_log()
        return table

    @property
    def task_log_path(self) -> Path:
        return layout.task_log_path(self.notebook, self.preset)

    def _write_task_log(self) -> None:
        """Where this notebook's tasks ran and how many came from the cache (``normprop run`` prints it)."""
        sweeps = {name: report.as_dict() for name, report in self.sweeps.items()}
        totals = {key: sum(sweep[key] for sweep in sweeps.values()) for key in ("tasks", "cached", "computed")}
        where = sorted({sweep["where"] for sweep in sweeps.values() if sweep["computed"]})
        log = {"notebook": self.notebook, "preset": self.preset, **totals, "where": where, "sweeps": sweeps}
        log["figure_seconds"] = round(self.figure_seconds, 3)
        self.task_log_path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.task_log_path, json.dumps(log, indent=2, sort_keys=True) + "\n")

    def close(self) -> None:
        """Let go of the executor (a Dask client, or a LocalCluster this session started)."""
        if self.executor is not None:
            self.executor.close()
            self.executor = None

    @property
    def claim_module(self) -> ModuleType:
        """The claim's module (``normprop/claims/<NN>_<name>.py``): its task functions and checks."""
        return claim_module(self.notebook)

    @contextmanager
    def figure(
        self, stem: str, ncols: int = 1, figsize: tuple[float, float] = (5.5, 3.6), nrows: int = 1, **subplots: Any
    ):
        """``with session.figure("01_fig1_cosine") as ax:`` draw on ``ax`` (an array of axes when ``ncols > 1`` or
        ``nrows > 1``); on leaving, the figure is saved (:meth:`save_figure`: PNG and PDF, deterministic) and shown."""
        started = time.perf_counter()
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, **subplots)
        yield axes
        if figures_on():
            self.save_figure(fig, stem)
            plt.show()
        else:  # the ledger wants the checks only: drawn cheaply (no bands), neither saved nor shown
            plt.close(fig)
        self.figure_seconds += time.perf_counter() - started  # drawing included (benchmarks/profile_notebooks.py)

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
        self.close()
        self._write_task_log()  # with the figures' time
        verdict = self._run.record(checks, numbers, supporting or {})
        for name, ok in checks.items():
            print(f"{'ok  ' if ok else 'FAIL'}  {name}")
        for name, ok in (supporting or {}).items():
            print(f"{'yes ' if ok else 'no  '}  {name}  (supporting, not part of the verdict)")
        print(f"verdict: {verdict}")
        if verdict != REPRODUCED:
            failed = [name for name, ok in checks.items() if not ok]
            raise ClaimNotReproduced(f"claim {self.notebook} not reproduced; failed checks: {failed}")


def figures_on() -> bool:
    """Whether figures are saved and shown: unless ``$NORMPROP_FIGURES`` is ``off`` (or 0, false, no)."""
    return os.environ.get(FIGURES_VARIABLE, "").strip().lower() not in ("off", "0", "false", "no")


def start(
    notebook: str,
    preset: str = "quick",
    seed: int = 0,
    threads: int | None = None,
    device: str | None = "cpu",
    **overrides: Any,
) -> Session:
    """Set a notebook up: its preset sizes (``overrides`` change single sizes), torch threads and device,
    the plot theme, one explicit generator seeded with ``seed``, the results record, and the result cache
    (none when ``$NORMPROP_NO_CACHE`` is set)."""
    claim = find_claim(notebook)
    sizes = load_preset(claim.notebook, preset, **overrides)
    resolved = configure(threads=threads, device=device)
    run = ClaimRun(claim.notebook, preset, started=time.perf_counter(), seed=seed)
    set_theme()
    generator = make_generator(seed, resolved)
    session = Session(claim, preset, seed, sizes, generator, resolved, run, tasks.task_threads())
    session.cache = result_cache()
    session.task_log_path.unlink(missing_ok=True)  # never a previous run's
    return session
