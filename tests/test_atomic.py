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
