"""rwinit.progress: bars appear for slow work only, and before a long first step ends."""

from __future__ import annotations

import time

from fresh_process import run_python

from rwinit import progress
from rwinit.progress import progress_bar


def test_quick_work_prints_nothing(capsys):
    with progress_bar(3, "quick") as bar:
        bar.update(3)
    assert capsys.readouterr().err == ""


def test_a_long_first_step_shows_the_bar_while_it_runs(capsys, monkeypatch):
    monkeypatch.setattr(progress, "PROGRESS_DELAY", 0.05)
    monkeypatch.setattr(progress, "PROGRESS_TICK", 0.05)
    with progress_bar(2, "long steps") as bar:
        time.sleep(0.6)  # one step that outlasts the delay, nothing updated yet
        during = capsys.readouterr().err
        bar.update(2)
    assert "long steps" in during and "0/2" in during


def test_a_disabled_bar_prints_nothing_even_when_slow(capsys, monkeypatch):
    monkeypatch.setattr(progress, "PROGRESS_DELAY", 0.01)
    with progress_bar(1, "off", enabled=False) as bar:
        time.sleep(0.1)
        bar.update(1)
    assert capsys.readouterr().err == ""


def test_a_quiet_run_does_not_import_tqdm():
    """A walk and a solve without progress never touch tqdm (its import is start-up time
    a quiet command need not pay); a bar that is shown does."""
    code = ("import sys, rwinit; "
            "rwinit.optimal_gain('tanh', 16, 6, samples=64, progress=False); "
            "quiet = 'tqdm' in sys.modules; "
            "from rwinit.progress import progress_bar\n"
            "with progress_bar(1, 'on') as bar: bar.update(1)\n"
            "print(quiet, 'tqdm' in sys.modules)")
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["False", "True"]
