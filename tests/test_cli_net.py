"""``rwinit net``: a whole MLP from the command line, as a user types it."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rwinit.cli import main


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    # answers in a fresh folder; the compiled walk kernels stay in the user's cache
    # (RWINIT_CACHE_DIR would move them too, and every test would recompile them)
    from rwinit import cache

    monkeypatch.setattr(cache, "cache_dir", lambda: tmp_path / "cache")


def run_json(capsys, *args):
    assert main(["net", *args, "--json", "-q"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    return json.loads(out[0])


def test_spec_and_widths_activations_give_the_same_answer(capsys):
    a = run_json(capsys, "6-tanh-20x2-linear-3", "--per-layer", "--samples", "300",
                 "--no-report")
    b = run_json(capsys, "--widths", "6,20,20,3", "--activations", "tanh,tanh,linear",
                 "--per-layer", "--samples", "300", "--no-report")
    assert a["layer_gains"] == b["layer_gains"] and len(a["layer_gains"]) == 3
    assert a["network"]["spec"] == "6-tanh-20x2-linear-3" and a["method"] == "per-layer"
    assert a["layer_methods"][-1] == "exact" and a["report"] is None
    for g, lo, hi, std, n in zip(a["layer_gains"], a["layer_ci_low"], a["layer_ci_high"],
                                 a["layer_stds"], (6, 20, 20), strict=True):
        assert lo <= g <= hi and std == pytest.approx(g / math.sqrt(n))


def test_text_output_has_gains_cis_spread_and_the_report(capsys, tmp_path):
    plot = tmp_path / "walk.png"
    assert main(["net", "8-relu-16x2-linear-4", "--samples", "200", "--report-samples",
                 "100", "--plot", str(plot), "-q"]) == 0
    out = capsys.readouterr().out
    assert "multiplier g =" in out and "read-out (linear): its exact gain" in out
    assert "sd ln z_d" in out and "E ln(|δ_d|/|δ_D|)" in out
    for scheme in ("rwinit", "pytorch", "he", "glorot", "lecun"):
        assert scheme in out
    assert plot.read_bytes()[:4] == b"\x89PNG"
    # the second run is answered from the cache
    assert main(["net", "8-relu-16x2-linear-4", "--samples", "200", "--report-samples",
                 "100", "-q"]) == 0
    assert "(200 samples, seed 0; cache)" in capsys.readouterr().out


def test_a_network_without_a_driftless_gain_gets_the_largest_drift_and_a_warning(capsys):
    # a 5-unit tanh read-out: no multiplier makes the walk driftless
    assert main(["net", "20-tanh-20-tanh-5", "--samples", "256", "--no-report", "-q"]) == 0
    captured = capsys.readouterr()
    assert "(no driftless gain: the gain of largest drift, no CI)" in captured.out
    assert captured.out.count("max-drift") == 2
    assert "warning: no gain makes this network driftless" in captured.out
    assert "Warning" not in captured.err  # said once, in the text, not as a Python warning


def test_input_batch_and_per_layer_bias(capsys, tmp_path):
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 4))
    np.save(tmp_path / "x.npy", x)
    out = run_json(capsys, "4-tanh-10-linear-2", "--per-layer", "--samples", "200",
                   "--no-report", "--input-batch", str(tmp_path / "x.npy"),
                   "--bias-std", "0.1,0")
    assert out["network"]["input_mean"] == pytest.approx(list(x.mean(0)))
    assert out["network"]["bias_std"] == [0.1, 0.0]


def test_custom_nonlinearity_from_an_importable_module(capsys, tmp_path, monkeypatch):
    (tmp_path / "my_acts_cli.py").write_text(textwrap.dedent("""
        def softsign(x, p):
            return x / (1.0 + abs(x))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    out = run_json(capsys, "--widths", "64,64,2", "--activations",
                   "my_acts_cli:softsign,linear", "--per-layer", "--samples", "200",
                   "--no-report")
    assert out["network"]["nonlinearities"] == ["my_acts_cli:softsign", "linear"]
    # softsign' <= 1 shrinks |δ|: its gain is a root above the linear layer's
    assert out["layer_methods"] == ["root", "exact"]
    assert out["layer_gains"][0] > out["layer_gains"][1] > 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["8-rleu-4"], "unknown nonlinearity 'rleu'"),
        (["8-relu-4", "--widths", "8,4"], "either as SPEC or as --widths"),
        ([], "give the network as SPEC"),
        (["--widths", "8,4,2", "--activations", "relu"], "need 2 nonlinearities"),
        (["--widths", "8,x", "--activations", "relu"], "comma-separated whole numbers"),
        (["8-relu-4", "--bias-std", "a"], "--bias-std must be a number"),
        (["8-relu-4", "--plot", "x.png", "--no-report"], "--plot needs the report"),
        (["8-relu-4", "--input-batch", "/nonexistent.npy"], "no such file"),
        (["8-nosuchmod_q:f-4"], "cannot import module"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    assert main(["net", *args, "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_console_script_exit_status_and_no_traceback(tmp_path):
    p = subprocess.run([sys.executable, "-m", "rwinit", "net", "784-relu-512-0"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
