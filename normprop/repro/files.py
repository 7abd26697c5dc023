"""Atomic file writes: a reader sees the old file or the new one, never a partial one.

Every file normprop writes (figures, results records, executed notebooks, the report, the gallery) is first
written to a hidden temporary file beside its destination, flushed to disk, then renamed over the destination
with :func:`os.replace`, which is atomic on one file system (hence "beside": the same folder). A writer killed
half way leaves the destination as it was, plus a temporary file named ``.<name>.<pid>-<random>.tmp<suffix>``:
the leading dot and the ``.tmp`` keep it out of every glob for the real files, and the pid lets
:func:`remove_stale_temporaries` tell a dead writer's leftover from a live writer's file in progress.

Only the papermill logs (``build/<preset>/<notebook>.log``) are written in place: they are streamed while the
notebook runs so that one can follow them.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import psutil

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp(?:\.[A-Za-z0-9]+)?$")


def temporary_path(path: str | os.PathLike, suffix: str = "") -> Path:
    """A fresh hidden temporary name beside ``path`` (``suffix`` appended, for tools that check the
    extension, e.g. papermill's ``.ipynb``); the file itself is not created."""
    path = Path(path)
    if suffix and not re.fullmatch(r"\.[A-Za-z0-9]+", suffix):
        raise ValueError(f"suffix must be empty or a dot and letters or digits, got {suffix!r}")
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}")


def commit(temporary: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Flush ``temporary`` to disk and rename it over ``path`` (atomically: old or new, never partial)."""
    descriptor = os.open(temporary, os.O_RDONLY)
    try:
        os.fsync(descriptor)  # else a crash soon after the rename can leave an empty file under the new name
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
    return Path(path)


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path for a tool that writes by path; rename it over ``path`` when the block ends
    normally, remove it when the block raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path, suffix)
    try:
        yield temporary
        commit(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Yield an open file whose content replaces ``path`` when the block ends normally; if the block
    raises, ``path`` is left as it was and the temporary file is removed."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as temporary:
        # O_EXCL: never write through a file (or link) someone else put there; 0o666 minus the umask gives
        # the permissions a plain open() would, not mkstemp's private 0o600.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with open(descriptor, mode, encoding=encoding if "b" not in mode else None) as handle:
            yield handle


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path, "w", encoding=encoding) as handle:
        handle.write(text)
    return Path(path)


def pid_is_running(pid: int) -> bool:
    """Whether a process with this pid runs (it may belong to another user). A zombie does not: a killed kernel
    whose parent died too waits to be reaped by pid 1, which in a container may never do it."""
    if pid <= 0:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def remove_stale_temporaries(folder: str | os.PathLike, stopped: Collection[int] = ()) -> list[Path]:
    """Remove the temporary files in ``folder`` left by writers that no longer run, or that the caller has just
    ``stopped`` (their pids); return them. A temporary file of a live process is kept: it may be a write in
    progress."""
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = _TEMPORARY.match(entry.name)
        if match and entry.is_file() and (int(match["pid"]) in stopped or not pid_is_running(int(match["pid"]))):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return sorted(removed)
