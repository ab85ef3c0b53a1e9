"""One writer per table file, arguments checked before any file exists, rows never lost.

The failing case of the fault-injection pass: a second ``rwinit table --resume`` on the
file a first run is writing exited 0 and none of its rows survived; two fresh starts could
both "win". Now the second writer is refused at once (exit 2, one line), exactly one of
two simultaneous fresh starts proceeds, and ``--resume`` keeps every row of the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import time

import pytest

from rwinit.cli import main
from rwinit.errors import RwinitError
from rwinit.tables import GainTable
from rwinit.tables.grid import make_grid
from rwinit.tables.lock import TableLock, TableLockedError, lock_path
from rwinit.tables.run import build_table

FAST = ["--samples", "64", "--seed", "11", "-q"]


def _cli(*args: str, cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rwinit", "table", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _one_line(err: str) -> bool:
    return err.count("\n") == 1 and "Traceback" not in err


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path, capsys):
    out = tmp_path / "c.csv"
    with TableLock(out) as lock:
        assert lock.held and lock_path(out).read_text().strip() == str(os.getpid())
        # another open file description conflicts, even in this process
        with pytest.raises(TableLockedError, match=f"process {os.getpid()}"):
            TableLock(out).acquire()
        code = main(["table", "-f", "linear", "-N", "4", "--workers", "0", *FAST,
                     "--resume", "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and "is being written by process" in err and _one_line(err)
        assert not out.exists()
    assert not lock_path(out).exists()  # released and removed
    with TableLock(out):  # and free again
        pass


def test_concurrent_resume_is_refused_and_rows_of_both_runs_survive(tmp_path):
    slow = ["--samples", "1024", "--seed", "11", "-q", "--workers", "0", "--out", "c.csv"]
    first = _cli("-f", "tanh,relu", "-N", "16,32,64", *slow, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not (tmp_path / "c.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, first.communicate()
    second = _cli("-f", "linear", "-N", "16", *slow, "--resume", cwd=tmp_path)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2 and "is being written by process" in err, err
    assert _one_line(err)
    assert first.wait(timeout=300) == 0, first.communicate()
    # after the first run, the same resume merges its rows into the file
    again = _cli("-f", "linear", "-N", "16", *slow, "--resume", cwd=tmp_path)
    assert again.wait(timeout=300) == 0, again.communicate()
    table = GainTable.load(tmp_path / "c.csv")
    assert sorted(table.nonlinearities()) == ["linear", "relu", "tanh"]
    assert len(table) == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv"]


def test_of_two_simultaneous_fresh_starts_exactly_one_wins(tmp_path):
    for trial in range(3):
        out = f"t{trial}.csv"
        procs = [_cli("-f", "linear", "-N", "4,8", "--workers", "0", *FAST, "--out", out,
                      cwd=tmp_path) for _ in range(2)]
        results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 2], results
        loser = next(err for code, err in results if code == 2)
        assert ("is being written" in loser or "exists" in loser) and _one_line(loser)
        assert len(GainTable.load(tmp_path / out)) == 2


def test_resume_keeps_rows_outside_its_grid(tmp_path):
    out = tmp_path / "t.json"
    a = build_table(make_grid("tanh,relu", "16"), out, seed=3, samples=64, workers=0)
    b = build_table(make_grid("linear", "16,32"), out, seed=3, samples=64, workers=0,
                    resume=True)
    assert len(b) == 4 and all(row in b.rows for row in a.rows)


@pytest.mark.parametrize("bad, message", [
    (["--seed", "-1"], "seed must be a whole number >= 0"),
    (["--workers", "-1"], "workers must be a whole number >= 0"),
    (["--samples", "1"], "samples must be a whole number between 2 and"),
    (["--ci-halfwidth", "0"], "ci_halfwidth must be a finite number > 0"),
    (["--threads", "0"], "threads must be a whole number >= 1"),
    (["--scheduler", "notanaddress"], "is not of the form [tcp://]HOST:PORT"),
    (["--scheduler", "tcp://127.0.0.1:1"], "cannot connect to Dask scheduler"),
    (["--scheduler", "127.0.0.1:8786", "--worker-wait", "0"], "worker_wait must be"),
])
def test_bad_arguments_are_refused_before_any_file_is_created(tmp_path, capsys, bad,
                                                              message):
    t0 = time.perf_counter()
    code = main(["table", "-f", "linear", "-N", "4", "-q", "--out", str(tmp_path / "t.csv"),
                 *bad])
    err = capsys.readouterr().err
    assert code == 2 and message in err and _one_line(err), err
    assert time.perf_counter() - t0 < 10
    assert list(tmp_path.iterdir()) == []


def test_a_refused_or_out_of_memory_row_becomes_a_failed_row(tmp_path, monkeypatch):
    import rwinit.tables.run as run

    real = run.optimal_gain

    def refusing(nl, width, *args, **kwargs):
        if width == 8:
            raise RwinitError("the walk would need 9 GiB (limit 4 GiB)")
        if width == 16:
            raise MemoryError
        return real(nl, width, *args, **kwargs)

    monkeypatch.setattr(run, "optimal_gain", refusing)
    table = build_table(make_grid("linear", "4,8,16"), tmp_path / "t.csv", samples=64,
                        workers=0)
    status = {r["width"]: (r["status"], r["message"]) for r in table.rows}
    assert status[4][0] == "ok"
    assert status[8] == ("failed", "the walk would need 9 GiB (limit 4 GiB)")
    assert status[16] == ("failed", "out of memory")


def test_a_full_disk_stops_the_run_keeping_the_saved_rows(tmp_path, monkeypatch, capsys):
    import rwinit.tables.table as table_module

    real = table_module.write_table
    calls = []

    def filling(path, rows, provenance):
        calls.append(len(rows))
        if len(calls) > 3:  # the empty table and two rows fit, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, rows, provenance)

    monkeypatch.setattr(table_module, "write_table", filling)
    out = tmp_path / "t.csv"
    code = main(["table", "-f", "linear", "-N", "4,8,16,32", "--workers", "0", *FAST,
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and _one_line(err), err
    assert "No space left on device" in err and "keeps the 2 rows" in err
    assert len(GainTable.load(out)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_a_dask_cluster_without_workers_is_one_line_after_the_wait(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp://",
                                  host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        t0 = time.perf_counter()
        code = main(["table", "-f", "linear", "-N", "4", "-q", "--out",
                     str(tmp_path / "t.csv"), "--scheduler", cluster.scheduler_address,
                     "--worker-wait", "1"])
        seconds = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert code == 2 and "has no workers after 1 s" in err and _one_line(err), err
    assert seconds < 15
    assert list(tmp_path.iterdir()) == []


def test_a_scheduler_that_dies_mid_run_is_one_line_and_keeps_the_rows(tmp_path):
    pytest.importorskip("distributed")
    import json

    import psutil

    dask_dir, run_dir = tmp_path / "dask", tmp_path / "run"
    dask_dir.mkdir()
    run_dir.mkdir()
    info = dask_dir / "scheduler.json"
    common = ["--host", "127.0.0.1", "--no-dashboard"]
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", *common, "--port", "0",
         "--scheduler-file", str(info)], cwd=dask_dir, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    procs = [scheduler]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, *common,
             "--nthreads", "1", "--no-nanny"], cwd=dask_dir, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True))
        run = _cli("-f", "tanh,softplus", "-N", "16,32,64,128,256", "--samples", "256",
                   "-q", "--scheduler", address, "--out", "d.csv", cwd=run_dir)
        procs.append(run)
        out = run_dir / "d.csv"
        while len(GainTable.load(out)) < 2 if out.exists() else True:
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline + 120
            time.sleep(0.1)
        scheduler.kill()
        _, err = run.communicate(timeout=90)
        assert run.returncode == 2 and _one_line(err), err
        assert "lost the Dask scheduler" in err and "finished rows are kept" in err
        assert len(GainTable.load(out)) >= 2
    finally:
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
                for child in psutil.Process(p.pid).children(recursive=True):
                    child.kill()
                p.kill()
            p.wait(timeout=30)


def test_a_killed_writers_lock_file_and_temporaries_do_not_block_or_linger(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "t.csv"
    lock_path(out).write_text(f"{dead.pid}\n")  # left by a SIGKILLed run: no flock held
    stale = tmp_path / f".t.csv.{dead.pid}.k1ll3d.tmp"  # its half-written temporary
    stale.write_text("# rwinit.gain-table {")
    table = build_table(make_grid("linear", "4"), out, samples=64, workers=0)
    assert len(table) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_a_service_that_is_not_a_dask_scheduler_is_one_line(tmp_path, capsys):
    pytest.importorskip("distributed")
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:  # an HTTP server, say
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                with conn:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)
                    time.sleep(0.2)

    threading.Thread(target=answer, daemon=True).start()
    try:
        t0 = time.perf_counter()
        code = main(["table", "-f", "linear", "-N", "4", "-q", "--out", str(tmp_path / "t.csv"),
                     "--scheduler", f"127.0.0.1:{port}"])
        seconds = time.perf_counter() - t0
    finally:
        server.close()
    err = capsys.readouterr().err
    assert code == 2 and "no Dask scheduler answers there" in err and _one_line(err), err
    assert seconds < 15 and list(tmp_path.iterdir()) == []
