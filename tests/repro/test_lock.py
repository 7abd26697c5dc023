"""One run per preset: the lock file, its holder's pid and command, and locks left by dead runs."""

import json
import os
import signal
import subprocess
import sys

import pytest

from normprop.repro import lock


def test_a_held_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    path = tmp_path / "quick" / ".lock"
    with lock.hold_lock(path, "normprop run 01"):
        assert json.loads(path.read_text())["pid"] == os.getpid()
        with (
            pytest.raises(lock.LockHeld, match=f"pid {os.getpid()}: normprop run 01, since "),
            lock.hold_lock(path, "normprop run 02"),
        ):
            pass
        with lock.hold_lock(tmp_path / "paper" / ".lock", "normprop run 01 --preset paper"):  # other preset
            pass
    assert not path.exists()
    with lock.hold_lock(path, "again"):  # released, also after an error in the block
        pass
    with pytest.raises(RuntimeError), lock.hold_lock(path, "failing"):
        raise RuntimeError
    assert not path.exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    path = tmp_path / ".lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from normprop.repro import lock\nwith lock.hold_lock({str(path)!r}, 'held'):\n"
         "    print('locked', flush=True)\n    input()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline() == "locked\n"
    with pytest.raises(lock.LockHeld, match=f"pid {holder.pid}: held"), lock.hold_lock(path, "second"):
        pass
    holder.send_signal(signal.SIGKILL)  # no chance to clean up: the file stays, the flock goes
    holder.wait(timeout=10)
    assert json.loads(path.read_text())["pid"] == holder.pid
    with lock.hold_lock(path, "after the kill"):
        assert json.loads(path.read_text())["command"] == "after the kill"
