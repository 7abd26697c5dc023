"""A new claim is two files: its module and its notebook. A toy claim, registered through
``$NORMPROP_CLAIMS_DIR`` (a claim module) and ``$NORMPROP_NOTEBOOKS_DIR`` (its tiny notebook), shows up in
``normprop list``, in a run's report, in the book's table of contents and in the README check."""

import json

import pytest
from tiny_notebooks import RECORD, write_notebook

from normprop.claims import all_claims, find_claim
from normprop.repro import book, cli, docs

TOY = """
from normprop.claims import Claim, cite

CLAIM = Claim(
    notebook="90_toy",
    title="A toy claim",
    statement="The toy notebook records a check that holds.",
    citations=(cite("daneshmand2021batch", "a toy reading"),),
    presets={"quick": {"seeds": 2}, "paper": {"seeds": 4}, "full": {"seeds": 8}},
    figures={"90_toy_figure": "toy Fig. 1"},
)
"""
FIGURE = (
    "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "from normprop.repro.plotting import save_figure\n"
    "fig, ax = plt.subplots()\nax.plot(range(10))\nsave_figure(fig, '90_toy_figure', preset)"
)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "90_toy.py").write_text(TOY)
    write_notebook(tmp_path / "notebooks", "90_toy", RECORD, FIGURE)
    monkeypatch.setenv("NORMPROP_CLAIMS_DIR", str(tmp_path / "claims"))
    monkeypatch.setenv("NORMPROP_NOTEBOOKS_DIR", str(tmp_path / "notebooks"))
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path / "build"))
    return tmp_path


def test_the_toy_claim_is_registered_after_the_real_ones(toy):
    assert [claim.notebook for claim in all_claims()][-1] == "90_toy"
    assert find_claim("90").figures == {"90_toy_figure": "toy Fig. 1"}
    assert find_claim("90").papers[0].endswith("NeurIPS 2021, a toy reading. arXiv:2106.03970")


def test_normprop_list_shows_the_toy_claim(toy, capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "90_toy: A toy claim" in out and "figures/90_toy_figure.png  (toy Fig. 1)" in out


def test_the_readme_check_asks_for_the_toy_claims_rows(toy):
    found = docs.problems()
    assert any("claims table" in problem and "'90'" in problem for problem in found)
    assert any("figure table" in problem and "90_toy_figure" in problem for problem in found)
    assert "| 90 | [`90_toy`](notebooks/90_toy.ipynb) |" in docs.readme_rows(find_claim("90"))


@pytest.mark.processes
def test_a_run_reports_the_toy_claim_and_the_book_lists_it(toy):
    assert cli.main(["reproduce", "--preset", "quick", "--only", "90", "--no-progress"]) == 0
    report = json.loads((toy / "build" / "quick" / "report.json").read_text())
    assert [entry["notebook"] for entry in report["claims"]] == ["90_toy"]
    assert "90_toy" in (toy / "build" / "quick" / "report.md").read_text()
    staging = book.stage("quick", staging=toy / "book-src")
    assert "notebooks/90_toy" in (staging / "index.md").read_text()
    assert (staging / "notebooks" / "90_toy.ipynb").is_file()
