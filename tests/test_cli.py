"""The normprop command: argument errors, listing, and the exit status of a run."""

import pytest

from normprop import cli


def test_list_names_every_claim_and_figure(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "01_orthogonality" in out and "arXiv:2106.03970" in out and "figures/01_fig1_cosine.png" in out


def test_unknown_notebook_is_a_clear_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "42_nothing"])
    assert exit_info.value.code == 2
    assert "notebook must be one of" in capsys.readouterr().err


def test_unknown_preset_is_rejected(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "01", "--preset", "huge"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("status, code", [("reproduced", 0), ("not reproduced", 1), ("failed: KeyError", 1)])
def test_run_exit_status_follows_the_verdicts(monkeypatch, capsys, status, code):
    monkeypatch.setattr(cli, "execute_notebook", lambda claim, preset, progress: (status, 1.5))
    assert cli.main(["run", "01", "--no-progress"]) == code
    assert status in capsys.readouterr().out
