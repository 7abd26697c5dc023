"""The result cache: a hit when nothing changed, a miss when a parameter or the code changed, a corrupt entry
recomputed and never trusted, and a way around it (NORMPROP_NO_CACHE / --no-cache)."""

import pandas as pd
import pytest
import torch

import normprop as npp
from normprop import nets
from normprop.repro import cache, layout

SCALE = 2.0


def measure(width, depth, generator):
    return {"value": torch.randn(1, generator=generator).item() * width + depth}


def compile_function(source: str, namespace: dict | None = None):
    """A function defined from source, as a notebook cell defines it (module ``__main__``)."""
    namespace = {"__name__": "__main__", "torch": torch, **(namespace or {})}
    exec(source, namespace)
    return namespace["f"]


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    monkeypatch.delenv("NORMPROP_NO_CACHE", raising=False)
    monkeypatch.delenv("NORMPROP_SCHEDULER", raising=False)
    monkeypatch.delenv("NORMPROP_WORKERS", raising=False)
    return npp.start("01", "quick", seed=0, threads=1)


def counts(session, name):
    report = session.sweeps[name]
    return report.cached, report.computed


def test_a_rerun_with_nothing_changed_reads_every_task_back(session, tmp_path):
    first = session.grid("sweep", measure, fixed={"depth": 3}, width=[8, 16])
    assert counts(session, "sweep") == (0, 2)
    assert len(list((tmp_path / "cache" / "01_orthogonality" / "sweep").glob("*.pkl"))) == 2
    again = npp.start("01", "quick", seed=0, threads=1).grid("sweep", measure, fixed={"depth": 3}, width=[8, 16])
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    second = npp.start("01", "quick", seed=0, threads=1)
    second.grid("sweep", measure, fixed={"depth": 3}, width=[8, 16])
    assert counts(second, "sweep") == (2, 0) and second.sweeps["sweep"].where == "cache"


def test_a_changed_parameter_or_seed_recomputes_only_the_tasks_it_touches(session):
    session.grid("sweep", measure, fixed={"depth": 3}, width=[8, 16])
    session.grid("sweep", measure, fixed={"depth": 3}, width=[8, 16, 32])
    assert counts(session, "sweep") == (2, 1)
    session.grid("sweep", measure, fixed={"depth": 4}, width=[8, 16, 32])
    assert counts(session, "sweep") == (0, 3)
    other_seed = npp.start("01", "quick", seed=1, threads=1)
    other_seed.grid("sweep", measure, fixed={"depth": 3}, width=[8])
    assert counts(other_seed, "sweep") == (0, 1)


def test_a_code_change_recomputes(session, monkeypatch):
    body = "def f(width, generator):\n    return {'v': width * {factor}}\n"
    session.grid("sweep", compile_function(body.replace("{factor}", "2")), width=[1])
    session.grid("sweep", compile_function("\n\n\n" + body.replace("{factor}", "2")), width=[1])
    assert counts(session, "sweep") == (1, 0)  # moved down a cell: the same code
    table = session.grid("sweep", compile_function(body.replace("{factor}", "3")), width=[1])
    assert counts(session, "sweep") == (0, 1) and table.v.tolist() == [3]
    # an edit to the package: its code version changes, every task is recomputed
    edited = {**cache.environment(), "normprop": "edited"}
    monkeypatch.setattr(cache, "environment", lambda: edited)
    session.grid("sweep", compile_function(body.replace("{factor}", "3")), width=[1])
    assert counts(session, "sweep") == (0, 1)


def test_fingerprints_follow_code_defaults_closures_and_globals():
    source = "def f(width, generator, k=1):\n    return {'v': width * k * SCALE}\n"
    base = cache.fingerprint(compile_function(source, {"SCALE": 2.0}))
    assert cache.fingerprint(compile_function(source, {"SCALE": 2.0})) == base
    assert cache.fingerprint(compile_function(source, {"SCALE": 3.0})) != base  # a global it reads
    assert cache.fingerprint(compile_function(source.replace("k=1", "k=2"), {"SCALE": 2.0})) != base
    assert cache.fingerprint(compile_function(source, {"SCALE": 2.0, "UNUSED": 1})) == base
    closure = "def make(c):\n    def f(width, generator):\n        return {'v': width * c}\n    return f\n"
    namespace = {"__name__": "__main__"}
    exec(closure, namespace)
    assert cache.fingerprint(namespace["make"](1)) != cache.fingerprint(namespace["make"](2))
    # package functions count by name, but what they close over counts too
    assert cache.fingerprint(nets.power_law_gain(0.4)) != cache.fingerprint(nets.power_law_gain(0.5))
    assert cache.fingerprint(torch.zeros(3)) != cache.fingerprint(torch.ones(3))
    assert cache.fingerprint(nets.NetworkSpec(8, 2)) != cache.fingerprint(nets.NetworkSpec(8, 3))
    assert cache.fingerprint(float("nan")) == cache.fingerprint(float("nan")) != cache.fingerprint(float("inf"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[: len(blob) // 2],  # a partial write
        lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]),  # a flipped bit
        lambda blob: b"",
        lambda blob: blob.replace(cache.MAGIC, b"something else\n", 1),
    ],
)
def test_a_corrupt_entry_is_recomputed_never_trusted(session, tmp_path, damage):
    first = session.grid("sweep", measure, fixed={"depth": 3}, width=[8])
    (entry,) = (tmp_path / "cache" / "01_orthogonality" / "sweep").glob("*.pkl")
    entry.write_bytes(damage(entry.read_bytes()))
    again = session.grid("sweep", measure, fixed={"depth": 3}, width=[8])
    assert counts(session, "sweep") == (0, 1)
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    assert entry.read_bytes().startswith(cache.MAGIC)  # rewritten whole


def test_an_entry_under_another_key_is_not_trusted(tmp_path):
    store = cache.ResultCache(tmp_path)
    store.store("a" * 64, {"x": 1})
    assert store.load("a" * 64) == {"x": 1}
    store.path("b" * 64).write_bytes(store.path("a" * 64).read_bytes())
    assert store.load("b" * 64) is cache.MISSING and not store.path("b" * 64).exists()
    with pytest.raises(ValueError, match="sha256"):
        store.load("../../etc/passwd")


def test_no_cache_bypasses_it(session, tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_NO_CACHE", "1")
    uncached = npp.start("01", "quick", seed=0, threads=1)
    assert uncached.cache is None
    uncached.grid("sweep", measure, fixed={"depth": 3}, width=[8])
    uncached.grid("sweep", measure, fixed={"depth": 3}, width=[8])
    assert counts(uncached, "sweep") == (0, 1) and not (tmp_path / "cache").exists()
    for value, disabled in [("0", False), ("", False), ("false", False), ("yes", True)]:
        monkeypatch.setenv("NORMPROP_NO_CACHE", value)
        assert layout.cache_disabled() is disabled
