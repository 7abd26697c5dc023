"""The normprop command: argument errors, listing, exit status, the report and the gallery."""

import json

import pytest

from normprop import cli, report, results
from normprop.catalog import CLAIMS


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    return tmp_path


def fake_execution(verdicts: dict[str, bool]):
    """Stand-in for papermill: writes the record a notebook would write, with the given outcome."""

    def execute(claim, preset, threads):
        if claim.notebook not in verdicts:
            return "failed: notebook raised an error (see build/x.log)", 0.5
        results.ClaimRun(claim.notebook, preset).record({"the check": verdicts[claim.notebook]}, {"slope": -0.5})
        return results.read_record(claim.notebook, preset)["verdict"], 1.5

    return execute


def test_list_names_every_claim_and_figure(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for claim in CLAIMS:
        assert claim.notebook in out and all(f"figures/{stem}.png" in out for stem in claim.figures)
    assert "arXiv:2106.03970" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "42_nothing"], "notebook must be one of"),
        (["reproduce", "--only", "7"], "notebook must be one of"),
        (["reproduce", "--jobs", "0"], "must be a positive integer"),
        (["run", "01", "--preset", "huge"], "invalid choice"),
        (["reproduce", "--preset", "fast"], "invalid choice"),
    ],
)
def test_argument_errors_are_clear_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("verdicts, code", [({"01_orthogonality": True}, 0), ({"01_orthogonality": False}, 1), ({}, 1)])
def test_run_exit_status_follows_the_verdicts(build, monkeypatch, capsys, verdicts, code):
    monkeypatch.setattr(cli, "execute_notebook", fake_execution(verdicts))
    assert cli.main(["run", "01", "--no-progress"]) == code
    assert "01_orthogonality" in capsys.readouterr().out


def test_reproduce_writes_report_and_gallery_and_fails_on_a_failed_claim(build, monkeypatch, capsys):
    monkeypatch.setattr(cli, "execute_notebook", fake_execution({"01_orthogonality": True, "02_entropy": False}))
    assert cli.main(["reproduce", "--preset", "quick", "--only", "01", "02", "--jobs", "2", "--no-progress"]) == 1
    data = json.loads((build / "quick" / "report.json").read_text())
    assert data["preset"] == "quick" and data["all_reproduced"] is False
    verdicts = {entry["notebook"]: entry["verdict"] for entry in data["claims"]}
    assert verdicts == {"01_orthogonality": "reproduced", "02_entropy": "not reproduced"}
    first = data["claims"][0]
    assert first["papers"] and first["numbers"] == {"slope": -0.5} and first["checks"] == {"the check": True}
    env = data["environment"]
    assert env["packages"]["torch"].startswith("2.13") and env["jobs"] >= 1 and env["torch_threads_per_job"] >= 1
    markdown = (build / "quick" / "report.md").read_text()
    assert "SOME CLAIMS NOT REPRODUCED" in markdown and "| the check | NO |" in markdown
    gallery = (build / "quick" / "figures" / "README.md").read_text()
    assert "![2021 Fig. 1](01_fig1_cosine.png)" in gallery


def test_gallery_is_deterministic_and_lists_every_figure():
    text = report.gallery_markdown()
    assert text == report.gallery_markdown()
    for claim in CLAIMS:
        for stem in claim.figures:
            assert f"({stem}.png)" in text


@pytest.mark.notebook
def test_reproduce_end_to_end_with_the_quick_preset(build, capsys):
    assert cli.main(["reproduce", "--preset", "quick", "--only", "01", "--no-progress"]) == 0
    data = json.loads((build / "quick" / "report.json").read_text())
    entry = data["claims"][0]
    assert entry["verdict"] == "reproduced" and entry["numbers"]["width_slope"] < 0
    assert (build / "quick" / "01_orthogonality.ipynb").exists() and (
        build / "quick" / "figures" / "01_fig1_cosine.png"
    ).exists()
