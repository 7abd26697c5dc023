"""Parameters from the command line, and the claim ledger over seeds (normprop ledger), on tiny notebooks."""

import json

import pytest
from tiny_notebooks import write_notebook

from normprop.repro import cli, ledger

# Records a check that fails at seeds 1 and 3, with a margin that says by how much, and one that always holds.
FLAKY = (
    "from normprop.analysis import Check\n"
    "from normprop.repro.records import ClaimRun\n"
    "fails = seed in (1, 3)\n"
    "flaky = Check(not fails, float(seed) - 2.0 if fails else float(seed))\n"
    "ClaimRun(NAME, preset, seed=seed).record({'seed is not 1 or 3': flaky, 'always': True}, {'seed': seed})"
)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("NORMPROP_NOTEBOOKS_DIR", str(tmp_path / "notebooks"))
    write_notebook(tmp_path / "notebooks", "01_orthogonality", FLAKY)
    return tmp_path / "build"


@pytest.mark.parametrize("text, seeds", [("0-3", [0, 1, 2, 3]), ("0,3,7", [0, 3, 7]), ("5", [5]), ("0-1,4", [0, 1, 4])])
def test_seed_ranges(text, seeds):
    assert ledger.parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a-b", "3-1", "-1", "1,1"])
def test_bad_seed_ranges_are_one_line_errors(text):
    with pytest.raises(ValueError, match="--seeds"):
        ledger.parse_seeds(text)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "01", "--seed", "-1"], "seed must be a non-negative integer, got -1"),
        (["run", "01", "-p", "nonsense", "1"], "has no parameter 'nonsense'; its parameters: preset, seed, threads"),
        (["run", "01", "-p", "seed", "1.5"], "seed must be a non-negative integer, got 1.5"),
        (["run", "01", "-p", "preset", "huge"], "preset must be one of quick, paper, full"),
    ],
)
def test_bad_parameters_are_refused_before_any_kernel_starts(workspace, capsys, argv, message):
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not workspace.exists() or not any(workspace.rglob("*.ipynb"))


@pytest.mark.processes
def test_a_run_with_another_seed_writes_beside_the_default_run(workspace, capsys):
    assert cli.main(["run", "01", "-p", "preset", "paper", "--seed", "2", "--no-progress"]) == 0
    record = json.loads((workspace / "paper-seed2" / "01_orthogonality.json").read_text())
    assert record["seed"] == 2 and record["numbers"] == {"seed": 2} and record["preset"] == "paper"
    assert not (workspace / "paper").exists()
    assert "parameters: seed = 2" in capsys.readouterr().out


@pytest.mark.processes
def test_the_ledger_counts_the_seeds_a_check_held_at_and_its_margins(workspace, capsys):
    code = cli.main(["ledger", "--preset", "quick", "--seeds", "0-3", "--only", "01", "--jobs", "2", "--no-progress"])
    assert code == cli.EXIT_NOT_REPRODUCED  # two seeds fail
    data = json.loads((workspace / "quick" / "ledger.json").read_text())
    (entry,) = data["claims"]
    assert entry["reproduced"] == [0, 2] and entry["no_record"] == []
    flaky = entry["checks"]["seed is not 1 or 3"]
    assert flaky["held"] == [0, 2] and flaky["failed"] == [1, 3]
    assert flaky["margins"] == {"0": 0.0, "1": -1.0, "2": 2.0, "3": 1.0} and flaky["min_margin"] == -1.0
    assert entry["checks"]["always"]["held"] == [0, 1, 2, 3] and entry["checks"]["always"]["min_margin"] is None
    line = "reproduced at 2 of 4 seeds; 'seed is not 1 or 3' failed at seed(s) 1, 3"
    assert line in capsys.readouterr().out
    markdown = (workspace / "quick" / "ledger.md").read_text()
    assert line in markdown and "| seed is not 1 or 3 | 2 of 4 | -1 |" in markdown
    # --from-records runs nothing: it summarises what the runs above left, here over a subset of their seeds
    (workspace / "quick" / "ledger.json").unlink()
    code = cli.main(["ledger", "--preset", "quick", "--seeds", "0,2", "--only", "01", "--from-records"])
    assert code == cli.EXIT_REPRODUCED
    again = json.loads((workspace / "quick" / "ledger.json").read_text())
    assert again["claims"][0]["reproduced"] == [0, 2] and again["seeds"] == [0, 2]
