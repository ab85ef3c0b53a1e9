"""The paper's figures: each runs in --quick mode and writes a PNG and CSV data that agree
with theory (rwinit.figures; Sussillo & Abbott, arXiv:1412.6558)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from rwinit import theory
from rwinit.cli import main
from rwinit.figures import FIGURES, Options, make
from rwinit.figures._common import read_csv

PAPER = [n for n, g in FIGURES.items() if g == "paper"]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick_out(tmp_path_factory) -> dict[str, list[Path]]:
    """One quick run of every paper figure, shared by the tests of this module."""
    out = tmp_path_factory.mktemp("paper_figures")
    return {name: make(name, out, Options(quick=True)) for name in PAPER}


def _floats(rows: list[dict], key: str) -> list[float]:
    return [float(r[key]) for r in rows]


@pytest.mark.parametrize("name", PAPER)
def test_writes_png_and_csv(quick_out, name):
    paths = quick_out[name]
    assert any(p.suffix == ".png" for p in paths)
    assert any(p.suffix == ".csv" for p in paths)
    for p in paths:
        assert p.exists() and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            assert len(read_csv(p)) > 0


def test_figure1_variance_matches_theory(quick_out):
    rows = read_csv(next(p for p in quick_out["figure1"] if p.name == "figure1_variance.csv"))
    for nl in ("linear", "relu"):
        pts = [r for r in rows if r["nonlinearity"] == nl]
        for r in pts[9::10]:
            expected = theory.walk_variance(nl, int(r["width"]), int(r["layers"]))
            assert float(r["theory_var"]) == pytest.approx(expected)
            assert abs(float(r["walk_var"]) - expected) < 4 * float(r["walk_var_se"])
            # at g* the walk has no drift
            assert abs(float(r["walk_mean"])) < 4 * float(r["walk_mean_se"])


def test_figure1_paths_start_at_zero(quick_out):
    rows = read_csv(next(p for p in quick_out["figure1"] if p.name == "figure1_paths.csv"))
    first = rows[0]
    assert first["layer"] == "0"
    assert all(float(v) == 0.0 for k, v in first.items() if k.startswith("path_"))


def test_figure2_exact_curve_is_theory(quick_out):
    rows = read_csv(next(p for p in quick_out["figure2"] if p.name == "figure2_curves.csv"))
    for r in rows:
        N = int(r["width"])
        assert float(r["linear_exact"]) == pytest.approx(theory.exact_gain("linear", N))
        assert float(r["relu_exact"]) == pytest.approx(theory.exact_gain("relu", N))
        assert float(r["relu_paper_formula"]) == pytest.approx(theory.paper_relu_gain(N))
    widths = [int(r["width"]) for r in rows]
    assert widths[0] == 2 and widths == sorted(set(widths))


def test_figure2_simulated_gains_agree_with_theory(quick_out):
    rows = read_csv(next(p for p in quick_out["figure2"] if p.name == "figure2_gain.csv"))
    checked = 0
    for r in rows:
        exact_case = r["nonlinearity"] == "linear" or r["series"] == "simulation, paper model"
        if not exact_case:
            continue
        g, se = float(r["g"]), float(r["se"])
        exact = theory.exact_gain(r["nonlinearity"], int(r["width"]))
        assert float(r["exact"]) == pytest.approx(exact)
        assert se > 0 and abs(g - exact) < 4 * se, (r["nonlinearity"], r["width"], g, exact)
        checked += 1
    assert checked >= 8


def test_figure2_growth_crosses_one_at_g_star(quick_out):
    rows = read_csv(next(p for p in quick_out["figure2"] if p.name == "figure2_growth.csv"))
    for nl in ("linear", "relu", "tanh"):
        pts = [r for r in rows if r["nonlinearity"] == nl]
        g_star = float(pts[0]["g_star_depth_D"])
        below = [float(r["log_ratio_mean"]) for r in pts if float(r["gain"]) < 0.95 * g_star]
        above = [float(r["log_ratio_mean"]) for r in pts if float(r["gain"]) > 1.05 * g_star]
        assert all(m < 0 for m in below) and all(m > 0 for m in above)


def test_training_figures_report_finite_errors(quick_out):
    for name, file in (("figure3", "figure3.csv"), ("figure4", "figure4_depth.csv")):
        rows = read_csv(next(p for p in quick_out[name] if p.name == file))
        errors = _floats(rows, "train_error")
        assert all(math.isfinite(e) and e >= 0 for e in errors)
    grads = read_csv(next(p for p in quick_out["stunt"] if p.name == "stunt_gradients.csv"))
    # 200 hidden layers plus the linear read-out: 201 weight matrices, one norm each.
    for nl in ("tanh", "relu"):
        assert sorted(int(r["layer"]) for r in grads if r["nonlinearity"] == nl) == list(
            range(1, 202))
    assert all(float(r["grad_norm_start"]) > 0 for r in grads)


def test_cli_lists_and_rejects(capsys):
    assert main(["figures", "--list"]) == 0
    assert "figure1" in capsys.readouterr().out
    assert main(["figures", "--only", "nope"]) == 2
    assert "unknown figure" in capsys.readouterr().err


def test_script_runs_alone(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "paper_figures" / "figure1.py"), "--quick", "--out",
         str(tmp_path)], capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "figure1.png").exists() and (tmp_path / "figure1_variance.csv").exists()
