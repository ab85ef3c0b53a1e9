"""The atomic writer every saved file goes through: all or nothing, no temporaries left."""

from __future__ import annotations

import os
import stat

import pytest

from rwinit.atomic import atomic_write, atomic_write_text


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "saved.txt"
    atomic_write_text(path, "old content\n")

    def half_then_fail(f):
        f.write(b"half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["saved.txt"]


def test_replacing_keeps_permissions_and_new_files_follow_the_umask(tmp_path):
    path = tmp_path / "saved.txt"
    atomic_write_text(path, "a")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    path.chmod(0o640)
    atomic_write_text(path, "b")
    assert path.read_text() == "b" and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_figure_and_history_writers_leave_no_temporaries(tmp_path):
    from rwinit.figures._common import figure, read_csv, save, write_csv

    rows = [{"a": 1, "b": float("nan")}, {"a": 2, "b": 0.5}]
    write_csv(tmp_path / "d.csv", rows)
    fig, _ = figure(1)
    save(fig, tmp_path / "f.png")
    assert read_csv(tmp_path / "d.csv") == [{"a": "1", "b": ""}, {"a": "2", "b": "0.5"}]
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "f.png"]


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporaries_carry_the_pid_and_stale_ones_of_the_same_target_are_removed(tmp_path):
    from rwinit.atomic import clean_stale_temporaries

    path = tmp_path / "t.csv"
    dead = _dead_pid()
    stale = tmp_path / f".t.csv.{dead}.abc123_x.tmp"
    live = tmp_path / f".t.csv.{os.getpid()}.def456.tmp"  # a running process's: kept
    other = tmp_path / f".u.csv.{dead}.abc123.tmp"  # another target's: kept
    for p in (stale, live, other):
        p.write_bytes(b"half")
    seen = []

    def write(f):
        seen.extend(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
        f.write(b"new")

    atomic_write(path, write)
    assert f".t.csv.{os.getpid()}." in " ".join(seen)  # the temporary names its owner
    assert not stale.exists() and live.exists() and other.exists()
    assert path.read_bytes() == b"new"
    assert clean_stale_temporaries(path) == []


def test_an_interrupt_during_a_write_removes_the_temporary(tmp_path):
    path = tmp_path / "t.json"

    def interrupted(f):
        f.write(b"{")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, interrupted)
    assert list(tmp_path.iterdir()) == []
