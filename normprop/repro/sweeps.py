"""Sweeps as independent tasks: each configuration (x seed shard) draws from its own generator, so its numbers
do not depend on what ran before it, nor on where it runs -- in this process or on a Dask cluster.

A notebook declares a sweep through its session (:meth:`normprop.repro.session.Session.grid` / ``cases``)::

    def gap_chain(width, depth, seeds, generator):          # a task: keyword arguments in, a table out
        x = data.near_collinear_batch(seeds, n, width, generator)
        return nets.measure_chain(x, nets.NetworkSpec(width, depth), {"gap": metrics.orthogonality_gap}, generator)

    table = session.grid("fig2b", gap_chain, fixed={"depth": 500}, seeds=20, shard=10, width=[16, 32, 64])

Each task calls ``function(**configuration, **fixed, seeds=<its shard's seed count>, generator=<its own>)``
(``seeds`` only when the sweep is sharded over seeds). The generator is seeded by :func:`task_seed`: a sha256 of
the canonical JSON of (session seed, notebook, sweep name, configuration, shard's seed range) -- never
Python's salted ``hash()``, never anything about the worker -- and created on the session's device.
A sharded task's ``seed`` column is shifted to the shard's range, so the table is one table over all seeds.

Where tasks run (:func:`executor_from_environment`): in this process by default, one task after another, each
batched over its seeds; on a Dask distributed cluster when ``NORMPROP_SCHEDULER`` holds a scheduler address
(``normprop run --scheduler tcp://...`` sets it for the notebooks it runs), through Dask's own ``Client``,
``client.map`` and ``as_completed`` (functions defined in a notebook travel by cloudpickle); a ``LocalCluster``
of ``NORMPROP_WORKERS`` worker processes as the simple case. Every task sets torch's thread count and default
dtype to the session's, so the numbers are the same wherever it runs (``tests/test_tasks.py`` checks it on a
real two-worker cluster). A worker must run the same normprop code and numerical libraries as the notebook:
a task checks :func:`normprop.repro.cache.environment` and refuses to run otherwise.

Results are cached (:mod:`normprop.repro.cache`): a task whose function, parameters, seed and code version are
unchanged is read back instead of run. Tables come back in configuration order, then shard order.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd
import torch

from normprop.repro import cache as cache_module
from normprop.repro.cluster import local_cluster
from normprop.seeding import make_generator, seed_from_text

#: Keyword arguments the task machinery passes itself: a configuration or ``fixed`` must not hold them.
RESERVED = ("generator", "seeds")


def configurations(**axes: Sequence[Any]) -> Iterator[dict[str, Any]]:
    """Every combination of the axes' values, as keyword dictionaries (``itertools.product`` order)."""
    for name, values in axes.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence | range) or len(values) == 0:
            raise ValueError(f"axis {name} must be a non-empty list of values, got {values!r}")
    names = list(axes)
    for values in itertools.product(*axes.values()):
        yield dict(zip(names, values, strict=True))


def label_table(result: pd.DataFrame | Mapping[str, Any], configuration: Mapping[str, Any]) -> pd.DataFrame:
    """A copy of ``result`` (a table, or a mapping as one row) with the configuration's values as columns; a
    column the result already has is left as it is; a callable is recorded by its name."""
    table = result.copy() if isinstance(result, pd.DataFrame) else pd.DataFrame([dict(result)])
    for name, value in configuration.items():
        if name not in table:
            table[name] = getattr(value, "__name__", repr(value)) if callable(value) else value
    return table


def task_seed(
    seed: int, notebook: str, name: str, configuration: Mapping[str, Any], shard: Sequence[int] | None = None
) -> int:
    """A 63-bit seed from sha256 over the canonical JSON of the inputs (:func:`normprop.repro.cache.canonical_json`):
    the same on every machine and in every process, independent of the order tasks run in."""
    shard = None if shard is None else list(shard)
    return seed_from_text(cache_module.canonical_json([seed, notebook, name, dict(configuration), shard]))


@dataclass(frozen=True)
class SharedDraws:
    """Tasks that draw the same random numbers: those whose configurations agree on ``keys``.

    A task's generator is then seeded from ``name`` and those keys' values (and its seed shard, when the seeds are
    split into several), not from its whole configuration: e.g. ``SharedDraws("main: shared draws", ("depth",))``
    gives the Xavier, He and orthogonal runs of one depth the same data order and readout, so that they differ
    only in what the comparison is about.
    """

    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Task:
    """One call of a sweep's function: everything a worker needs, and nothing about the notebook's state."""

    function: Callable[..., Any]
    parameters: Mapping[str, Any]  # configuration, fixed values and (sharded) ``seeds``
    seed: int
    first_seed: int  # added to the result's ``seed`` column (a shard's offset)
    device: str
    dtype: torch.dtype
    threads: int
    environment: Mapping[str, str]
    label: str = ""

    @property
    def settings(self) -> dict[str, Any]:
        return {"device": self.device, "dtype": str(self.dtype), "threads": self.threads, "first_seed": self.first_seed}


def as_table(result: pd.DataFrame | Mapping[str, Any]) -> pd.DataFrame:
    """A task's result as a table: a DataFrame as it is, a mapping as one row."""
    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, Mapping):
        return pd.DataFrame([dict(result)])
    raise TypeError(f"a task must return a DataFrame or a mapping, got {type(result).__name__}")


def run_task(task: Task) -> pd.DataFrame:
    """Run one task here (in this process or on a worker): same threads, dtype and device as the session."""
    here = cache_module.environment()
    if dict(task.environment) != here:
        differing = sorted(key for key in here if here.get(key) != task.environment.get(key))
        raise RuntimeError(
            f"task {task.label}: this worker differs from the notebook in {differing} "
            f"(worker {[here[k] for k in differing]}, notebook {[task.environment.get(k) for k in differing]}); "
            "install the same normprop checkout and pinned requirements on every worker"
        )
    if torch.get_num_threads() != task.threads:
        torch.set_num_threads(task.threads)
    if torch.get_default_dtype() != task.dtype:
        torch.set_default_dtype(task.dtype)
    generator = make_generator(task.seed, task.device)
    table = as_table(task.function(**task.parameters, generator=generator))
    if task.first_seed:
        if "seed" not in table:
            raise ValueError(f"task {task.label}: a sweep sharded over seeds must return a table with a 'seed' column")
        table = table.assign(seed=table["seed"] + task.first_seed)
    return table


class Executor(Protocol):
    """Runs tasks somewhere and yields ``(index, result)`` as each finishes."""

    description: str

    def run(self, tasks: Sequence[Task]) -> Iterator[tuple[int, pd.DataFrame]]: ...

    def close(self) -> None: ...


class InProcessExecutor:
    """The default: tasks one after another in this process, each batched over its seeds."""

    description = "in-process"

    def run(self, tasks: Sequence[Task]) -> Iterator[tuple[int, pd.DataFrame]]:
        for index, task in enumerate(tasks):
            yield index, run_task(task)

    def close(self) -> None:
        pass


class DaskExecutor:
    """Tasks on a Dask distributed cluster, through its ``Client``: ``client.map`` then ``as_completed``."""

    def __init__(self, client: Any, cluster: Any = None) -> None:
        self.client, self._cluster = client, cluster  # a cluster this executor started, closed with it

    @classmethod
    def connect(cls, address: str, timeout: float = 30.0) -> DaskExecutor:
        """A client of the scheduler at ``address`` (``tcp://host:port``)."""
        from distributed import Client

        return cls(Client(address, timeout=f"{timeout}s", set_as_default=False))

    @classmethod
    def local(cls, workers: int) -> DaskExecutor:
        """A ``LocalCluster`` of ``workers`` processes with one thread each, on 127.0.0.1 (its HTTP endpoints on a
        free port)."""
        from distributed import Client

        cluster = local_cluster(workers)
        return cls(Client(cluster, set_as_default=False), cluster)

    @property
    def description(self) -> str:
        workers = len(self.client.scheduler_info().get("workers", {}))
        return f"Dask scheduler {self.client.scheduler.address} ({workers} workers)"

    def run(self, tasks: Sequence[Task]) -> Iterator[tuple[int, pd.DataFrame]]:
        from distributed import as_completed

        if not tasks:
            return
        token = uuid.uuid4().hex[:8]  # readable, unique keys on the dashboard
        keys = [f"{task.label}-{token}" for task in tasks]
        futures = self.client.map(run_task, list(tasks), key=keys, pure=False)
        index = {future.key: position for position, future in enumerate(futures)}
        try:
            for future, result in as_completed(futures, loop=self.client.loop, with_results=True):
                yield index[future.key], result
        finally:
            self.client.cancel(futures)  # an error or a stop: leave nothing running on the cluster

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def task_threads() -> int:
    """torch threads for each task: ``$NORMPROP_TASK_THREADS`` if set, else this process's (the session's).

    ``normprop run --scheduler/--workers`` sets it to 1 for the notebooks it runs: a worker process of a cluster
    runs one task per thread it has, and must not take the thread count of the machine the notebook runs on.
    """
    value = os.environ.get("NORMPROP_TASK_THREADS", "").strip()
    if not value:
        return torch.get_num_threads()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"NORMPROP_TASK_THREADS must be a positive integer, got {value!r}")
    return int(value)


def executor_from_environment() -> Executor:
    """``$NORMPROP_SCHEDULER`` (an address) -> that cluster; ``$NORMPROP_WORKERS`` (a count) -> a LocalCluster
    of that many processes; neither -> in this process."""
    address = os.environ.get("NORMPROP_SCHEDULER", "").strip()
    if address:
        return DaskExecutor.connect(address)
    workers = os.environ.get("NORMPROP_WORKERS", "").strip()
    if workers:
        if not workers.isdigit() or int(workers) < 1:
            raise ValueError(f"NORMPROP_WORKERS must be a positive integer, got {workers!r}")
        return DaskExecutor.local(int(workers))
    return InProcessExecutor()


@dataclass
class SweepReport:
    """What one sweep did: how many tasks, how many read from the cache, where the others ran."""

    name: str
    tasks: int
    cached: int
    computed: int
    where: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in ("tasks", "cached", "computed", "where", "seconds")}


@dataclass
class SweepSettings:
    """What a session fixes for its sweeps (:class:`normprop.repro.session.Session` holds one)."""

    seed: int
    notebook: str
    device: str = "cpu"
    threads: int = 1
    dtype: torch.dtype = field(default_factory=torch.get_default_dtype)


def _shards(seeds: int | None, shard: int | None) -> list[tuple[int, int] | None]:
    if seeds is None:
        if shard is not None:
            raise ValueError("shard needs seeds: the number of seeds to split into shards")
        return [None]
    for value, what in ((seeds, "seeds"), (shard, "shard")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{what} must be a positive integer, got {value!r}")
    size = shard or seeds
    return [(start, min(start + size, seeds)) for start in range(0, seeds, size)]


def _seed(
    settings: SweepSettings,
    name: str,
    configuration: Mapping[str, Any],
    shard_range: tuple[int, int] | None,
    shards: int,
    shared: SharedDraws | None,
) -> int:
    if shared is None:
        return task_seed(settings.seed, settings.notebook, name, configuration, shard_range)
    missing = sorted(set(shared.keys) - set(configuration))
    if missing:
        raise ValueError(f"shared draws over {missing}: every configuration must hold these keys")
    keys = {key: configuration[key] for key in shared.keys}
    return task_seed(settings.seed, settings.notebook, shared.name, keys, shard_range if shards > 1 else None)


def plan(
    name: str,
    function: Callable[..., Any],
    configurations: Iterable[Mapping[str, Any]],
    settings: SweepSettings,
    fixed: Mapping[str, Any] | None = None,
    seeds: int | None = None,
    shard: int | None = None,
    shared: SharedDraws | None = None,
) -> tuple[list[dict[str, Any]], list[Task]]:
    """The configurations and the tasks of a sweep: one per configuration and seed shard, in that order."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string naming the sweep, got {name!r}")
    if not callable(function):
        raise ValueError(f"function must be callable, got {function!r}")
    configurations = [dict(configuration) for configuration in configurations]
    if not configurations:
        raise ValueError("configurations must hold at least one configuration")
    fixed = dict(fixed or {})
    shards = _shards(seeds, shard)
    for configuration in configurations:
        clash = sorted((set(configuration) & set(fixed)) | ((set(configuration) | set(fixed)) & set(RESERVED)))
        if clash:
            raise ValueError(f"configuration {configuration} and fixed must not share or use reserved names: {clash}")
    environment = cache_module.environment()
    tasks = []
    for number, configuration in enumerate(configurations):
        for shard_range in shards:
            parameters = {**configuration, **fixed}
            if shard_range is not None:
                parameters["seeds"] = shard_range[1] - shard_range[0]
            label = f"{name}-{number}" + ("" if shard_range is None else f"-seeds{shard_range[0]}:{shard_range[1]}")
            tasks.append(
                Task(
                    function=function,
                    parameters=parameters,
                    seed=_seed(settings, name, configuration, shard_range, len(shards), shared),
                    first_seed=0 if shard_range is None else shard_range[0],
                    device=settings.device,
                    dtype=settings.dtype,
                    threads=settings.threads,
                    environment=environment,
                    label=label,
                )
            )
    return configurations, tasks


def run_sweep(
    name: str,
    function: Callable[..., Any],
    configurations: Iterable[Mapping[str, Any]],
    settings: SweepSettings,
    fixed: Mapping[str, Any] | None = None,
    seeds: int | None = None,
    shard: int | None = None,
    executor: Executor | None = None,
    cache: cache_module.ResultCache | None = None,
    shared: SharedDraws | None = None,
) -> tuple[pd.DataFrame, SweepReport]:
    """Run a sweep's tasks (cached ones read back, the rest on ``executor``) and return one table, in
    configuration order with the configuration's values as columns , and a
    :class:`SweepReport`."""
    started = time.perf_counter()
    executor = executor or InProcessExecutor()
    configurations, tasks = plan(name, function, configurations, settings, fixed, seeds, shard, shared)
    results: list[pd.DataFrame | None] = [None] * len(tasks)
    keys: list[str] = []
    group = os.path.join(settings.notebook, name)
    try:  # once per sweep: every task shares it
        function_fingerprint = cache_module.fingerprint(function)
    except cache_module.SharedGenerator:  # with or without the cache: such a task is not independent
        raise
    except cache_module.Unhashable:
        if cache is not None:
            raise
    if cache is not None:
        keys = [cache_module.task_key(function_fingerprint, t.parameters, t.seed, t.settings) for t in tasks]
        for position, key in enumerate(keys):
            stored = cache.load(key, group)
            if stored is not cache_module.MISSING:
                results[position] = stored
    missing = [position for position, result in enumerate(results) if result is None]
    cached = len(tasks) - len(missing)
    for position, result in executor.run([tasks[position] for position in missing]):
        results[missing[position]] = result
        if cache is not None:
            cache.store(keys[missing[position]], result, group)  # as each finishes: a stopped run keeps them
    per_configuration = len(tasks) // len(configurations)
    tables = [
        label_table(result, configurations[position // per_configuration]) for position, result in enumerate(results)
    ]
    table = pd.concat(tables, ignore_index=True)
    where = executor.description if missing else "cache"
    report = SweepReport(name, len(tasks), cached, len(missing), where, round(time.perf_counter() - started, 3))
    return table, report


def grid_configurations(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """Every combination of the axes' values (:func:`configurations`), as a list."""
    return list(configurations(**axes))
