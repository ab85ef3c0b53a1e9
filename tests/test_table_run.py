"""Building tables: killed runs resume without losing or repeating rows, and the
table does not depend on the executor (in-process, process pool, Dask)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rwinit.cli import main
from rwinit.tables import GainTable
from rwinit.tables.grid import make_grid
from rwinit.tables.run import build_table, table_rows_equal

#: A grid of quick rows (one Monte Carlo pass each: leaky ReLU is homogeneous).
KILL_ARGS = ["-f", "leaky_relu", "-N", "32:256:log6", "--model", "both", "--samples", "1536",
             "--seed", "7"]


def _cli(*args: str, cwd=None, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rwinit", "table", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, **kw)


def _rows_in(path) -> int:
    try:
        return len(GainTable.load(path))
    except Exception:  # not written yet
        return -1


def test_killed_run_resumes_without_loss_or_repeats(tmp_path):
    out = tmp_path / "t.csv"
    grid = make_grid("leaky_relu", "32:256:log6", models="both")
    proc = _cli(*KILL_ARGS, "--workers", "0", "--quiet", "--out", str(out))
    deadline = time.monotonic() + 120
    while _rows_in(out) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the group we started: the run and nothing else
    proc.wait()
    partial = GainTable.load(out)  # every write was atomic: the file is whole and valid
    assert 3 <= len(partial) < len(grid), "the run was not killed mid-way"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"] or all(
        p.name.startswith(".t.csv.") for p in tmp_path.iterdir() if p.name != "t.csv")

    resumed = _cli(*KILL_ARGS, "--workers", "0", "--quiet", "--resume", "--out", str(out))
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
    table = GainTable.load(out)
    assert len(table) == len(grid)
    keys = [(r["nonlinearity"], r["width"], r["depth"], r["model"]) for r in table.rows]
    assert len(set(keys)) == len(keys)
    # the rows finished before the kill were kept, not recomputed
    assert table_rows_equal(partial.rows, [r for r in table.rows if r in partial.rows],
                            ignore=())
    for row in partial.rows:
        assert row in table.rows
    assert "--resume" in " ".join(table.provenance["resumed"])

    whole = build_table(grid, tmp_path / "whole.json", seed=7, samples=1536, workers=0)
    assert table_rows_equal(table.rows, whole.rows)


def test_output_problems_are_reported_before_computing(tmp_path, capsys):
    for out, message in [(tmp_path / "no" / "t.csv", "does not exist"),
                         (tmp_path / "t.xlsx", "unknown table format"),
                         (tmp_path, "is a directory")]:
        t0 = time.perf_counter()
        assert main(["table", "-f", "tanh", "-N", "4096", "--out", str(out)]) == 2
        assert time.perf_counter() - t0 < 5
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_directory(tmp_path, capsys):  # pragma: no cover - CI runs as a user
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    assert main(["table", "-f", "tanh", "-N", "8", "--out", str(folder / "t.csv")]) == 2
    assert "cannot write table" in capsys.readouterr().err


def test_existing_file_needs_resume_or_overwrite_and_same_settings(tmp_path, capsys):
    out = tmp_path / "t.npz"
    args = ["table", "-f", "linear", "-N", "4,8", "--workers", "0", "-q", "--out", str(out)]
    assert main(args) == 0
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 0
    assert main([*args, "--resume", "--seed", "3"]) == 2
    assert "seed" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--seed", "3"]) == 0
    assert GainTable.load(out).provenance["settings"]["seed"] == 3


def test_dask_cluster_gives_the_same_table_as_the_process_pool(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = make_grid("tanh,relu", "12,24", models="network")
    settings = dict(seed=11, samples=64)
    pool = build_table(grid, tmp_path / "pool.csv", workers=2, threads=1, **settings)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        dask = build_table(grid, tmp_path / "dask.csv", scheduler=cluster.scheduler_address,
                           threads=1, **settings)
    inline = build_table(grid, tmp_path / "inline.csv", workers=0, **settings)
    assert all(r["status"] == "ok" for r in pool.rows)
    assert table_rows_equal(pool.rows, dask.rows)
    assert table_rows_equal(pool.rows, inline.rows)


def test_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("rwinit.tables.run.DASK_CONNECT_TIMEOUT", 1.0)
    code = main(["table", "-f", "linear", "-N", "4", "-q", "--out", str(tmp_path / "t.csv"),
                 "--scheduler", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot connect to Dask scheduler" in err
