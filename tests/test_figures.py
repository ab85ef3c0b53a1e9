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


def test_figure4_gains_are_optimal_gain(quick_out):
    """Every network of Figure 4 starts at the depth-D g* of its own width: the
    network-model g* of the walk through its D − 1 hidden layers, same seed and samples."""
    import rwinit
    from rwinit.figures import figure4

    rows = read_csv(next(p for p in quick_out["figure4"] if p.name == "figure4_depth.csv"))
    s = figure4._settings(quick=True)
    checked = set()
    for r in rows:
        key = (r["nonlinearity"], int(r["width"]), int(r["depth"]))
        if key in checked:
            continue
        expected = rwinit.optimal_gain(key[0], key[1], key[2] - 1, model="network",
                                       samples=s["samples"], seed=0).g
        assert float(r["gain"]) == expected
        checked.add(key)
    assert len(checked) >= 4
    # one budget for every depth: the width is the budget's root and the weights fit it
    for r in rows:
        n_out = 10 if r["task"] == "classify" else 64
        assert int(r["width"]) == figure4.budget_width(int(r["depth"]), s["budget"], 64, n_out)
        assert abs(int(r["weights"]) - s["budget"]) < 0.25 * s["budget"]
    seeds = {(r["task"], r["nonlinearity"], r["depth"]): set() for r in rows}
    for r in rows:
        seeds[(r["task"], r["nonlinearity"], r["depth"])].add(r["seed"])
    assert all(len(v) == s["seeds"] for v in seeds.values())


def test_recipe_rates_decay_and_clipping():
    """Update of layer d at step k = −λ_out·r^(D−d)·γ^⌊k/steps⌋·g below the clip norm;
    above it the gradient is first scaled to global norm c (arXiv:1412.6558, §4)."""
    import numpy as np

    from rwinit.figures._training import Recipe

    lam_in, lam_out, d_max, gamma, steps, D = 0.2, 0.01, 6, 0.8, 3, 4
    recipe = Recipe(lr_out=lam_out, lr_in=lam_in, max_depth=d_max, decay=gamma, clip=1.0,
                    batch_size=8)
    r = (lam_in / lam_out) ** (1 / (d_max - 1))
    rates = lam_out * r ** (D - np.arange(1, D + 1))
    np.testing.assert_allclose(recipe.layer_rates(D), rates, rtol=1e-13)
    opt = recipe.optimizer(D, steps)
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((3, 3)) for _ in range(2 * D)]
    state = opt.init(params)
    for k in range(8):
        grads = [1e-3 * rng.standard_normal((3, 3)) for _ in range(2 * D)]  # below the clip
        updates, state = opt.update(grads, state, params)
        for i, (u, g) in enumerate(zip(updates, grads, strict=True)):
            expected = -rates[i // 2] * gamma ** (k // steps) * g
            np.testing.assert_allclose(u, expected, rtol=1e-12, atol=0)
    big = [10.0 * rng.standard_normal((3, 3)) for _ in range(2 * D)]
    updates, _ = opt.update(big, opt.init(params), params)
    unscaled = [u / -rates[i // 2] for i, u in enumerate(updates)]
    assert np.sqrt(sum(float((x * x).sum()) for x in unscaled)) == pytest.approx(1.0)


def test_figure4_stops_classifiers_only_at_zero_error(monkeypatch):
    """A classifier's job carries the early stop (0% for PATIENCE epochs), an autoencoder's
    none; the full figure's rate grids are the documented ones."""
    from rwinit.figures import figure4

    seen = {}

    def fake_train(data, nl, depth, width, gain, recipe, epochs, seed, task, stop=None):
        seen[task] = stop
        return {"errors": [1.0], "final_error": 1.0}

    monkeypatch.setattr(figure4, "train_recipe", fake_train)
    monkeypatch.delenv(figure4.CACHE_ENV, raising=False)
    base = {"nonlinearity": "tanh", "depth": 2, "width": 8, "gain": 1.0, "lr_out": 0.01,
            "max_depth": 2, "epochs": 3, "batch": 8, "seed": 0, "options": Options(quick=True)}
    figure4._job({**base, "task": "classify", "patience": figure4.PATIENCE})
    figure4._job({**base, "task": "autoencode", "patience": 0})
    assert seen["autoencode"] is None
    rule = seen["classify"]
    zeros = [{"epoch": e, "train_error": 0.0 if e else 0.9} for e in range(figure4.PATIENCE + 1)]
    assert rule(zeros[:-1]) == "" and rule(zeros) != ""
    assert rule([*zeros[:-1], {"epoch": figure4.PATIENCE, "train_error": 1e-3}]) == ""
    assert figure4._settings(quick=False)["lr_out"] == figure4.LR_OUT


def test_cli_input_checks_come_before_work(tmp_path, capsys, monkeypatch):
    import errno
    import tempfile

    assert main(["figures", "--list", "--only", "figure1"]) == 2
    assert "cannot be combined" in capsys.readouterr().err
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert main(["figures", "--only", "figure1", "--out", str(a_file)]) == 2
    err = capsys.readouterr().err
    assert "not a directory" in err and len(err.strip().splitlines()) == 1

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    out = tmp_path / "figs"
    assert main(["figures", "--only", "figure1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No space left" in err and len(err.strip().splitlines()) == 1
    assert list(out.iterdir()) == []  # nothing was made


def test_cli_prints_total_time(tmp_path, capsys):
    assert main(["figures", "--quick", "--only", "formula_error", "--out", str(tmp_path)]) == 0
    assert "1 figure made in" in capsys.readouterr().out
