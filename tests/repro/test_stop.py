"""Stopping a run: Ctrl-C and SIGTERM, per-notebook timeouts, and one run per preset at a time.

These run the real ``normprop`` command (papermill, kernels) on tiny notebooks (tests/tiny_notebooks.py), as
a user would, and check the exit status, what it prints, that no papermill or kernel process is left, that
committed files are untouched and that the report says the run is incomplete.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny_notebooks import QUICK_RECORD, SLEEP_FOREVER, pids, running, sleep_cells, write_notebook

from normprop.repro import cli, runner
from normprop.repro import layout as paths
from normprop.repro.lock import lock_path

pytestmark = pytest.mark.processes


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A build folder and a notebooks folder under tmp_path, set in the environment the CLI inherits."""
    build, notebooks = tmp_path / "build", tmp_path / "notebooks"
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(build))
    monkeypatch.setenv("NORMPROP_NOTEBOOKS_DIR", str(notebooks))
    return build, notebooks


def committed_files():
    """Size and modification time of every committed figure and notebook (any touch changes them)."""
    root = paths.repo_root()
    return {path: (path.stat().st_size, path.stat().st_mtime_ns) for path in sorted((root / "figures").iterdir())} | {
        path: (path.stat().st_size, path.stat().st_mtime_ns) for path in sorted((root / "notebooks").iterdir())
    }


def start_cli(*arguments):
    """``normprop ...`` in its own process group, as a shell runs a foreground job."""
    return subprocess.Popen(
        [sys.executable, "-m", "normprop.repro.cli", *arguments, "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def assert_all_gone(process_ids):
    assert process_ids and not [pid for pid in process_ids if running(pid)], "a papermill or kernel outlived the run"


def test_ctrl_c_stops_the_run_within_seconds_and_says_what_ran(workspace):
    build, notebooks = workspace
    write_notebook(notebooks, "01_orthogonality", QUICK_RECORD)
    write_notebook(notebooks, "02_entropy", SLEEP_FOREVER)
    write_notebook(notebooks, "03_isometry", QUICK_RECORD)
    before = committed_files()
    # The order this test needs, 01, 02, 03, as runtimes timed here (else the claims' own runtimes would order them)
    (build / "quick").mkdir(parents=True)
    runtimes = {"01_orthogonality": 3.0, "02_entropy": 2.0, "03_isometry": 1.0}
    (build / "quick" / "cold_seconds.json").write_text(json.dumps(runtimes))
    cli_process = start_cli("reproduce", "--preset", "quick", "--only", "01", "02", "03", "--jobs", "1")
    # 01 has finished, 02 is running, 03 waits; two kernel starts on a loaded 2-core machine can take 20 s
    wait_for(lambda: pids(notebooks, "02_entropy"), timeout=60.0)
    kernel_arguments = open(f"/proc/{pids(notebooks, '02_entropy')[0]}/cmdline").read().split("\0")
    connection_file = Path(kernel_arguments[kernel_arguments.index("-f") + 1])
    assert connection_file.exists()
    os.killpg(cli_process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground process group
    sent = time.monotonic()
    out, err = cli_process.communicate(timeout=15)
    assert time.monotonic() - sent < 5
    assert cli_process.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "stopped by SIGINT" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("0")}
    assert "finished" in lines["01_orthogonality"] and "reproduced" in lines["01_orthogonality"]
    assert "interrupted" in lines["02_entropy"] and "not started" in lines["03_isometry"]
    assert_all_gone(pids(notebooks, "01_orthogonality") + pids(notebooks, "02_entropy"))
    assert not connection_file.exists()  # as a clean kernel shutdown would have left it
    data = json.loads((build / "quick" / "report.json").read_text())
    assert data["complete"] is False and data["all_reproduced"] is False and data["stopped_by"] == "SIGINT"
    assert data["counts"] == {"finished": 1, "interrupted": 1, "timed out": 0, "not started": 1}
    markdown = (build / "quick" / "report.md").read_text()
    assert "INCOMPLETE" in markdown and "every claim reproduced" not in markdown
    left = sorted(path.name for path in (build / "quick").iterdir())
    assert "02_entropy.ipynb" not in left and "02_entropy.json" not in left and "01_orthogonality.json" in left
    assert not [name for name in left if name.startswith(".")]  # no temporary files, no lock
    assert committed_files() == before


WRITING_FOREVER = (
    "import pathlib, time\n"
    "from normprop.repro.files import atomic_write\n"
    "from normprop.repro.layout import figures_dir\n"
    "figures_dir(preset).mkdir(parents=True, exist_ok=True)\n"
    "with atomic_write(figures_dir(preset) / '01_fig1_cosine.png') as handle:\n"
    "    handle.write(b'half a figure')\n"
    "    pathlib.Path(os.environ['NORMPROP_BUILD_DIR'], 'writing').write_text('yes')\n"
    "    while True:\n"
    "        time.sleep(0.05)"
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_during_a_figure_write_leaves_no_temporary_file(workspace, signum):
    build, notebooks = workspace
    write_notebook(notebooks, "01_orthogonality", WRITING_FOREVER)
    cli_process = start_cli("run", "01", "--preset", "paper")
    wait_for(lambda: (build / "writing").exists(), timeout=60)
    figures = build / "paper" / "figures"
    assert [path.name for path in figures.iterdir() if path.name.endswith(".tmp")], "the write is under way"
    os.killpg(cli_process.pid, signum)
    cli_process.communicate(timeout=15)
    assert cli_process.returncode == 128 + signum
    assert [path.name for path in build.rglob("*") if ".tmp" in path.name] == []
    assert not (figures / "01_fig1_cosine.png").exists()  # never a half figure under its real name


def test_sigterm_stops_parallel_notebooks(workspace):
    build, notebooks = workspace
    write_notebook(notebooks, "02_entropy", SLEEP_FOREVER)
    write_notebook(notebooks, "03_isometry", SLEEP_FOREVER)
    parallel = runner.plan_jobs(2, 2)[0] == 2
    cli_process = start_cli("run", "02", "03", "--jobs", "2")
    wait_for(lambda: pids(notebooks, "02_entropy") and (pids(notebooks, "03_isometry") or not parallel))
    cli_process.send_signal(signal.SIGTERM)  # as `kill` or a CI runner's cancel does: normprop alone
    sent = time.monotonic()
    out, err = cli_process.communicate(timeout=15)
    assert time.monotonic() - sent < 5 and cli_process.returncode == 143
    assert "stopped by SIGTERM" in out and "Traceback" not in err
    assert out.count("interrupted") == (2 if parallel else 1)
    assert_all_gone(pids(notebooks, "02_entropy") + pids(notebooks, "03_isometry"))
    assert not (build / "quick" / ".lock").exists()


@pytest.mark.parametrize("cells", [["import time\ntime.sleep(30)"], sleep_cells(30, 1)], ids=["one long cell", "many"])
def test_a_notebook_past_its_timeout_is_stopped_and_reported(workspace, capsys, cells):
    """The acceptance case of issue 13: ``normprop run 05 --timeout ...`` ends soon and says it timed out.
    Many short cells are caught by normprop's own wall-clock limit, not papermill's per-cell one."""
    build, notebooks = workspace
    write_notebook(notebooks, "05_sgd_acceleration", *cells)
    start = time.monotonic()
    # 15 s: long enough for the kernel to start and note its pid beside the nbval notebooks (make test runs both)
    assert cli.main(["run", "05", "--preset", "quick", "--timeout", "15", "--no-progress"]) == 1
    assert time.monotonic() - start < 28
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("05_sgd_acceleration"))
    assert "timed out" in line and "15 s limit" in line
    assert_all_gone(pids(notebooks, "05_sgd_acceleration"))
    assert not (build / "quick" / "05_sgd_acceleration.ipynb").exists()
    assert not [path for path in (build / "quick").iterdir() if path.name.startswith(".")]


def test_a_second_run_of_a_preset_is_refused_while_other_presets_run(workspace, capsys):
    build, notebooks = workspace
    write_notebook(notebooks, "02_entropy", SLEEP_FOREVER)
    write_notebook(notebooks, "01_orthogonality", QUICK_RECORD)
    first = start_cli("run", "02", "--preset", "quick")
    try:
        wait_for(lambda: pids(notebooks, "02_entropy"))
        assert json.loads(lock_path("quick").read_text())["pid"] == first.pid
        assert cli.main(["run", "01", "--preset", "quick", "--no-progress"]) == cli.EXIT_LOCKED
        message = capsys.readouterr().err
        assert f"pid {first.pid}: normprop run 02 --preset quick" in message and ".lock" in message
        assert pids(notebooks, "02_entropy") and first.poll() is None  # the first run is undisturbed
        assert cli.main(["run", "01", "--preset", "paper", "--timeout", "60", "--no-progress"]) == 0
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=15)
    assert not lock_path("quick").exists()
    assert_all_gone(pids(notebooks, "02_entropy"))


def test_a_stale_lock_of_a_dead_run_is_taken_over(workspace, capsys):
    build, notebooks = workspace
    write_notebook(notebooks, "01_orthogonality", QUICK_RECORD)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock_path("quick").parent.mkdir(parents=True)
    lock_path("quick").write_text(json.dumps({"pid": int(dead.stdout), "command": "normprop run (killed -9)"}))
    assert cli.main(["run", "01", "--no-progress"]) == 0
    assert not lock_path("quick").exists()
