"""One run per preset at a time: ``build/<preset>/.lock``.

Two runs of one preset on one checkout would write the same records, executed notebooks and report, and
each deletes the other's records before running a notebook. So ``normprop run`` and ``reproduce`` hold an
exclusive :func:`fcntl.flock` on ``build/<preset>/.lock`` while they run, and write their pid and command
into it so that a refused run can say who holds it. The operating system drops a flock when its holder
dies, however it dies, so a lock left by a killed run is never in the way: the next run takes it over and
rewrites it. Different presets lock different files and never wait for each other.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from normprop.repro import layout
from normprop.repro.layout import relative_to_root, repo_root


class LockHeld(RuntimeError):
    """Another live process holds the lock."""

    def __init__(self, path: Path, holder: dict) -> None:
        self.path, self.holder = path, holder
        who = f"pid {holder['pid']}" if holder.get("pid") else "another process"
        if holder.get("command"):
            who += f": {holder['command']}"
        if holder.get("started"):
            who += f", since {holder['started']}"
        shown = relative_to_root(path) if path.resolve().is_relative_to(repo_root()) else str(path)
        super().__init__(f"another normprop run holds {shown} ({who}); wait for it to end or stop it")


def lock_path(preset: str) -> Path:
    return layout.lock_path(preset)


def read_holder(path: Path) -> dict:
    """What the lock file says about its holder (empty if it says nothing readable)."""
    try:
        holder = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _open_locked(path: Path) -> int:
    """Open ``path`` and hold its flock, or raise :class:`LockHeld`; retry if the file was replaced meanwhile."""
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by the notebooks' processes
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise LockHeld(path, read_holder(path)) from None
        # A releasing holder unlinks the file while it still holds the flock: if we locked a file that is no
        # longer at ``path``, a third run may lock the new one, so start again on whatever is there now.
        try:
            if os.stat(path).st_ino == os.fstat(descriptor).st_ino:
                return descriptor
        except FileNotFoundError:
            pass
        os.close(descriptor)


@contextmanager
def hold_lock(path: str | os.PathLike, command: str) -> Iterator[Path]:
    """Hold the lock file ``path`` for the block, with this process's pid and ``command`` written in it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = _open_locked(path)
    try:
        # Written in place, not renamed over: the flock belongs to this file (this inode).
        holder = {"pid": os.getpid(), "command": command, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, (json.dumps(holder) + "\n").encode(), 0)
        yield path
    finally:
        path.unlink(missing_ok=True)  # before the flock goes, so that no one locks a file about to vanish
        os.close(descriptor)


def preset_lock(preset: str, command: str) -> AbstractContextManager[Path]:
    """:func:`hold_lock` on ``build/<preset>/.lock``."""
    return hold_lock(lock_path(preset), command)
