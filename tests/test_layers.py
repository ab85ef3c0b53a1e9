"""Rectangular layers (rwinit.simulate_layers) against explicit rectangular matrices.

References: tests/naive.py's explicit rectangular stack (NumPy, its own f and f'), the
closed form of the linear walk (docs/design.md §Rectangular layers) and the square walk
of rwinit.simulate_walk, which is the same core configured with equal widths.
Tolerances: 5 standard errors, or a two-sample KS test at p > 1e-4.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from naive import naive_layers_log_z, naive_log_ratio
from scipy import special, stats

import rwinit
from rwinit import RwinitError, simulate_walk
from rwinit.walk import simulate_layers, walk_memory_bytes

KS_P_MIN = 1e-4


def _ks_p(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.ks_2samp(x[np.isfinite(x)], y[np.isfinite(y)]).pvalue)


def _means_agree(x: np.ndarray, y: np.ndarray, k: float = 5.0) -> bool:
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    se = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
    return abs(x.mean() - y.mean()) <= k * se


NETWORK = dict(
    widths=[5, 12, 3, 9, 4],
    nonlinearities=["tanh", "relu", "tanh", "linear"],
    gains=[1.2, 1.5, 0.9, 1.1],
)


@pytest.mark.parametrize("model", ["paper", "network"])
@pytest.mark.parametrize("bias", [0.0, [0.3, 0.0, 0.5, 0.2]])
def test_rectangular_layers_agree_with_explicit_matrices(model, bias):
    M = 800
    mean, std = np.linspace(-0.5, 0.5, 5), np.linspace(0.5, 1.5, 5)
    r = simulate_layers(**NETWORK, bias_std=bias, input_mean=mean, input_std=std,
                        model=model, samples=M, seed=31, keep_paths=M)
    ref_z = naive_layers_log_z(**NETWORK, bias_std=bias, input_mean=mean, input_std=std,
                               model=model, samples=M, seed=32)
    assert r.widths == tuple(NETWORK["widths"]) and r.depth == 4 and r.layers == 4
    ref = 0.5 * ref_z.sum(axis=1)
    assert _means_agree(r.sample_log_ratio, ref)
    assert _ks_p(r.sample_log_ratio, ref) > KS_P_MIN
    z = 2 * np.diff(r.paths, axis=1)
    for j in range(4):  # every layer, from the top
        assert _ks_p(z[:, j], ref_z[:, j]) > KS_P_MIN, j
        assert _means_agree(z[:, j], ref_z[:, j]), j
    # dead walks (the ReLU layer of width 12 can switch off) are counted alike
    p_ref = np.isnan(ref).mean()
    assert abs(r.dead / M - p_ref) <= 5 * math.sqrt(max(p_ref, 1 / M) / M)


def test_equivalence_has_power_against_the_wrong_fan_in():
    """A walk scaled by fan-out instead of fan-in would fail the test above."""
    M = 800
    r = simulate_layers([20, 5, 20], ["tanh", "linear"], [1.0, 1.0], model="paper",
                        samples=M, seed=3)
    wrong = naive_layers_log_z([20, 5, 20], ["tanh", "linear"],
                               [1.0 * math.sqrt(20 / 5), 1.0 * math.sqrt(5 / 20)],
                               model="paper", samples=M, seed=4)
    assert _ks_p(r.sample_log_ratio, 0.5 * wrong.sum(axis=1)) < KS_P_MIN


@pytest.mark.parametrize("model", ["paper", "network"])
def test_linear_rectangular_layers_match_the_closed_form(model):
    """E ln z_d = 2 ln g_d + ψ(n_{d-1}/2) − ln(n_{d-1}/2), whatever n_d."""
    widths, gains = [7, 3, 11, 2, 6], [0.8, 1.3, 1.0, 2.0]
    r = simulate_layers(widths, ["linear"] * 4, gains, model=model, samples=4000, seed=8)
    for j in range(4):
        d = 3 - j  # step j is layer d = D - j (0-based d here), fan-in widths[d]
        n = widths[d]
        exact = 2 * math.log(gains[d]) + special.digamma(n / 2) - math.log(n / 2)
        assert abs(r.log_z_mean[j] - exact) <= 5 * r.log_z_mean_se[j], j
        assert abs(r.log_z_var[j] - special.polygamma(1, n / 2)) <= 5 * r.log_z_var_se[j], j


def test_square_layers_are_the_square_walk():
    """simulate_walk (depth-D) is configuration of the same core: identical samples."""
    N, D, g = 9, 6, 1.3
    a = simulate_walk("tanh", N, D, gain=g, samples=70, seed=12, model="network")
    b = simulate_layers([N] * (D + 1), ["tanh"] * D, [g] * D, samples=70, seed=12)
    np.testing.assert_array_equal(a.sample_log_ratio, b.sample_log_ratio)
    np.testing.assert_array_equal(a.walk_mean, b.walk_mean)


def test_layers_result_reports_the_walk_from_each_layer_to_the_top():
    r = simulate_layers([6, 6, 6], "tanh", [1.1, 1.1], samples=200, seed=1)
    assert r.walk_mean.shape == (2,) and r.walk_var.shape == (2,)
    assert np.all(np.isfinite(r.walk_mean_se)) and r.nonlinearity == "tanh"
    assert r.controls == ("A_xi", "A_eta") and r.variance_reduction >= 1.0
    assert math.isfinite(r.drift_cv) and r.drift_cv_se > 0


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(widths=[4], nonlinearities=[], gains=[]), "at least two"),
    (dict(widths=[4, 0], nonlinearities=["tanh"], gains=[1.0]), "widths entry"),
    (dict(widths="4,4", nonlinearities=["tanh"], gains=[1.0]), "sequence of whole numbers"),
    (dict(widths=[10**12, 4], nonlinearities=["tanh"], gains=[1.0]), "at least .* MiB"),
    (dict(widths=[4, 4], nonlinearities=["tanh", "relu"], gains=[1.0]), "2 entries|1 entries"),
    (dict(widths=[4, 4, 4], nonlinearities="tanh", gains=[1.0, 2.0, 3.0]), "gains"),
    (dict(widths=[4, 4], nonlinearities="tanh", gains=[-1.0]), "gains"),
    (dict(widths=[4, 4], nonlinearities="nope", gains=[1.0]), "unknown nonlinearity"),
    (dict(widths=[3, 4], nonlinearities="tanh", gains=[1.0], input_std=[1, 2]), "input_std"),
    (dict(widths=[3, 4], nonlinearities="tanh", gains=[1.0], input_std=-1.0), "input_std"),
])
def test_bad_layer_specifications_are_refused_in_one_line(kwargs, match):
    with pytest.raises(RwinitError, match=match):
        simulate_layers(**kwargs, samples=10)


def test_memory_estimate_refuses_before_any_work():
    """A walk whose layer state cannot fit is refused up front, with the estimate."""
    with pytest.raises(RwinitError, match="MiB"):
        simulate_walk("tanh", 4_000_000, 100, gain=1.0, samples=10, threads=1)
    with pytest.raises(RwinitError, match="at least"):  # before its plan's arrays exist
        simulate_walk("tanh", 2**63 - 1, 100, gain=1.0, samples=10, threads=1)
    with pytest.raises(RwinitError, match="between 1 and"):
        simulate_walk("tanh", 2**63, 100, gain=1.0, samples=10, threads=1)
    small = walk_memory_bytes([100] * 101, threads=1)
    assert walk_memory_bytes([100] * 101, threads=2) > small > 100 * 100 * 8


def _softsign(x, p):
    return x / (1.0 + abs(x))


def _softsign_prime(x, p):
    return 1.0 / ((1.0 + abs(x)) * (1.0 + abs(x)))


@pytest.mark.parametrize("model", ["paper", "network"])
@pytest.mark.parametrize("bias", [0.0, 0.4])
def test_user_registered_nonlinearity_in_both_samplers_and_naive(model, bias):
    """A user's f gets the specialised batched kernel; it agrees with the explicit-matrix
    kernel (which calls it through a cfunc) and with NumPy."""
    rwinit.register_nonlinearity("test_softsign", _softsign, _softsign_prime, overwrite=True)
    N, D, g, M = 7, 6, 1.6, 800
    kw = dict(gain=g, model=model, samples=M, bias_std=bias)
    rot = simulate_walk("test_softsign", N, D, sampler="rotational", seed=41, **kw)
    exp = simulate_walk("test_softsign", N, D, sampler="explicit", seed=42, **kw)
    ref = naive_log_ratio("softsign", N, D, g, model=model, samples=M, seed=43,
                          bias_std=bias)
    for a, b in ((rot.sample_log_ratio, ref), (exp.sample_log_ratio, ref),
                 (rot.sample_log_ratio, exp.sample_log_ratio)):
        assert _means_agree(a, b)
        assert _ks_p(a, b) > KS_P_MIN


def test_nonlinearity_defined_inside_a_function_runs_without_a_disk_cache():
    """Functions Numba cannot import by name (here: defined in a function) get the same
    specialised kernel, compiled in memory; the walk is the module-level one's."""
    from rwinit.kernels.factory import _importable

    def local_softsign(x, p):
        return x / (1.0 + abs(x))

    def local_softsign_prime(x, p):
        return 1.0 / ((1.0 + abs(x)) * (1.0 + abs(x)))

    assert not _importable(local_softsign) and _importable(_softsign)
    rwinit.register_nonlinearity("test_local_softsign", local_softsign, local_softsign_prime,
                                 overwrite=True)
    rwinit.register_nonlinearity("test_softsign", _softsign, _softsign_prime, overwrite=True)
    kw = dict(gain=1.6, samples=64, seed=3, model="network")
    a = simulate_walk("test_local_softsign", 7, 5, **kw)
    b = simulate_walk("test_softsign", 7, 5, **kw)
    np.testing.assert_allclose(a.sample_log_ratio, b.sample_log_ratio, rtol=1e-12)


def test_dead_forward_pass_uses_an_arbitrary_unit_direction():
    """A zero input makes every forward state 0 (tanh(0) = 0); the rotational sampler then
    takes x̂ = e_1 (docs/design.md §Control variates), which must give the law of
    explicit matrices, where W_dᵀ acts on δ with no x to condition on."""
    M = 1500
    kw = dict(input_mean=0.0, input_std=0.0, model="network")
    widths, nls, gains = [6, 9, 5, 7], ["tanh"] * 3, [1.3, 0.9, 1.1]
    r = simulate_layers(widths, nls, gains, samples=M, seed=41, keep_paths=M, **kw)
    ref_z = naive_layers_log_z(widths, nls, gains, samples=M, seed=42, **kw)
    z = 2 * np.diff(r.paths, axis=1)
    for j in range(3):
        assert _means_agree(z[:, j], ref_z[:, j]), j
        assert _ks_p(z[:, j], ref_z[:, j]) > KS_P_MIN, j
