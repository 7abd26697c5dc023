"""Sweeps as tasks: each configuration (x seed shard) has its own generator, and the numbers are the same in
this process and on a real two-worker Dask cluster."""

import hashlib
import sys

import cloudpickle
import pandas as pd
import pytest
import torch

import normprop as npp
from normprop import data, metrics, nets
from normprop.repro import layout
from normprop.repro import sweeps as tasks
from normprop.repro.cache import environment

BATCH = 4


def gap_chain(width, depth, seeds, generator):
    """A notebook-style task: a BN chain's orthogonality gap per seed and layer, all seeds batched."""
    x = data.near_collinear_batch(seeds, BATCH, width, generator)
    return nets.measure_chain(x, nets.NetworkSpec(width, depth), {"gap": metrics.orthogonality_gap}, generator)


def draws(width, generator):
    return {"first": torch.randn(1, generator=generator).item(), "sum": float(width)}


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    monkeypatch.delenv("NORMPROP_SCHEDULER", raising=False)
    monkeypatch.delenv("NORMPROP_WORKERS", raising=False)
    monkeypatch.delenv("NORMPROP_TASK_THREADS", raising=False)
    session = npp.start("01", "quick", seed=5, threads=1)
    session.cache = None
    yield session
    session.close()


def test_task_seed_is_a_stable_hash_of_its_inputs_and_nothing_else():
    seed = tasks.task_seed(0, "01_orthogonality", "fig2b", {"width": 32}, (0, 10))
    assert seed == tasks.task_seed(0, "01_orthogonality", "fig2b", {"width": 32}, [0, 10])
    assert 0 <= seed < 2**63
    # sha256 of canonical JSON, the same in every process and on every machine (Python's hash() is salted)
    canonical = '["list",[0,"01_orthogonality","fig2b",["mapping",[["width",32]]],["list",[0,10]]]]'
    assert seed == int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "big") >> 1 == 3824700146215742068
    others = [
        tasks.task_seed(1, "01_orthogonality", "fig2b", {"width": 32}, (0, 10)),
        tasks.task_seed(0, "02_entropy", "fig2b", {"width": 32}, (0, 10)),
        tasks.task_seed(0, "01_orthogonality", "fig2a", {"width": 32}, (0, 10)),
        tasks.task_seed(0, "01_orthogonality", "fig2b", {"width": 32.0}, (0, 10)),
        tasks.task_seed(0, "01_orthogonality", "fig2b", {"width": 32}, (10, 20)),
        tasks.task_seed(0, "01_orthogonality", "fig2b", {"width": 32}),
    ]
    assert len({seed, *others}) == 1 + len(others)


def test_each_task_draws_from_its_own_generator_whatever_runs_before_it(session):
    both = session.grid("draws", draws, width=[8, 16])
    alone = session.grid("draws", draws, width=[16])
    assert both.width.tolist() == [8, 16] and both["sum"].tolist() == [8.0, 16.0]  # configuration order
    assert both.first.iloc[1] == alone.first.iloc[0]
    own = npp.make_generator(tasks.task_seed(5, session.notebook, "draws", {"width": 16}))
    expected = torch.randn(1, generator=own)
    assert alone.first.iloc[0] == expected.item()
    assert session.grid("other name", draws, width=[16]).first.iloc[0] != alone.first.iloc[0]


def test_seed_shards_make_one_table_over_all_seeds(session):
    table = session.grid("gaps", gap_chain, fixed={"depth": 3}, seeds=5, shard=2, width=[8, 16])
    assert sorted(table.seed.unique()) == [0, 1, 2, 3, 4] and len(table) == 2 * 5 * 4
    assert table.groupby("width").seed.nunique().tolist() == [5, 5]
    assert session.sweeps["gaps"].tasks == 6  # 2 widths x shards [0, 2), [2, 4), [4, 5)
    unsharded = session.grid("gaps", gap_chain, fixed={"depth": 3}, seeds=5, width=[8, 16])
    one_shard = session.grid("gaps", gap_chain, fixed={"depth": 3}, seeds=5, shard=5, width=[8, 16])
    pd.testing.assert_frame_equal(unsharded, one_shard)


def test_tasks_run_with_the_sessions_threads_and_dtype(session):
    torch.set_num_threads(2)
    try:
        table = session.grid("settings", lambda k, generator: {"threads": torch.get_num_threads()}, k=[1])
    finally:
        torch.set_num_threads(1)
    assert table.threads.tolist() == [1]
    devices = session.cases("device", lambda generator: {"device": str(generator.device)}, [{}])
    assert devices.device.tolist() == [str(session.device)] == ["cpu"]  # the generator is made on the device
    assert session.cases("dtype", lambda generator: {"dtype": str(torch.get_default_dtype())}, [{}]).dtype[0] == (
        "torch.float32"
    )


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda s: s.grid("", draws, width=[1]), "name"),
        (lambda s: s.grid("x", draws, fixed={"width": 1}, width=[1]), "must not share"),
        (lambda s: s.grid("x", draws, generator=[1]), "reserved"),
        (lambda s: s.grid("x", gap_chain, shard=2, width=[1]), "shard needs seeds"),
        (lambda s: s.grid("x", gap_chain, seeds=0, width=[1]), "seeds must be a positive"),
        (lambda s: s.cases("x", draws, []), "at least one"),
    ],
)
def test_bad_sweeps_are_clear_errors(session, call, match):
    with pytest.raises(ValueError, match=match):
        call(session)


def test_a_task_that_reads_a_shared_generator_is_refused(session):
    shared = npp.make_generator(0)
    with pytest.raises(TypeError, match="draw from the generator the task is given"):
        session.grid("x", lambda width, generator: {"v": torch.rand(1, generator=shared).item()}, width=[1])


def test_a_worker_with_other_code_refuses_the_task():
    task = tasks.plan("x", draws, [{"width": 1}], tasks.SweepSettings(0, "01_orthogonality"))[1][0]
    stale = tasks.Task(**{**task.__dict__, "environment": {**environment(), "normprop": "0" * 64}})
    with pytest.raises(RuntimeError, match="install the same normprop checkout"):
        tasks.run_task(stale)


def test_the_executor_follows_the_environment(monkeypatch):
    monkeypatch.delenv("NORMPROP_SCHEDULER", raising=False)
    monkeypatch.setenv("NORMPROP_WORKERS", "none")
    with pytest.raises(ValueError, match="NORMPROP_WORKERS"):
        tasks.executor_from_environment()
    monkeypatch.delenv("NORMPROP_WORKERS")
    assert isinstance(tasks.executor_from_environment(), tasks.InProcessExecutor)
    monkeypatch.setenv("NORMPROP_TASK_THREADS", "3")
    assert tasks.task_threads() == 3
    monkeypatch.setenv("NORMPROP_TASK_THREADS", "0")
    with pytest.raises(ValueError, match="NORMPROP_TASK_THREADS"):
        tasks.task_threads()


@pytest.mark.processes
def test_a_dask_cluster_gives_the_same_numbers_as_this_process(session, monkeypatch):
    """A scheduler and two worker processes on 127.0.0.1 (about 5-10 s on 2 cores, most of it the workers
    importing torch); the tasks' functions travel by cloudpickle, as a notebook's do."""
    from distributed import LocalCluster

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # as if defined in a notebook cell
    in_process = session.grid("gaps", gap_chain, fixed={"depth": 20}, seeds=6, shard=3, width=[8, 16, 32])
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True, dashboard_address=":0"
    )  # fmt: skip
    try:
        monkeypatch.setenv("NORMPROP_SCHEDULER", cluster.scheduler_address)
        session.executor = tasks.executor_from_environment()
        assert isinstance(session.executor, tasks.DaskExecutor)
        on_cluster = session.grid("gaps", gap_chain, fixed={"depth": 20}, seeds=6, shard=3, width=[8, 16, 32])
        where = session.sweeps["gaps"].where
        session.close()
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        cluster.close()
    assert where == f"Dask scheduler {cluster.scheduler_address} (2 workers)"
    pd.testing.assert_frame_equal(on_cluster, in_process, check_exact=True)
    assert layout.read_task_log(session.notebook, "quick")["where"] == [where]
