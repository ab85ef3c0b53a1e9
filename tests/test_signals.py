"""Signals: SIGTERM/SIGINT sent to an rwinit process (not its group) end it within ~2 s
with status 143/130, finished rows kept and worker processes stopped; a SIGKILLed parent
leaves no worker behind (rwinit.signals)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rwinit.tables import GainTable

psutil = pytest.importorskip("psutil")

#: Seconds from the signal to the exit that the contract allows (about 2 s), plus slack
#: for a loaded test machine.
LIMIT = 3.0

GRID = ["-f", "tanh,relu", "-N", "16,32,64,128,256,512", "--samples", "256",
        "--seed", "3", "-q"]


def _rows_in(path) -> int:
    try:
        return len(GainTable.load(path))
    except Exception:  # not written yet
        return -1


def _start(tmp_path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rwinit", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(proc, out, n: int) -> None:
    deadline = time.monotonic() + 180
    while _rows_in(out) < n and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    assert _rows_in(out) >= n


def _alive(processes) -> list[int]:
    alive = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _gone_within(processes, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while _alive(processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _alive(processes)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    return left


@pytest.mark.parametrize("signum, status, workers", [
    (signal.SIGTERM, 143, "2"),
    (signal.SIGINT, 130, "0"),
])
def test_table_ends_promptly_on_a_signal_keeping_its_rows(tmp_path, signum, status, workers):
    out = tmp_path / "t.csv"
    proc = _start(tmp_path, "table", *GRID, "--workers", workers, "--out", "t.csv")
    _wait_for_rows(proc, out, 2)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= (2 if workers != "0" else 0)
    t0 = time.monotonic()
    proc.send_signal(signum)  # to the process alone, as `kill` does
    _, err = proc.communicate(timeout=30)
    seconds = time.monotonic() - t0
    assert proc.returncode == status, err
    assert seconds < LIMIT, f"took {seconds:.2f} s"
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"interrupted ({signal.Signals(signum).name})" in err
    kept = _rows_in(out)
    assert kept >= 2 and f"{kept} finished rows kept" in err
    assert _gone_within(children, 5) == []  # workers and resource tracker
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]  # no temporary, no lock


def test_workers_do_not_outlive_a_killed_parent(tmp_path):
    out = tmp_path / "t.csv"
    proc = _start(tmp_path, "table", *GRID, "--workers", "2", "--out", "t.csv")
    _wait_for_rows(proc, out, 1)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2
    proc.kill()
    proc.communicate(timeout=30)
    assert _gone_within(children, 5) == []
    assert _rows_in(out) >= 1  # what was saved is whole


def test_a_walk_in_progress_ends_promptly_on_sigterm(tmp_path):
    proc = _start(tmp_path, "gain", "-f", "tanh", "-N", "200", "--ci-halfwidth", "0.0002",
                  "-q")
    time.sleep(4)  # in the walk's Numba threads by now
    assert proc.poll() is None, proc.communicate()
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert time.monotonic() - t0 < LIMIT
    assert "Traceback" not in err


def test_exit_status_is_128_plus_the_signal():
    from rwinit import signals

    assert signals.exit_status(signals.Interrupted(signal.SIGTERM)) == 143
    assert signals.exit_status(signals.Interrupted(signal.SIGINT)) == 130
    assert isinstance(signals.Interrupted(signal.SIGTERM), KeyboardInterrupt)
