"""Figures, results records, presets, paths and runtime settings."""

import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from normprop import claims as presets
from normprop.repro import layout as paths
from normprop.repro import plotting, runtime
from normprop.repro import records as results


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    return tmp_path


def draw():
    plotting.set_theme()
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 0, 2], label="a line")
    ax.set(title="title", xlabel="x")
    ax.legend()
    return fig


def test_save_figure_is_byte_identical_and_free_of_versions_and_dates(build):
    first = [p.read_bytes() for p in plotting.save_figure(draw(), "demo", "quick")]
    second = [p.read_bytes() for p in plotting.save_figure(draw(), "demo", "quick")]
    assert first == second
    png, pdf = first
    assert b"matplotlib" not in png.lower() and b"CreationDate" not in pdf and b"Producer" not in pdf
    plt.close("all")


def test_figures_never_touch_the_committed_folder_outside_paper(build):
    assert paths.figures_dir("quick") == build / "quick" / "figures"
    assert paths.figures_dir("paper") == build / "paper" / "figures"  # a test run never writes figures/


def test_repo_root_is_found_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = paths.repo_root()
    assert (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir()
    assert paths.relative_to_root(root / "figures" / "x.png") == "figures/x.png"


def test_results_record(build):
    run = results.ClaimRun("01", "quick")
    verdict = run.record({"a": True, "b": True}, {"slope": -0.5, "ranks": {32: 9.5}, "bad": math.inf})
    assert verdict == results.REPRODUCED
    record = json.loads((build / "quick" / "01_orthogonality.json").read_text())
    assert record["verdict"] == "reproduced" and record["preset"] == "quick"
    assert record["numbers"] == {"slope": -0.5, "ranks": {"32": 9.5}, "bad": "inf"}
    assert record["seconds"] >= 0 and record["claim"]
    assert run.record({"a": True, "b": False}, {}) == results.NOT_REPRODUCED


def test_results_record_refuses_empty_checks_and_bad_preset(build):
    with pytest.raises(ValueError, match="checks"):
        results.ClaimRun("01", "quick").record({}, {})
    with pytest.raises(ValueError, match="preset"):
        results.ClaimRun("01", "fast")


def test_presets():
    quick = presets.load_preset("01_orthogonality", "quick")
    paper = presets.load_preset("1", "paper")
    assert quick["seeds"] <= paper["seeds"] and max(paper["fig2b_widths"]) == 512
    assert presets.load_preset("01", "quick", seeds=3)["seeds"] == 3
    with pytest.raises(ValueError, match="unknown keys"):
        presets.load_preset("01", "quick", seedz=3)
    with pytest.raises(ValueError, match="preset"):
        presets.load_preset("01", "medium")
    with pytest.raises(ValueError, match="notebook"):
        presets.load_preset("99_nothing", "quick")


def test_runtime_configure():
    assert runtime.configure(threads=1).type == "cpu"
    with pytest.raises(ValueError, match="threads"):
        runtime.configure(threads=0)
    with pytest.raises(ValueError, match="device"):
        runtime.configure(device="tpu-please")


def test_every_preset_of_a_notebook_has_the_same_sizes_and_full_is_the_papers_scale():
    from normprop.claims import all_claims

    for claim in all_claims():
        sizes = {name: presets.load_preset(claim.notebook, name) for name in presets.PRESET_NAMES}
        assert set(sizes["quick"]) == set(sizes["paper"]) == set(sizes["full"]), claim.notebook
        assert sizes["full"]["seeds"] >= 3 and sizes["quick"]["seeds"] <= sizes["paper"]["seeds"]
        for key, value in sizes["full"].items():
            if isinstance(value, int) and not isinstance(value, bool):
                assert value > 0, (claim.notebook, key)
            if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
                assert min(value) > 0 and value == sorted(value), (claim.notebook, key)
    # The papers' own sizes where the presets scale them down.
    assert presets.load_preset("05", "full")["dataset"] == "cifar10"
    assert presets.load_preset("05", "full")["width"] == 800
    assert presets.load_preset("05", "full")["depths"] == [15, 30, 45, 60, 75]
    assert presets.load_preset("04", "full")["grad_width"] == 100
    assert max(presets.load_preset("04", "full")["grad_depths"]) == 1000
    assert presets.load_preset("03", "full")["width"] == 1000 and presets.load_preset("03", "full")["batch_size"] == 10
    assert {presets.load_preset(n, "paper")["dataset"] for n in ["05"]} == {"digits"}


def test_every_preset_has_a_default_notebook_timeout():
    from normprop.repro.runner import default_timeout

    for name in presets.PRESET_NAMES:
        assert 0 < default_timeout(name) < float("inf")


@pytest.mark.parametrize("setting", ["off", "0"])
def test_figures_off_draws_but_neither_saves_nor_bands(build, monkeypatch, setting):
    """The ledger runs its kernels with ``NORMPROP_FIGURES=off``: the checks are wanted, not the pictures."""
    import normprop as npp

    session = npp.start("01_orthogonality", "quick", seed=0, threads=1)
    stem = next(iter(session.claim.figures))
    monkeypatch.setenv(runtime.FIGURES_VARIABLE, setting)
    assert session.band == {"errorbar": None}
    with session.figure(stem) as ax:
        ax.plot([0, 1], [1, 0])
    assert not list(build.rglob("*.png")) and not plt.get_fignums()
    monkeypatch.setenv(runtime.FIGURES_VARIABLE, "on")
    assert session.band["errorbar"] is not None
    with session.figure(stem) as ax:
        ax.plot([0, 1], [1, 0])
    assert [path.name for path in build.rglob("*.png")] == [f"{stem}.png"]
    session.close()
    plt.close("all")
