"""Atomic writes: a reader sees the old file or the new one, never a partial one, and no stray temporary."""

import os
import signal
import subprocess
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from normprop.repro import files, plotting
from normprop.repro import records as results


def visible(folder):
    """What a reader globbing the folder for real files sees."""
    return sorted(path.name for path in folder.glob("[!.]*"))


def test_write_replaces_the_file_with_normal_permissions(tmp_path):
    path = tmp_path / "report.json"
    files.write_text_atomic(path, "old\n")
    files.write_text_atomic(path, "new\n")
    files.write_bytes_atomic(tmp_path / "blob.bin", b"\x00\x01")
    assert path.read_text() == "new\n" and (tmp_path / "blob.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin", "report.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would, not mkstemp's 0o600


def test_a_writer_that_raises_half_way_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "figure.png"
    path.write_bytes(b"old figure")
    with pytest.raises(RuntimeError, match="disk full"), files.atomic_write(path) as handle:
        handle.write(b"half of a new fig")
        raise RuntimeError("disk full")
    assert path.read_bytes() == b"old figure"
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]


def test_save_figure_that_fails_mid_save_keeps_the_old_figure(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    png, pdf = plotting.save_figure(fig, "demo", "quick")
    before = png.read_bytes(), pdf.read_bytes()

    def broken_savefig(handle, **kwargs):
        handle.write(b"\x89PNG half")
        raise OSError("killed mid-save")

    monkeypatch.setattr(fig, "savefig", broken_savefig)
    with pytest.raises(OSError, match="mid-save"):
        plotting.save_figure(fig, "demo", "quick")
    assert (png.read_bytes(), pdf.read_bytes()) == before
    assert sorted(p.name for p in png.parent.iterdir()) == ["demo.pdf", "demo.png"]
    plt.close("all")


WRITER = textwrap.dedent(
    """
    import sys
    from normprop.repro.files import atomic_write
    with atomic_write(sys.argv[1]) as handle:
        handle.write(b"n" * 5_000_000)
        handle.flush()
        print("half written", flush=True)
        sys.stdin.read()  # hold the write open until killed
    """
)


def test_a_writer_killed_mid_write_leaves_the_old_file_and_its_leftover_is_cleaned(tmp_path):
    path = tmp_path / "01_orthogonality.json"
    path.write_text('{"verdict": "old"}\n')
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline() == "half written\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)
    assert path.read_text() == '{"verdict": "old"}\n'
    assert visible(tmp_path) == ["01_orthogonality.json"]  # the leftover is hidden from globs
    (leftover,) = [p for p in tmp_path.iterdir() if p != path]
    assert leftover.name.startswith(".01_orthogonality.json.") and leftover.name.endswith(".tmp")

    live = files.temporary_path(tmp_path / "other.json")  # this process's: a write in progress
    live.write_text("in progress")
    assert files.remove_stale_temporaries(tmp_path) == [leftover]
    assert sorted(tmp_path.iterdir()) == sorted([path, live])


def test_records_are_written_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    results.ClaimRun("01", "quick").record({"ok": True}, {})

    def fail(*args, **kwargs):
        raise OSError("no space left")

    monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises(OSError, match="no space"):
        results.ClaimRun("01", "quick").record({"ok": False}, {})
    assert results.read_record("01", "quick")["verdict"] == "reproduced"
    assert [p.name for p in (tmp_path / "quick").iterdir()] == ["01_orthogonality.json"]


def test_bad_arguments_are_one_line_value_errors(tmp_path):
    with pytest.raises(ValueError, match="mode must be"), files.atomic_write(tmp_path / "x", "a"):
        pass
    with pytest.raises(ValueError, match="suffix must be"):
        files.temporary_path(tmp_path / "x", "ipynb")
