"""The normprop command: argument errors, listing, exit status, the report and the gallery.

Most tests replace the papermill job with an in-process stand-in; the end-to-end test runs a tiny notebook
(tests/tiny_notebooks.py) through the real CLI. Stopping, timeouts and locks: tests/test_stop.py.
"""

import dataclasses
import json
import os
import signal

import pytest
from tiny_notebooks import FIGURE, RECORD, write_notebook

from normprop.claims import all_claims
from normprop.repro import cli, layout, report, runner
from normprop.repro import records as results


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    return tmp_path


class FakeJob:
    """Stand-in for a papermill job: on its first poll, writes the record a notebook would write."""

    def __init__(self, claim, preset, verdicts, before=None, variant=""):
        self.claim, self.preset, self.verdicts, self.before, self.variant = claim, preset, verdicts, before, variant

    def poll(self):
        if self.before:
            self.before(self.claim)
        if self.claim.notebook not in self.verdicts:
            return runner.Outcome(runner.FINISHED, "failed: notebook raised an error (see build/x.log)", 0.5)
        ok = self.verdicts[self.claim.notebook]
        run = results.ClaimRun(self.claim.notebook, self.preset, variant=self.variant)
        verdict = run.record({"the check": ok}, {"slope": -0.5})
        return runner.Outcome(runner.FINISHED, verdict, 1.5)

    def children(self):
        return []

    def abandon(self, state):
        return runner.Outcome(state, "stopped after 0.1 s", 0.1)


def fake_launch(verdicts, before=None):
    return lambda claim, preset, threads, timeout, parameters=None, variant="": FakeJob(
        claim, preset, verdicts, before, variant
    )


def test_list_names_every_claim_and_figure(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for claim in all_claims():
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
        (["run", "01", "--timeout", "0"], "must be a positive number of seconds"),
        (["reproduce", "--timeout", "soon"], "must be a positive number of seconds"),
    ],
)
def test_argument_errors_are_clear_usage_errors(capsys, argv, message):
    try:
        code = cli.main(argv)  # a value only the command can check: one line, exit status 2
    except SystemExit as exit_info:  # what argparse itself refuses
        code = exit_info.code
    assert code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("verdicts, code", [({"01_orthogonality": True}, 0), ({"01_orthogonality": False}, 1), ({}, 1)])
def test_run_exit_status_follows_the_verdicts(build, monkeypatch, capsys, verdicts, code):
    monkeypatch.setattr(runner, "launch", fake_launch(verdicts))
    assert cli.main(["run", "01", "--no-progress"]) == code
    assert "01_orthogonality" in capsys.readouterr().out
    assert not (build / "quick" / ".lock").exists()


def test_reproduce_writes_report_and_gallery_and_fails_on_a_failed_claim(build, monkeypatch, capsys):
    monkeypatch.setattr(runner, "launch", fake_launch({"01_orthogonality": True, "02_entropy": False}))
    assert cli.main(["reproduce", "--preset", "quick", "--only", "01", "02", "--jobs", "2", "--no-progress"]) == 1
    data = json.loads((build / "quick" / "report.json").read_text())
    assert data["preset"] == "quick" and data["all_reproduced"] is False
    assert data["complete"] is True and data["status"] == "complete" and data["stopped_by"] is None
    verdicts = {entry["notebook"]: entry["verdict"] for entry in data["claims"]}
    assert verdicts == {"01_orthogonality": "reproduced", "02_entropy": "not reproduced"}
    first = data["claims"][0]
    assert first["papers"] and first["numbers"] == {"slope": -0.5} and first["checks"] == {"the check": True}
    assert first["state"] == "finished" and first["seed"] == 0  # the real notebook's parameters cell
    assert data["run"]["command"].startswith("normprop reproduce") and data["run"]["timeout_seconds"] == 300
    env = data["environment"]
    assert env["packages"]["torch"].startswith("2.13") and env["jobs"] >= 1 and env["torch_threads_per_job"] >= 1
    markdown = (build / "quick" / "report.md").read_text()
    assert "SOME CLAIMS NOT REPRODUCED" in markdown and "| the check | NO |" in markdown
    gallery = (build / "quick" / "figures" / "README.md").read_text()
    assert "![2021 Fig. 1](01_fig1_cosine.png)" in gallery


def test_a_stopped_reproduce_never_leaves_the_last_runs_success_standing(build, monkeypatch, capsys):
    """The stale-success bug: an interrupted run left the previous run's "every claim reproduced"."""
    monkeypatch.setattr(runner, "launch", fake_launch({"01_orthogonality": True, "02_entropy": True}))
    assert cli.main(["reproduce", "--preset", "quick", "--only", "01", "02", "--no-progress"]) == 0
    assert "every claim reproduced" in (build / "quick" / "report.md").read_text()
    seen = {}

    def ctrl_c_during_the_first_notebook(claim):
        seen.setdefault("report while running", json.loads((build / "quick" / "report.json").read_text()))
        os.kill(os.getpid(), signal.SIGINT)  # as a Ctrl-C: the CLI only notes it

    monkeypatch.setattr(runner, "launch", fake_launch({"01_orthogonality": True}, ctrl_c_during_the_first_notebook))
    argv = ["reproduce", "--preset", "quick", "--only", "01", "02", "03", "--jobs", "1", "--no-progress"]
    assert cli.main(argv) == 130
    running = seen["report while running"]
    assert running["status"] == "running" and running["complete"] is False and running["run"]["pid"] == os.getpid()
    data = json.loads((build / "quick" / "report.json").read_text())
    assert data["complete"] is False and data["all_reproduced"] is False and data["stopped_by"] == "SIGINT"
    # The longest notebook starts first (03 never ran: unknown, first); the Ctrl-C during it stops the rest.
    assert sorted(entry["state"] for entry in data["claims"]) == ["finished", "not started", "not started"]
    markdown = (build / "quick" / "report.md").read_text()
    assert "INCOMPLETE (stopped by SIGINT)" in markdown and "every claim reproduced" not in markdown
    out = capsys.readouterr().out
    assert "stopped by SIGINT" in out and "02_entropy" in out and "not started" in out


def test_a_report_with_a_timed_out_notebook_is_incomplete_and_says_so(build):
    results.ClaimRun("01", "quick").record({"the check": True}, {})
    outcomes = {
        "01_orthogonality": runner.Outcome(runner.FINISHED, "reproduced", 1.0),
        "02_entropy": runner.Outcome(runner.TIMED_OUT, "stopped at the 3 s limit", 3.0),
    }
    data = report.build_report(all_claims()[:2], "quick", outcomes, {"packages": {}, "python": "3", "platform": "p",
                                                                "cpu": "c", "cores": 1, "jobs": 1,
                                                                "torch_threads_per_job": 1})  # fmt: skip
    assert data["complete"] is False and data["all_reproduced"] is False and data["counts"]["timed out"] == 1
    markdown = report.report_markdown(data)
    assert "INCOMPLETE (not every notebook ran to its end): 1 finished, 1 timed out" in markdown
    assert "| 02_entropy | timed out | stopped at the 3 s limit |" in markdown


def test_gallery_is_deterministic_and_lists_every_figure():
    text = report.gallery_markdown()
    assert text == report.gallery_markdown()
    for claim in all_claims():
        for stem in claim.figures:
            assert f"({stem}.png)" in text


@pytest.mark.processes
def test_reproduce_end_to_end_on_a_tiny_notebook(build, tmp_path, monkeypatch, capsys):
    """The real CLI, papermill and kernel, on a stand-in for notebook 01 that records and saves a figure."""
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks, "01_orthogonality", RECORD, FIGURE)
    monkeypatch.setenv("NORMPROP_NOTEBOOKS_DIR", str(notebooks))
    assert cli.main(["reproduce", "--preset", "quick", "--only", "01", "--no-progress"]) == 0
    data = json.loads((build / "quick" / "report.json").read_text())
    entry = data["claims"][0]
    assert data["complete"] is True and data["all_reproduced"] is True
    assert entry["verdict"] == "reproduced" and entry["numbers"] == {"slope": -0.5} and entry["seed"] == 7
    assert (build / "quick" / "01_orthogonality.ipynb").exists()
    figures = build / "quick" / "figures"
    assert (figures / "01_orthogonality_figure.png").read_bytes().startswith(b"\x89PNG")
    assert sorted(path.name for path in (build / "quick").rglob(".*")) == []  # no temporaries, no lock left
    assert "every claim reproduced" in (build / "quick" / "report.md").read_text()


@pytest.mark.processes
def test_an_unchanged_notebook_is_not_run_again_until_something_changes(build, tmp_path, monkeypatch, capsys):
    """reproduce reuses a notebook's last run when its file, the code and the preset are unchanged and everything
    it wrote is there; an edit to the notebook, a missing figure or --no-cache runs it again."""
    from normprop.claims import find_claim

    stems = list(find_claim("01").figures)
    save_all = (
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "from normprop.repro.plotting import save_figure\nfig, ax = plt.subplots()\n"
        f"for stem in {stems!r}:\n    save_figure(fig, stem, preset)"
    )
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks, "01_orthogonality", RECORD, save_all)
    monkeypatch.setenv("NORMPROP_NOTEBOOKS_DIR", str(notebooks))
    argv = ["reproduce", "--preset", "quick", "--only", "01", "--no-progress"]

    def ran() -> bool:
        """Whether the last command executed the notebook (its kernel wrote a fresh pid file)."""
        pids = notebooks / "01_orthogonality.pids"
        fresh = pids.exists()
        pids.unlink(missing_ok=True)
        return fresh

    assert cli.main(argv) == 0 and ran()
    assert cli.main(argv) == 0 and not ran() and "unchanged since its last quick run" in capsys.readouterr().err
    assert json.loads((build / "quick" / "report.json").read_text())["claims"][0]["verdict"] == "reproduced"
    assert cli.main([*argv, "--no-cache"]) == 0 and ran()
    (build / "quick" / "figures" / f"{stems[0]}.png").unlink()
    assert cli.main(argv) == 0 and ran()
    write_notebook(notebooks, "01_orthogonality", RECORD, save_all, "x = 1")
    assert cli.main(argv) == 0 and ran()
    assert cli.main(argv) == 0 and not ran()


def test_the_longest_notebook_starts_first(build):
    for notebook, seconds in (("01", 5.0), ("02", 50.0)):  # 03 never ran here: its claim's quick runtime (55 s) counts
        results.ClaimRun(notebook, "quick").record({"ok": True}, {})
        path = results.record_path(notebook, "quick")
        path.write_text(json.dumps({**json.loads(path.read_text()), "seconds": seconds}))
    runs = [runner.Run(claim) for claim in all_claims()[:3]]
    assert [runs[index].claim.notebook[:2] for index in runner.longest_first(runs, "quick")] == ["03", "02", "01"]


def test_a_run_served_from_the_cache_does_not_reorder_the_next_cold_one(build):
    """Only a run that computed most of its tasks notes its runtime as the notebook's length: after a cached run of 02
    (seconds), 02 still goes before 01, by the runtime of its last cold run."""
    for notebook, seconds in (("01", 5.0), ("02", 50.0)):
        task_log = layout.task_log_path(all_claims()[int(notebook) - 1].notebook, "quick")
        task_log.parent.mkdir(parents=True, exist_ok=True)
        task_log.write_text(json.dumps({"cached": 1, "computed": 2}))
        runner.note_cold_seconds(all_claims()[int(notebook) - 1].notebook, "quick", None, seconds)
    task_log.write_text(json.dumps({"cached": 2, "computed": 1}))  # 02 again, most tasks from the cache
    runner.note_cold_seconds(all_claims()[1].notebook, "quick", None, 1.0)
    assert runner.read_cold_seconds("quick") == {all_claims()[0].notebook: 5.0, all_claims()[1].notebook: 50.0}
    for notebook, seconds in (("01", 5.0), ("02", 1.0)):  # the records say 02 is the shorter now
        results.ClaimRun(notebook, "quick").record({"ok": True}, {})
        path = results.record_path(notebook, "quick")
        path.write_text(json.dumps({**json.loads(path.read_text()), "seconds": seconds}))
    runs = [runner.Run(claim) for claim in all_claims()[:2]]
    assert [runs[index].claim.notebook[:2] for index in runner.longest_first(runs, "quick")] == ["02", "01"]


def test_a_first_run_orders_by_the_claims_runtimes_and_unknown_runs_go_first(build):
    """On a fresh clone nothing has been timed: the paper preset starts 04 and 05, the longest, first; a claim that
    states no runtime for the preset goes before them, as a run whose length nobody knows."""
    runs = [runner.Run(claim) for claim in all_claims()]
    order = [runs[index].claim.notebook[:2] for index in runner.longest_first(runs, "paper")]
    assert order[:2] == ["04", "05"]
    runs[0] = runner.Run(dataclasses.replace(all_claims()[0], runtime={}))
    assert runs[runner.longest_first(runs, "paper")[0]].claim.notebook[:2] == "01"
