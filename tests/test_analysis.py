"""The studies beyond the paper: each runs in --quick mode and writes a CSV table and a
PNG whose data agree with theory where theory exists (rwinit.figures)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rwinit import theory
from rwinit.cli import main
from rwinit.figures import FIGURES, Options, make
from rwinit.figures._common import read_csv

ANALYSES = [n for n, g in FIGURES.items() if g == "analysis"]


@pytest.fixture(scope="module")
def quick_out(tmp_path_factory) -> dict[str, list[Path]]:
    """One quick run of every analysis, shared by the tests of this module."""
    out = tmp_path_factory.mktemp("analysis")
    return {name: make(name, out, Options(quick=True)) for name in ANALYSES}


def _rows(paths: list[Path], name: str) -> list[dict]:
    return read_csv(next(p for p in paths if p.name == name))


@pytest.mark.parametrize("name", ANALYSES)
def test_writes_png_and_csv(quick_out, name):
    paths = quick_out[name]
    assert (Path(paths[0]).parent / f"{name}.png").exists()
    assert (Path(paths[0]).parent / f"{name}.csv").exists()
    assert len(_rows(paths, f"{name}.csv")) > 0


def test_formula_error_is_theory(quick_out):
    rows = _rows(quick_out["formula_error"], "formula_error.csv")
    for r in rows[::40]:
        N = int(r["width"])
        exact, approx = theory.exact_gain("relu", N), theory.paper_relu_gain(N)
        assert float(r["relu_relative_error"]) == pytest.approx((approx - exact) / exact)
    big = [r for r in rows if int(r["width"]) >= 1000]
    for r in big:  # the linear formula's error tends to −1/(6N²)
        assert float(r["linear_relative_error"]) == pytest.approx(
            float(r["linear_asymptote"]), rel=0.01)


def test_walk_variance_matches_theory(quick_out):
    rows = _rows(quick_out["walk_variance"], "walk_variance.csv")
    exact = [r for r in rows if r["model"] == "paper"]
    assert exact
    for r in exact:
        expected = theory.log_z_var(r["nonlinearity"], int(r["width"]))
        assert float(r["theory"]) == pytest.approx(expected)
        assert abs(float(r["var_log_z"]) - expected) < 4 * float(r["var_log_z_se"])


def test_model_gap_is_zero_for_linear(quick_out):
    rows = _rows(quick_out["model_gap"], "model_gap.csv")
    for r in rows:
        if r["nonlinearity"] == "linear":
            assert float(r["relative_gap"]) == 0.0
        else:
            assert math.isfinite(float(r["relative_gap"]))


def test_mean_field_reference(quick_out):
    rows = _rows(quick_out["mean_field"], "mean_field.csv")
    for r in rows:
        assert float(r["g_mean_field"]) == pytest.approx(theory.mean_field_gain(r["nonlinearity"]))
        if r["nonlinearity"] in ("linear", "relu"):
            assert float(r["excess"]) > 0  # E ln z < ln E z: finite-N g* is above


def test_correlation_measured_agrees_with_map(quick_out):
    """The figure's data: at its largest width the measured mean 1 − cos of tanh and ReLU
    is the infinite-width map's within 5 SE at every layer; the map column is the map."""
    import numpy as np

    import rwinit
    from rwinit import correlation
    from rwinit.figures import Options
    from rwinit.figures.correlation import inputs

    rows = _rows(quick_out["correlation"], "correlation.csv")
    widest = max(int(r["width"]) for r in rows)
    x1, x2 = inputs(Options(quick=True))
    for nl in ("tanh", "relu"):
        pts = [r for r in rows if r["nonlinearity"] == nl and int(r["width"]) == widest]
        assert len(pts) >= 20
        for r in pts:
            assert abs(float(r["measured"]) - float(r["map"])) < 5 * float(r["measured_se"])
        g = float(pts[0]["gain"])
        assert g == pytest.approx(rwinit.gain(nl, widest).g)
        expected = correlation.correlation_map(nl, x1, x2, g, len(pts)).one_minus_c
        np.testing.assert_allclose([float(r["map"]) for r in pts], expected, rtol=1e-12)
    sweep = _rows(quick_out["correlation"], "correlation_sweep.csv")
    relu = [r for r in sweep if r["nonlinearity"] == "relu" and float(r["bias_std"]) == 0]
    # with zero biases the ReLU map does not depend on g (homogeneity)
    assert max(float(r["map"]) for r in relu) == pytest.approx(min(float(r["map"]) for r in relu))


def test_orthogonal_linear_gain_is_one(quick_out):
    rows = _rows(quick_out["weight_distributions"], "weight_distributions.csv")
    (r,) = [r for r in rows if r["nonlinearity"] == "linear" and r["weights"] == "orthogonal"]
    assert float(r["g_star"]) == pytest.approx(1.0, abs=1e-9)
    assert {r["weights"] for r in rows} >= {"gaussian", "uniform", "orthogonal", "sparse"}


def test_cli_runs_one_analysis(tmp_path, capsys):
    assert main(["figures", "--quick", "--only", "formula_error", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "formula_error.png").exists()
