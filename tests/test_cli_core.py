"""The ``rwinit gain`` and ``rwinit walk`` commands, run as a user runs them.

Each test starts ``python -m rwinit`` in a subprocess and checks what a script reading
its output relies on: one JSON object, the documented keys, CSV columns, and for bad
input exit status 2 with exactly one line on stderr and no traceback.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from fresh_process import run_python

from rwinit import theory

GAIN_KEYS = {"nonlinearity", "width", "depth", "model", "weights", "g", "se", "ci_low",
             "ci_high", "method", "samples", "seconds"}


def rwinit_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rwinit", *args], capture_output=True,
                          text=True, timeout=120)


def test_whole_numbers_written_as_floats_are_accepted():
    p = rwinit_cli("gain", "-f", "linear", "-N", "1e1", "-D", "20.0", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert (out["width"], out["depth"]) == (10, 20)


def test_gain_json_exact():
    p = rwinit_cli("gain", "-f", "linear", "-N", "10", "--json")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert GAIN_KEYS <= set(out)
    assert out["depth"] is None  # stationary variant
    assert out["method"] == "exact" and out["se"] == 0
    assert out["g"] == pytest.approx(theory.exact_gain("linear", 10), rel=1e-15)
    assert out["ci_low"] == out["g"] == out["ci_high"]
    assert (out["nonlinearity"], out["width"], out["model"], out["weights"]) == (
        "linear", 10, "network", "gaussian")


def test_gain_json_monte_carlo():
    p = rwinit_cli("gain", "-f", "relu", "-N", "12", "-D", "5", "--samples", "200",
                   "--model", "paper", "--method", "homogeneous", "--json", "-q")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)  # exactly one JSON document, nothing else on stdout
    assert GAIN_KEYS <= set(out)
    assert out["depth"] == 5 and out["samples"] == 200 and out["method"] == "homogeneous"
    assert out["se"] > 0 and out["ci_low"] < out["g"] < out["ci_high"]
    assert abs(out["g"] - theory.exact_gain("relu", 12)) < 5 * out["se"]


def test_gain_text():
    p = rwinit_cli("gain", "-f", "relu", "-N", "10", "--model", "paper")
    assert p.returncode == 0, p.stderr
    assert f"{theory.exact_gain('relu', 10):.6f}" in p.stdout
    assert "method exact" in p.stdout


def test_walk_outputs():
    base = ("walk", "-f", "tanh", "-N", "8", "-D", "6", "-g", "1.1", "-M", "64", "-q",
            "--seed", "3")
    as_json = rwinit_cli(*base, "--format", "json")
    as_csv = rwinit_cli(*base, "--format", "csv")
    table = rwinit_cli(*base)
    for p in (as_json, as_csv, table):
        assert p.returncode == 0, p.stderr
    out = json.loads(as_json.stdout)
    assert out["depth"] == 6 and out["samples"] == 64 and len(out["log_z_mean"]) == 6
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [int(r["layer"]) for r in rows] == list(range(1, 7))
    assert set(rows[0]) >= {"log_z_mean", "log_z_mean_se", "walk_mean", "walk_var"}
    # the formats report the same numbers
    for r, m in zip(rows, out["log_z_mean"], strict=True):
        assert float(r["log_z_mean"]) == pytest.approx(m, rel=1e-12)
    assert f"{out['drift']:+.5f}" in table.stdout
    assert len([ln for ln in table.stdout.splitlines() if not ln.startswith("#")]) == 1 + 6
    assert json.loads(rwinit_cli(*base, "--json").stdout) | {"seconds": 0} == out | {
        "seconds": 0}


BAD_INPUTS = {
    "unknown nonlinearity": ("gain", "-f", "nope", "-N", "10"),
    "width 0": ("gain", "-f", "tanh", "-N", "0"),
    "depth 0": ("walk", "-f", "tanh", "-N", "10", "-D", "0", "-g", "1"),
    "samples 1": ("gain", "-f", "tanh", "-N", "10", "--samples", "1"),
    "gain 0": ("walk", "-f", "tanh", "-N", "10", "-D", "3", "-g", "0"),
    "gain -1": ("walk", "-f", "tanh", "-N", "10", "-D", "3", "-g", "-1"),
    "gain nan": ("walk", "-f", "tanh", "-N", "10", "-D", "3", "-g", "nan"),
    "gain inf": ("walk", "-f", "tanh", "-N", "10", "-D", "3", "-g", "inf"),
    "unknown weights": ("walk", "-f", "tanh", "-N", "10", "-D", "3", "-g", "1",
                        "--weights", "cauchy"),
    "unknown model": ("gain", "-f", "tanh", "-N", "10", "--model", "exact"),
    "width not a number": ("gain", "-f", "tanh", "-N", "ten"),
    "walk width 0": ("walk", "-f", "tanh", "-N", "0", "-D", "3", "-g", "1"),
    "walk samples 1": ("walk", "-f", "tanh", "-N", "10", "-D", "3", "-g", "1", "-M", "1"),
}


@pytest.fixture(scope="module")
def bad_input_runs():
    """Run every bad command once, two at a time (each start-up is about a second)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(BAD_INPUTS, pool.map(lambda a: rwinit_cli(*a), BAD_INPUTS.values()),
                        strict=True))


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(case, bad_input_runs):
    p = bad_input_runs[case]
    assert p.returncode == 2, (case, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip("\n").splitlines()
    assert len(lines) == 1, p.stderr
    assert "error" in lines[0]
    assert p.stdout == ""


def test_bad_input_messages_name_the_problem(bad_input_runs):
    assert "known: linear, relu" in bad_input_runs["unknown nonlinearity"].stderr
    assert "width" in bad_input_runs["width 0"].stderr
    assert "gaussian" in bad_input_runs["unknown weights"].stderr
    assert "paper, network" in bad_input_runs["unknown model"].stderr
    for case in ("gain 0", "gain -1", "gain nan", "gain inf"):
        assert "gain" in bad_input_runs[case].stderr


def test_json_never_prints_nan():
    """Dead walks leave NaN in SEs; JSON must carry null, not the invalid token NaN.

    Half the ReLU walks at N = 1 die per layer: of 40 samples over 4 layers a few survive
    (too few in some chunks for a batch-means SE), so some SEs are NaN.
    """
    p = rwinit_cli("walk", "-f", "relu", "-N", "1", "-D", "4", "-g", "1", "-M", "40", "-q",
                   "--json")
    assert p.returncode == 0, p.stderr
    assert "NaN" not in p.stdout and "Infinity" not in p.stdout
    out = json.loads(p.stdout)
    assert out["dead"] + out["samples_used"] == 40
    assert out["samples_used"] >= 2
    assert all(v is None or math.isfinite(v) for v in out["log_z_mean"])
    assert any(v is None for v in out["walk_var_se"] + out["log_z_var_se"])


def test_walk_where_every_sample_dies_is_refused_not_a_nan_table():
    """No statistics exist when fewer than two walks survive: one line, exit 2, no table."""
    p = rwinit_cli("walk", "-f", "relu", "-N", "1", "-D", "4", "-g", "1", "-M", "2", "-q",
                   "--json")
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.strip() == ("rwinit walk: error: only 0 of 2 walks survived (2 died, "
                                "0 overflowed) at g=1: no statistics; use a larger width, a "
                                "smaller depth or another gain")


def test_help_shows_every_default():
    """Every option of every sub-command whose default says something (not None, not a
    flag's False) shows it in --help (issue 11)."""
    import argparse

    from rwinit.cli import build_parser
    from rwinit.cli._common import DefaultsHelpFormatter

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    checked = 0
    for name, command in sub.choices.items():
        formatter = command._get_formatter()
        assert isinstance(formatter, DefaultsHelpFormatter), name
        for action in command._actions:
            if DefaultsHelpFormatter._says_something(action):
                text = formatter._format_action(action)
                assert "default" in text.lower(), (name, action.option_strings, text)
                checked += 1
    assert checked >= 30
    gain_help = " ".join(sub.choices["gain"].format_help().split())
    assert "(default: network)" in gain_help and "(default: gaussian)" in gain_help


def test_console_run_exempts_its_objects_from_the_exit_collection():
    """The console script freezes the collector before its process exits (the exit's
    collection would walk Numba's object graph); a caller of main(argv) keeps its own."""
    import gc

    from rwinit.cli import main

    code = ("import gc, sys; from rwinit.cli import main; "
            "sys.argv = ['rwinit', 'gain', '-f', 'linear', '-N', '10', '--json']; "
            "status = main(); print(status, gc.get_freeze_count() > 0, file=sys.stderr)")
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    assert p.stderr.split() == ["0", "True"]
    assert json.loads(p.stdout)["method"] == "exact"  # the output is complete

    before = gc.get_freeze_count()
    assert main(["gain", "-f", "linear", "-N", "10", "--json"]) == 0
    assert gc.get_freeze_count() == before
