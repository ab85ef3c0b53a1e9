"""Gains for a whole network: per-layer gains against exact theory and explicit matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from rwinit import theory
from rwinit.network import Network
from rwinit.network_gain import PER_LAYER_MAX_SAMPLES, network_gains
from rwinit.network_gain.per_layer import solve_per_layer


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    # answers in a fresh folder; the compiled walk kernels stay in the user's cache
    # (RWINIT_CACHE_DIR would move them too, and every test would recompile them)
    from rwinit import cache

    monkeypatch.setattr(cache, "cache_dir", lambda: tmp_path / "cache")


def linear_gain(n):
    """E ln z = 2 ln g + ψ(n/2) − ln(n/2) = 0 for a linear layer of fan-in n."""
    return math.exp(-0.5 * (special.digamma(n / 2) - math.log(n / 2)))


@pytest.mark.parametrize("model", ["network", "paper"])
def test_per_layer_monte_carlo_matches_the_exact_linear_gain_on_rectangular_layers(model):
    # leaky_relu with slope 1 is the identity, but goes through the Monte Carlo
    # (homogeneous) path: each g_d must match the exact linear gain of its fan-in
    widths = [20, 50, 7, 30, 3]
    net = Network(widths, "leaky_relu:1")
    layers = solve_per_layer(net, model=model, samples=4000, seed=3, z=1.96)
    for n, s in zip(widths[:-1], layers, strict=True):
        assert s.method == "homogeneous"
        # (paper model: the control variate ln C explains ln z exactly, so SE ~ 0)
        assert abs(s.g - linear_gain(n)) < 4 * s.se + 1e-12, (n, s.g, linear_gain(n), s.se)


def test_linear_layers_are_exact_and_equal_the_theory():
    net = Network([64, 64, 64], ["linear", "linear"])
    layers = solve_per_layer(net, model="network", samples=50, seed=0, z=1.96)
    for s in layers:
        assert s.method == "exact" and s.se == 0.0
        assert s.g == pytest.approx(theory.exact_gain("linear", 64), rel=1e-12)


def test_per_layer_relu_on_a_square_net_matches_the_exact_paper_model_gain():
    N = 24
    layers = solve_per_layer(Network([N] * 4, "relu"), model="paper", samples=6000, seed=5,
                             z=1.96)
    g_exact = theory.exact_gain("relu", N)
    for s in layers:
        assert abs(s.g - g_exact) < 4 * s.se, (s.g, g_exact, s.se)


def naive_first_layer_log_z(g, n0, n1, bias_std, model, samples, seed):
    """ln z_1 with explicit (n1, n0) matrices: x_0 ~ N(0, I), δ_1 ~ N(0, I), tanh."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, n0))
    W = rng.standard_normal((samples, n1, n0)) * (g / math.sqrt(n0))
    a = np.einsum("sij,sj->si", W, x) + bias_std * rng.standard_normal((samples, n1))
    delta = rng.standard_normal((samples, n1))
    u = (1 - np.tanh(a) ** 2) * delta
    back = W if model == "network" else (
        rng.standard_normal((samples, n1, n0)) * (g / math.sqrt(n0)))
    d0 = np.einsum("sij,si->sj", back, u)
    lz = np.log((d0 ** 2).sum(1)) - np.log((delta ** 2).sum(1))
    return lz.mean(), lz.std(ddof=1) / math.sqrt(samples)


@pytest.mark.parametrize("model", ["network", "paper"])
def test_per_layer_tanh_root_makes_the_explicit_matrix_drift_zero(model):
    n0, n1, bias = 6, 15, 0.3
    net = Network([n0, n1, 4], ["tanh", "linear"], bias_std=bias)
    s = solve_per_layer(net, model=model, samples=8000, seed=11, z=1.96)[0]
    assert s.method == "root"
    mean, se = naive_first_layer_log_z(s.g, n0, n1, bias, model, 20000, seed=2)
    slope = 2.0 / s.g  # dE ln z / dg near the root, to turn the gain's SE into drift
    assert abs(mean) < 4 * math.hypot(se, slope * s.se), (s.g, mean, se, s.se)


def test_network_gains_per_layer_api_and_cache():
    net = Network.from_spec("5-tanh-16x3-linear-2")
    r = network_gains(net, per_layer=True, samples=400, report=False)
    assert not r.cached and len(r.layer_gains) == 4 and r.layer_methods[-1] == "exact"
    assert r.layer_stds[0] == pytest.approx(r.layer_gains[0] / math.sqrt(5))
    again = network_gains(net, per_layer=True, samples=400, report=False)
    assert again.cached and again.layer_gains == r.layer_gains
    assert again.to_dict()["layer_se"] == r.to_dict()["layer_se"]
    other_seed = network_gains(net, per_layer=True, samples=400, report=False, seed=1)
    assert not other_seed.cached and other_seed.layer_gains != r.layer_gains
    fresh = network_gains(net, per_layer=True, samples=400, report=False, cache=False)
    assert not fresh.cached and fresh.layer_gains == r.layer_gains  # same seed, same answer


def test_per_layer_ci_target_sets_the_sample_count():
    net = Network([32, 32, 32], ["tanh", "tanh"])
    loose = network_gains(net, per_layer=True, ci_halfwidth=0.2, report=False, cache=False)
    tight = network_gains(net, per_layer=True, ci_halfwidth=0.03, report=False, cache=False)
    assert PER_LAYER_MAX_SAMPLES > tight.samples > loose.samples
    widths = [0.5 * (h - lo) for lo, h in zip(tight.layer_ci_low, tight.layer_ci_high,
                                              strict=True)]
    assert max(widths) <= 0.03 * 1.3  # the pilot's extrapolation, within its slack


# --- the global multiplier and the report (rwinit.walk.simulate_layers) ----------------


@pytest.mark.parametrize("nl", ["relu", "tanh"])
def test_multiplier_on_a_square_net_equals_the_depth_d_gain(nl):
    from rwinit import optimal_gain

    N, D = 24, 6
    r = network_gains(Network([N] * (D + 1), nl), samples=1500, report=False, cache=False)
    direct = optimal_gain(nl, N, depth=D, samples=1500, seed=7)
    assert r.layer_methods == ("multiplier",) * D and r.layer_gains == (r.multiplier,) * D
    assert abs(r.multiplier - direct.g) < 4 * math.hypot(r.multiplier_se, direct.se)


def test_a_linear_read_out_gets_its_exact_gain_and_the_walk_is_driftless():
    net = Network.from_spec("10-tanh-40x4-linear-3")
    r = network_gains(net, samples=1000, report=True, report_samples=3000, cache=False)
    assert r.layer_methods[-1] == "exact" and r.layer_se[-1] == 0.0
    assert r.layer_gains[-1] == pytest.approx(linear_gain(40), rel=1e-12)
    assert len(set(r.layer_gains[:-1])) == 1 and r.multiplier_ci[0] < r.multiplier
    walk = r.report["rwinit"]
    # E ln(|δ_0|/|δ_D|) = 0 at the multiplier (independent report samples: SE of both)
    slope = 2 * (net.depth - 1) / r.multiplier / 2  # d E walk / d g, ½ Σ 2/g per layer
    assert abs(walk.mean[0]) < 4 * math.hypot(walk.mean_se[0], slope * r.multiplier_se)


# --- no driftless gain: the gain of largest drift -----------------------------------


@pytest.mark.parametrize(("drift", "best"), [
    (lambda g: -0.2 - (math.log(g) - math.log(3.0)) ** 2, 3.0),  # an inner maximum
    (lambda g: -1.0 / g, 100.0),  # increasing: the top of GAIN_SEARCH_RANGE
    (lambda g: math.nan if g > 10 else -(g - 0.05) ** 2, 0.05),  # NaN where all died
])
def test_largest_drift_finds_the_maximum_of_a_known_curve(drift, best):
    from rwinit.solver import largest_drift

    assert largest_drift(drift) == pytest.approx(best, rel=2e-3)


def test_a_narrow_tanh_read_out_gets_the_gain_of_largest_drift_and_a_warning():
    from rwinit.errors import NoUnbiasedGain
    from rwinit.network_gain import NoDriftlessGainWarning
    from rwinit.network_gain.multiplier import solve_network_multiplier
    from rwinit.walk import simulate_layers

    net = Network.from_spec("20-tanh-20-tanh-5")
    settings = dict(model="network", samples=512, ci_halfwidth=None, confidence=0.95, seed=0)
    with pytest.raises(NoUnbiasedGain, match="stays negative") as exc:
        solve_network_multiplier(net, **settings)  # the strict solver: no root
    assert exc.value.kind == "negative"
    with pytest.warns(NoDriftlessGainWarning, match="20-tanh-20-tanh-5: no gain makes"):
        r = network_gains(net, samples=512, report=False)
    g = r.multiplier
    assert r.layer_methods == ("max-drift",) * 2 and r.layer_gains == (g, g)
    assert math.isnan(r.multiplier_se) and all(math.isnan(c) for c in r.multiplier_ci)
    assert all(math.isnan(v) for v in r.layer_ci_low + r.layer_ci_high + r.layer_se)
    assert "largest" in r.warning and f"g = {g:.4g}" in r.warning

    def drift(gain, seed):
        w = simulate_layers(list(net.widths), list(net.nonlinearities), [gain] * 2,
                            model="network", samples=20_000, seed=seed)
        return w.drift, w.drift_se

    # independent samples: the answer is a maximum, and a negative one (no root exists)
    m, se = drift(g, 1)
    for k, other in enumerate((g / 1.5, g * 1.5), start=2):
        m_other, se_other = drift(other, k)
        assert m > m_other - 4 * math.hypot(se, se_other), (g, m, other, m_other)
    assert m < -4 * se, (m, se)
    # the cache keeps the NaN interval and the warning, and the warning is issued again
    with pytest.warns(NoDriftlessGainWarning):
        again = network_gains(net, samples=512, report=False)
    assert again.cached and again.layer_gains == r.layer_gains
    assert again.warning == r.warning and math.isnan(again.multiplier_ci[0])


def test_gains_where_every_walk_dies_are_left_out_of_the_search():
    # seven tanh layers two units wide: at g = 100 every unit saturates to f' = 0 in
    # (nearly) every walk; the search must look at the gains where walks survive
    from rwinit.errors import NoUnbiasedGain
    from rwinit.network_gain.multiplier import solve_network_multiplier

    net = Network.from_spec("2-tanh-2x6-tanh-1")
    with pytest.raises(NoUnbiasedGain, match="wherever a walk survives; all died at g="):
        solve_network_multiplier(net, model="network", samples=512, ci_halfwidth=None,
                                 confidence=0.95, seed=0)
    with pytest.warns(UserWarning, match="largest"):
        r = network_gains(net, samples=512, report=False)
    assert r.layer_methods == ("max-drift",) * 7 and 0.1 < r.multiplier < 10


def test_per_layer_max_drift_layers_are_named_in_the_warning():
    from rwinit.network_gain import NoDriftlessGainWarning

    with pytest.warns(NoDriftlessGainWarning, match=r"layer 2 \(20->5, tanh\)"):
        r = network_gains("20-tanh-20-tanh-5", per_layer=True, samples=2000, report=False)
    assert r.layer_methods == ("root", "max-drift")
    assert "layer 1" not in r.warning


def test_report_compares_the_classic_schemes():
    from rwinit.network_gain.report import SCHEMES, NetworkReport, scheme_gains

    net = Network([100, 300, 50, 10], ["relu", "relu", "linear"])
    assert scheme_gains(net, "pytorch") == (1 / math.sqrt(3),) * 3
    assert scheme_gains(net, "he") == (math.sqrt(2),) * 3
    assert scheme_gains(net, "glorot") == pytest.approx(
        (math.sqrt(200 / 400), math.sqrt(600 / 350), math.sqrt(100 / 60)))
    r = network_gains(net, samples=500, report_samples=500, cache=False)
    rep = r.report
    assert tuple(w.scheme for w in rep.walks) == SCHEMES
    for w in rep.walks:
        assert len(w.mean) == net.depth + 1 and w.mean[-1] == 0.0 and w.sd[-1] == 0.0
    # PyTorch's default (g = 1/√3) shrinks the error towards the input, He's keeps it
    assert rep["pytorch"].mean[0] < -1.0 < rep["he"].mean[0]
    assert NetworkReport.from_dict(rep.to_dict()) == rep
    text = rep.text()
    assert "pytorch" in text and len(text.splitlines()) == net.depth + 4


def test_report_plot_is_written_atomically(tmp_path):
    pytest.importorskip("matplotlib")
    r = network_gains("8-tanh-16x2-linear-4", samples=200, report_samples=200, cache=False)
    path = tmp_path / "walk.png"
    r.report.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["walk.png"]
