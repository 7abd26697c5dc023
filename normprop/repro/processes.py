"""Child processes that can be stopped completely: papermill and the kernel it starts.

Each papermill runs in its own session (so a Ctrl-C at the terminal reaches normprop alone, which then
stops the notebooks itself instead of leaving papermill and its kernel to react on their own), and
jupyter_client starts each kernel in a session of its own too. So stopping a notebook means finding every
descendant of its papermill before any of them dies (an orphaned kernel is no longer a descendant), then
signalling each one and each one's process group: SIGTERM first, SIGKILL to whatever is left after a
grace period. psutil (an ipykernel dependency) finds the descendants on Linux and macOS alike.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import psutil


def start_in_own_session(command: Sequence[str], log: IO, env: Mapping[str, str]) -> subprocess.Popen:
    """Start ``command`` in a new session (and process group), stdout and stderr to ``log``."""
    return subprocess.Popen(
        list(command), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=dict(env),
        start_new_session=True,
    )  # fmt: skip


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _connection_file(process: psutil.Process) -> Path | None:
    """The connection file named on an ipykernel's command line (``-f <file>.json``), if this is one."""
    try:
        arguments = process.cmdline()
    except psutil.Error:
        return None
    if not any("ipykernel" in argument for argument in arguments):
        return None
    for flag, value in zip(arguments, arguments[1:], strict=False):
        if flag == "-f" and value.endswith(".json"):
            return Path(value)
    return None


def _signal_all(processes: Sequence[psutil.Process], signum: int) -> None:
    own_group = os.getpgrp()
    groups = set()
    for process in processes:
        try:
            groups.add(os.getpgid(process.pid))
            process.send_signal(signum)
        except (psutil.Error, ProcessLookupError):
            pass
    for group in groups - {own_group}:  # never signal normprop's own group (the terminal's)
        try:
            os.killpg(group, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _alive(processes: Sequence[psutil.Process]) -> list[psutil.Process]:
    """Those still running; a zombie (dead, not yet reaped by its parent) counts as gone."""
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.Error:
            pass
    return alive


def _wait_gone(processes: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait up to ``timeout`` seconds for ``processes`` to end; return those still alive."""
    deadline = time.monotonic() + timeout
    alive = _alive(processes)
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = _alive(alive)
    return alive


def stop_trees(children: Sequence[subprocess.Popen], grace: float = 2.0) -> set[int]:
    """Stop each child and all its descendants: SIGTERM, then SIGKILL after ``grace`` seconds; reap them; return
    the pids stopped (the caller removes what they were writing: :func:`normprop.repro.files.remove_temporaries`).

    Kernel connection files left behind by killed kernels are removed (a clean shutdown would have).
    """
    processes = [process for child in children for process in _tree(child.pid)]
    connection_files = [path for process in processes if (path := _connection_file(process))]
    _signal_all(processes, signal.SIGTERM)
    alive = _wait_gone(processes, grace)
    if alive:
        _signal_all(alive, signal.SIGKILL)
        _wait_gone(alive, grace)
    for child in children:
        try:
            child.wait(timeout=grace)  # reap our own children (no zombies)
        except subprocess.TimeoutExpired:
            pass
    for path in connection_files:
        path.unlink(missing_ok=True)
    return {process.pid for process in processes}
