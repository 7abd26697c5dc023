"""The CLI's task flags (--scheduler, --workers, --no-cache) reach the notebooks' kernels, and the run says where
the tasks ran."""

import json
import os

import pytest
from tiny_notebooks import write_notebook

from normprop.repro import cli, runner

SWEEP = (
    "import normprop as npp\n"
    "session = npp.start(NAME, preset, seed=seed, threads=threads)\n"
    "table = session.grid('tiny', lambda width, generator: {'v': float(width)}, width=[1, 2, 3])\n"
    "session.finish({'the check': table.v.tolist() == [1.0, 2.0, 3.0]},\n"
    "               {'cache_off': session.cache is None, 'scheduler': os.environ.get('NORMPROP_SCHEDULER', ''),\n"
    "                'task_threads': session.threads})"
)


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    for name in ("NORMPROP_SCHEDULER", "NORMPROP_WORKERS", "NORMPROP_NO_CACHE", "NORMPROP_TASK_THREADS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_kernel_settings_are_set_for_the_block_and_restored(monkeypatch):
    monkeypatch.setenv("NORMPROP_NO_CACHE", "0")
    monkeypatch.delenv("NORMPROP_SCHEDULER", raising=False)
    with runner.kernel_settings({"NORMPROP_NO_CACHE": "1", "NORMPROP_SCHEDULER": "tcp://127.0.0.1:8786"}):
        assert os.environ["NORMPROP_NO_CACHE"] == "1" and os.environ["NORMPROP_SCHEDULER"] == "tcp://127.0.0.1:8786"
    assert os.environ["NORMPROP_NO_CACHE"] == "0" and "NORMPROP_SCHEDULER" not in os.environ


def test_scheduler_and_workers_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "01", "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"])
    assert exit_info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


@pytest.mark.processes
def test_run_with_workers_and_no_cache_end_to_end(build, tmp_path, monkeypatch, capsys):
    """A LocalCluster of two workers started by the CLI, a real kernel whose session sends its sweep there
    (about 10-15 s on 2 cores: the kernel and both workers import torch)."""
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks, "01_orthogonality", SWEEP)
    monkeypatch.setenv("NORMPROP_NOTEBOOKS_DIR", str(notebooks))
    assert cli.main(["run", "01", "--workers", "2", "--no-cache", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "tasks: on the Dask scheduler tcp://127.0.0.1:" in out and "(2 workers); result cache: off" in out
    assert "01_orthogonality  3 tasks: 3 computed (Dask scheduler tcp://127.0.0.1:" in out
    record = json.loads((build / "quick" / "01_orthogonality.json").read_text())
    assert record["verdict"] == "reproduced" and record["numbers"]["cache_off"] is True
    assert record["numbers"]["scheduler"].startswith("tcp://127.0.0.1:") and record["numbers"]["task_threads"] == 1
    assert not (build / "cache").exists()
    assert "NORMPROP_SCHEDULER" not in os.environ and "NORMPROP_NO_CACHE" not in os.environ
