"""The notebook scaffold: one setup call, one closing call that records, prints and raises."""

import json

import pytest
import torch

import normprop as npp


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    return tmp_path


def test_start_derives_sizes_generator_and_record_from_one_name(build):
    session = npp.start("01", "quick", seed=3, threads=1)
    assert session.notebook == "01_orthogonality"
    assert session.sizes["seeds"] == npp.load_preset("01_orthogonality", "quick")["seeds"]
    assert torch.equal(torch.randn(3, generator=session.generator), torch.randn(3, generator=npp.make_generator(3)))
    assert session.band == {"errorbar": npp.analysis.t_interval}
    assert npp.start("01", "quick", seeds=2).sizes["seeds"] == 2


def test_finish_records_and_prints_the_verdict(build, capsys):
    session = npp.start("02_entropy", "quick")
    session.finish({"holds": True}, {"slope": -0.5}, supporting={"extra": False})
    out = capsys.readouterr().out
    assert "ok    holds" in out and "supporting, not part of the verdict" in out and "verdict: reproduced" in out
    record = json.loads((build / "quick" / "02_entropy.json").read_text())
    assert record["checks"] == {"holds": True} and record["supporting"] == {"extra": False}
    assert record["numbers"] == {"slope": -0.5} and record["seconds"] >= 0


def test_finish_raises_when_a_check_fails_after_recording_it(build, capsys):
    session = npp.start("03", "quick")
    with pytest.raises(npp.ClaimNotReproduced, match="failed checks: \\['breaks'\\]"):
        session.finish({"holds": True, "breaks": False}, {})
    assert "FAIL  breaks" in capsys.readouterr().out
    assert json.loads((build / "quick" / "03_isometry.json").read_text())["verdict"] == "not reproduced"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"notebook": "99"}, "notebook must be one of"),
        ({"notebook": "01", "preset": "huge"}, "preset must be one of"),
        ({"notebook": "01", "nonsense": 1}, "unknown keys"),
        ({"notebook": "01", "threads": 0}, "threads"),
        ({"notebook": "01", "seed": -1}, "seed"),
    ],
)
def test_bad_setup_arguments_are_one_line_value_errors(build, kwargs, match):
    with pytest.raises(ValueError, match=match):
        npp.start(**kwargs)


def test_save_figure_only_writes_the_notebooks_own_figures(build):
    import matplotlib.pyplot as plt

    session = npp.start("04", "quick")
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="stem must be one of"):
        session.save_figure(fig, "01_fig1_cosine")
    paths = session.save_figure(fig, "04_gradients")
    assert all(path.parent == build / "quick" / "figures" and path.stat().st_size > 0 for path in paths)
    plt.close(fig)
