"""The walk kernels, the weight distributions and the g* solver.

Every test uses a fixed seed, so each run draws the same numbers; the tolerances are
still those of an honest statistical test (5 standard errors of the estimator, or a
two-sample test at p > 1e-4 where about 90 such comparisons are made, a family-wise
false-alarm rate near 1%), never numbers tuned to the code's output.

References: the closed forms of rwinit.theory (checked against brute force in
test_theory.py), the explicit-matrix NumPy walk of tests/naive.py, and the laws of the
weight distributions (docs/design.md §The model to §Sampling the walk).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from naive import naive_log_ratio, naive_log_z
from scipy import stats

import rwinit
from rwinit import RwinitError, _config, optimal_gain, sample_weights, simulate_walk, theory

KS_P_MIN = 1e-4


def _se_of_variance(x: np.ndarray) -> float:
    """Standard error of the sample variance of i.i.d. ``x``: sqrt((μ₄ − σ⁴)/n)."""
    c = x - x.mean()
    return math.sqrt((np.mean(c**4) - np.mean(c**2) ** 2) / x.size)


def _within(estimate: float, truth: float, se: float, k: float = 5.0) -> bool:
    return abs(estimate - truth) <= k * se


# --- Monte Carlo against closed forms --------------------------------------------------


@pytest.mark.parametrize(("name", "model"),
                         [("linear", "paper"), ("linear", "network"), ("relu", "paper")])
@pytest.mark.parametrize("N", [2, 5, 20, 100])
def test_log_z_moments_match_closed_forms(name, model, N):
    g = 1.3
    D = 4 if N == 2 else 8  # ReLU at N = 2 dies often: keep enough survivors
    r = simulate_walk(name, N, D, gain=g, model=model, samples=3000, seed=1000 + N)
    mean, var = theory.log_z_mean(name, N, g), theory.log_z_var(name, N)
    assert r.samples_used > 500
    # every layer, then all layers pooled (independent increments in these models)
    assert np.all(np.abs(r.log_z_mean - mean) <= 5 * r.log_z_mean_se)
    pooled_se = math.sqrt(np.sum(r.log_z_mean_se**2)) / D
    assert _within(r.log_z_mean.mean(), mean, pooled_se)
    pooled_var_se = math.sqrt(np.sum(r.log_z_var_se**2)) / D
    assert _within(r.log_z_var.mean(), var, pooled_var_se)
    # the whole walk: E = D m / 2, Var = D Var(ln z) / 4
    alive = r.sample_log_ratio[np.isfinite(r.sample_log_ratio)]
    assert _within(r.walk_mean[-1], D * mean / 2, r.walk_mean_se[-1])
    assert _within(alive.var(ddof=1), theory.walk_variance(name, N, D), _se_of_variance(alive))
    assert _within(r.drift, mean, r.drift_se)


@pytest.mark.parametrize("name", ["linear", "relu"])
def test_stationary_variant_matches_closed_form(name):
    g, N = 0.9, 6
    r = simulate_walk(name, N, gain=g, model="paper", samples=400, seed=5,
                      stationary_layers=60, burn_in=(7, 3))
    assert r.depth is None and r.variant == "stationary"
    assert r.layers == 60 and r.log_z_mean.shape == (60,) and r.burn_in == (7, 3)
    assert _within(r.drift, theory.log_z_mean(name, N, g), r.drift_se)


# --- the O(N) rotational sampler against explicit matrices -----------------------------

EQUIVALENCE_CASES = [
    # (N, D, g)
    (3, 6, 1.6),
    (12, 10, 1.1),
    (40, 5, 0.8),
]


def _ks_p(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.ks_2samp(x[np.isfinite(x)], y[np.isfinite(y)]).pvalue)


def _means_agree(x: np.ndarray, y: np.ndarray) -> bool:
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    se = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
    return abs(x.mean() - y.mean()) <= 5 * se


@pytest.mark.parametrize("model", ["paper", "network"])
@pytest.mark.parametrize("name", ["linear", "relu", "tanh"])
@pytest.mark.parametrize(("N", "D", "g"), EQUIVALENCE_CASES)
def test_rotational_explicit_and_naive_samplers_agree_in_distribution(name, model, N, D, g):
    M = 600
    seed = 100 * N + D
    kw = dict(gain=g, model=model, samples=M, keep_paths=M)
    rot = simulate_walk(name, N, D, sampler="rotational", seed=seed, **kw)
    exp = simulate_walk(name, N, D, sampler="explicit", seed=seed + 1, **kw)
    ref_z = naive_log_z(name, N, D, g, model=model, samples=M, seed=seed + 2)
    ref = 0.5 * ref_z.sum(axis=1)
    assert rot.sampler == "rotational" and exp.sampler == "explicit"
    for a, b in ((rot.sample_log_ratio, exp.sample_log_ratio),
                 (rot.sample_log_ratio, ref), (exp.sample_log_ratio, ref)):
        assert _means_agree(a, b)
        assert _ks_p(a, b) > KS_P_MIN
    # single layers too: the top one and the bottom one (the input layer)
    rot_z = 2 * np.diff(rot.paths, axis=1)
    assert _ks_p(rot_z[:, 0], ref_z[:, 0]) > KS_P_MIN
    assert _ks_p(rot_z[:, -1], ref_z[:, -1]) > KS_P_MIN
    # the paths are the cumulative walks of the same samples
    np.testing.assert_array_equal(rot.paths[:, -1], rot.sample_log_ratio)
    assert np.all(rot.paths[np.isfinite(rot.sample_log_ratio), 0] == 0.0)


@pytest.mark.parametrize(("name", "g"), [("relu6", 3.0), ("hardtanh", 1.5),
                                         ("hardsigmoid", 7.0), ("hardswish", 2.0),
                                         ("mish", 1.3)])
def test_mobile_network_activations_agree_with_numpy_in_distribution(name, g):
    # gains large enough that the kinks (ReLU6 at 6, the hard functions at ±1 and ±3) and
    # the f' = 0 plateaus are reached; f' through the output for the clipped ones
    N, D, M = 12, 8, 600
    for model in ("network", "paper"):
        rot = simulate_walk(name, N, D, gain=g, model=model, samples=M, seed=7)
        ref = naive_log_ratio(name, N, D, g, model=model, samples=M, seed=8)
        assert _means_agree(rot.sample_log_ratio, ref), (model, name)
        assert _ks_p(rot.sample_log_ratio, ref) > KS_P_MIN, (model, name)


@pytest.mark.parametrize("model", ["paper", "network"])
@pytest.mark.parametrize("name", ["relu", "tanh"])
def test_samplers_agree_with_biases(name, model):
    N, D, g, b, M = 8, 6, 1.2, 0.5, 600
    kw = dict(gain=g, model=model, samples=M, bias_std=b)
    rot = simulate_walk(name, N, D, sampler="rotational", seed=1, **kw)
    exp = simulate_walk(name, N, D, sampler="explicit", seed=2, **kw)
    ref = naive_log_ratio(name, N, D, g, model=model, samples=M, seed=3, bias_std=b)
    for a, c in ((rot.sample_log_ratio, ref), (exp.sample_log_ratio, ref)):
        assert _means_agree(a, c)
        assert _ks_p(a, c) > KS_P_MIN


@pytest.mark.parametrize("model", ["paper", "network"])
def test_stationary_variant_measures_the_middle_of_a_longer_walk(model):
    """Stationary = a walk of fwd + L + bwd layers, measured on the L layers below the
    top bwd ones; compare with those columns of the naive depth-(fwd + L + bwd) walk."""
    N, g, M = 6, 1.4, 800
    fwd, L, bwd = 5, 4, 3
    r = simulate_walk("tanh", N, gain=g, model=model, samples=M, seed=4,
                      stationary_layers=L, burn_in=(fwd, bwd), keep_paths=M)
    ref_z = naive_log_z("tanh", N, fwd + L + bwd, g, model=model, samples=M, seed=5)
    ref_z = ref_z[:, bwd:bwd + L]
    assert _ks_p(r.sample_log_ratio, 0.5 * ref_z.sum(axis=1)) > KS_P_MIN
    rot_z = 2 * np.diff(r.paths, axis=1)
    assert _ks_p(rot_z[:, 0], ref_z[:, 0]) > KS_P_MIN
    assert _ks_p(rot_z[:, -1], ref_z[:, -1]) > KS_P_MIN


def _numpy_weights(dist: str, k: int = 3):
    """Independent NumPy/SciPy draws of (N, N) standard weights (variance 1/N)."""

    def draw(rng, n):
        s = 1 / math.sqrt(n)
        if dist == "uniform":
            return rng.uniform(-math.sqrt(3) * s, math.sqrt(3) * s, size=(n, n))
        if dist == "truncated_normal":
            c = 2.0
            return stats.truncnorm.rvs(-c, c, size=(n, n), random_state=rng) * (
                s / _truncnorm_unit_std(c))
        if dist == "orthogonal":
            return stats.ortho_group.rvs(n, random_state=rng)
        w = np.zeros((n, n))  # sparse: k non-zeros per row, N(0, 1/k)
        for i in range(n):
            w[i, rng.choice(n, size=k, replace=False)] = rng.standard_normal(k) / math.sqrt(k)
        return w

    return draw


@pytest.mark.parametrize("model", ["paper", "network"])
@pytest.mark.parametrize("dist", ["uniform", "truncated_normal", "orthogonal", "sparse"])
def test_explicit_sampler_with_other_weights_agrees_with_numpy(dist, model):
    N, D, g, M = 6, 6, 1.3, 600
    k = 3 if dist == "sparse" else None
    r = simulate_walk("tanh", N, D, gain=g, model=model, weights=dist, sparsity=k,
                      samples=M, seed=7)
    assert r.sampler == "explicit"
    ref = naive_log_ratio("tanh", N, D, g, model=model, samples=M, seed=8,
                          draw_weights=_numpy_weights(dist))
    assert _means_agree(r.sample_log_ratio, ref)
    assert _ks_p(r.sample_log_ratio, ref) > KS_P_MIN


def test_equivalence_tests_have_power_to_tell_the_models_apart():
    """The two-sample tests above would notice a sampler that used the wrong model."""
    N, D, g, M = 4, 10, 1.5, 1500
    network = simulate_walk("tanh", N, D, gain=g, model="network", samples=M, seed=3)
    paper = naive_log_ratio("tanh", N, D, g, model="paper", samples=M, seed=4)
    assert _ks_p(network.sample_log_ratio, paper) < KS_P_MIN / 100
    paper_rot = simulate_walk("tanh", N, D, gain=g, model="paper", samples=M, seed=5)
    network_ref = naive_log_ratio("tanh", N, D, g, model="network", samples=M, seed=6)
    assert _ks_p(paper_rot.sample_log_ratio, network_ref) < KS_P_MIN / 100


@pytest.mark.parametrize("model", ["paper", "network"])
def test_linear_walk_with_orthogonal_weights_is_deterministic(model):
    """With orthogonal W, |Wᵀδ| = |δ| exactly (square case), so ln z = 2 ln g."""
    g = 1.3
    r = simulate_walk("linear", 8, 5, gain=g, model=model, weights="orthogonal",
                      samples=20, seed=0)
    np.testing.assert_allclose(r.log_z_mean, 2 * math.log(g), rtol=1e-12)
    np.testing.assert_allclose(r.log_z_var, 0.0, atol=1e-24)


# --- random numbers: seeds, threads, prefixes, common random numbers -------------------


@pytest.mark.parametrize(("sampler", "model"),
                         [("rotational", "network"), ("rotational", "paper"),
                          ("explicit", "network")])
def test_same_seed_same_result_whatever_the_thread_count(sampler, model):
    kw = dict(gain=1.2, model=model, sampler=sampler, samples=100, seed=77)
    one = simulate_walk("tanh", 10, 6, threads=1, **kw)
    two = simulate_walk("tanh", 10, 6, threads=2, **kw)
    for name in ("sample_log_ratio", "log_z_mean", "log_z_var", "log_z_mean_se",
                 "log_z_var_se", "walk_mean", "walk_var", "walk_mean_se", "walk_var_se"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name), err_msg=name)
    other = simulate_walk("tanh", 10, 6, threads=2, **{**kw, "seed": 78})
    assert not np.array_equal(one.sample_log_ratio, other.sample_log_ratio)


@pytest.mark.parametrize("sampler", ["rotational", "explicit"])
def test_more_samples_extend_fewer(sampler):
    kw = dict(gain=1.1, sampler=sampler, seed=9, threads=2)
    few = simulate_walk("tanh", 7, 5, samples=40, **kw)
    many = simulate_walk("tanh", 7, 5, samples=100, **kw)
    np.testing.assert_array_equal(many.sample_log_ratio[:40], few.sample_log_ratio)


@pytest.mark.parametrize("sampler", ["rotational", "explicit"])
def test_common_random_numbers_across_gains(sampler):
    """The draws do not depend on g: for ReLU (homogeneous) every sample's walk shifts by
    exactly D ln(g2/g1); for tanh a tiny change of g changes every sample a little."""
    D, g1, g2 = 6, 1.2, 1.5
    kw = dict(model="network", sampler=sampler, samples=50, seed=11)
    r1 = simulate_walk("relu", 9, D, gain=g1, **kw)
    r2 = simulate_walk("relu", 9, D, gain=g2, **kw)
    dead = np.isnan(r1.sample_log_ratio)  # a ReLU walk dies whatever g (f is homogeneous)
    np.testing.assert_array_equal(np.isnan(r2.sample_log_ratio), dead)
    np.testing.assert_allclose(r2.sample_log_ratio[~dead] - r1.sample_log_ratio[~dead],
                               D * math.log(g2 / g1), rtol=1e-9)
    t1 = simulate_walk("tanh", 9, D, gain=g1, **kw)
    t2 = simulate_walk("tanh", 9, D, gain=g1 * (1 + 1e-7), **kw)
    assert np.max(np.abs(t2.sample_log_ratio - t1.sample_log_ratio)) < 1e-4


# --- numerical care at great depth ----------------------------------------------------


@pytest.mark.parametrize("name", ["linear", "relu", "tanh"])
@pytest.mark.parametrize(("g", "sign"), [(0.5, -1), (2.0, +1)])
def test_depth_ten_thousand_stays_finite(name, g, sign):
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        r = simulate_walk(name, 16, 10_000, gain=g, samples=8, seed=21)
    assert r.overflowed == 0
    assert r.samples_used >= 4
    for field in ("log_z_mean", "log_z_var", "walk_mean", "walk_var"):
        assert np.all(np.isfinite(getattr(r, field))), field
    alive = r.sample_log_ratio[np.isfinite(r.sample_log_ratio)]
    # the walk moved by thousands of e-folds without overflowing or underflowing
    assert np.all(np.sign(alive) == sign) and np.all(np.abs(alive) > 100)
    assert np.sign(r.drift) == sign and abs(r.drift) > 5 * r.drift_se
    if name == "linear":
        assert _within(r.drift, theory.log_z_mean("linear", 16, g), r.drift_se)


def test_depth_ten_thousand_explicit_sampler_agrees_with_rotational():
    kw = dict(gain=2.0, model="network", samples=4, seed=2)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        exp = simulate_walk("tanh", 16, 10_000, sampler="explicit", **kw)
        rot = simulate_walk("tanh", 16, 10_000, sampler="rotational", **kw)
    assert exp.samples_used == 4 and np.all(np.isfinite(exp.walk_mean))
    assert exp.drift > 5 * exp.drift_se  # chaotic phase at N = 16 (negative below N ≈ 8)
    assert _within(exp.drift, rot.drift, math.hypot(exp.drift_se, rot.drift_se))


# --- weight distributions --------------------------------------------------------------

DISTRIBUTIONS = ["gaussian", "uniform", "truncated_normal", "orthogonal", "sparse"]
SHAPES = [(300, 200), (60, 400), (400, 60)]


def _sparsity(dist, fan_in):
    return min(10, fan_in) if dist == "sparse" else None


@pytest.mark.parametrize("dist", DISTRIBUTIONS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gain", [0.5, 1.7])
def test_weight_variance_is_gain_squared_over_fan_in(dist, shape, gain):
    fan_out, fan_in = shape
    W = sample_weights(dist, shape, gain, rng=np.random.default_rng(31),
                       sparsity=_sparsity(dist, fan_in))
    assert W.shape == shape and W.dtype == np.float64
    target = gain**2 / fan_in
    # rows are independent units: the per-row mean square gives an honest SE
    row_ms = np.mean(W**2, axis=1)
    ms, se = row_ms.mean(), row_ms.std(ddof=1) / math.sqrt(fan_out)
    if dist == "orthogonal":
        assert ms == pytest.approx(target, rel=1e-10)  # exact for (semi-)orthogonal W
    else:
        assert _within(ms, target, se)
        assert _within(W.mean(), 0.0, W.std() / math.sqrt(W.size))
    # the pitfall: std g/fan_in instead of g/sqrt(fan_in) would fail here by a mile
    std, std_se = math.sqrt(ms), se / (2 * math.sqrt(ms)) + 1e-12
    assert abs(std - gain / fan_in) > 10 * std_se
    assert _within(std, gain / math.sqrt(fan_in), std_se)


def test_walk_kernel_uses_fan_in_scaling():
    """a = g W x with std g/sqrt(N): one linear layer of the explicit kernel has
    E ln z = 2 ln g + ψ(N/2) + ln(2/N); with std g/N it would be off by ln N."""
    N = 50
    r = simulate_walk("linear", N, 1, gain=1.0, sampler="explicit", samples=500, seed=8)
    assert _within(r.log_z_mean[0], theory.log_z_mean("linear", N), r.log_z_mean_se[0])


def _truncnorm_unit_std(c: float) -> float:
    """Standard deviation of N(0, 1) cut to [-c, c]: sqrt(1 - 2cφ(c)/(2Φ(c) - 1))."""
    phi = math.exp(-c * c / 2) / math.sqrt(2 * math.pi)
    return math.sqrt(1 - 2 * c * phi / math.erf(c / math.sqrt(2)))


@pytest.mark.parametrize("shape", [(200, 100), (30, 500)])
@pytest.mark.parametrize("gain", [0.7, 2.0])
def test_weight_entries_follow_their_laws(shape, gain):
    rng = np.random.default_rng(41)
    sigma = gain / math.sqrt(shape[1])
    laws = {
        "gaussian": stats.norm(scale=sigma),
        "uniform": stats.uniform(loc=-math.sqrt(3) * sigma, scale=2 * math.sqrt(3) * sigma),
        "truncated_normal": stats.truncnorm(-2, 2, scale=sigma / _truncnorm_unit_std(2.0)),
    }
    for dist, law in laws.items():
        W = sample_weights(dist, shape, gain, rng=rng)
        assert stats.kstest(W.ravel(), law.cdf).pvalue > KS_P_MIN, dist
    k = 7
    W = sample_weights("sparse", shape, gain, rng=rng, sparsity=k)
    nonzero = W[W != 0.0]
    assert stats.kstest(nonzero, stats.norm(scale=gain / math.sqrt(k)).cdf).pvalue > KS_P_MIN


@pytest.mark.parametrize("shape", [(6, 6), (9, 4), (4, 9)])
def test_orthogonal_weights_are_orthogonal(shape):
    g = 1.4
    W = sample_weights("orthogonal", shape, g, rng=np.random.default_rng(1))
    fan_out, fan_in = shape
    if fan_out >= fan_in:  # orthonormal columns, scaled to variance g²/fan_in
        np.testing.assert_allclose(W.T @ W, g * g * fan_out / fan_in * np.eye(fan_in),
                                   atol=1e-12)
    else:  # orthonormal rows
        np.testing.assert_allclose(W @ W.T, g * g * np.eye(fan_out), atol=1e-12)


def test_orthogonal_weights_are_haar():
    """For Q Haar on O(N): E tr Q = 0 and E (tr Q)² = 1 (QR without the sign fix fails)."""
    rng = np.random.default_rng(2)
    N, M = 4, 4000
    tr = np.array([np.trace(sample_weights("orthogonal", (N, N), 1.0, rng=rng))
                   for _ in range(M)])
    assert _within(tr.mean(), 0.0, tr.std(ddof=1) / math.sqrt(M))
    assert _within(np.mean(tr**2), 1.0, (tr**2).std(ddof=1) / math.sqrt(M))


def test_sparse_weights_have_k_nonzeros_per_row_on_uniform_columns():
    rng = np.random.default_rng(3)
    fan_out, fan_in, k, draws = 20, 10, 3, 300
    hits = np.zeros(fan_in)
    for _ in range(draws):
        W = sample_weights("sparse", (fan_out, fan_in), 1.0, rng=rng, sparsity=k)
        assert np.all(np.count_nonzero(W, axis=1) == k)
        hits += np.count_nonzero(W, axis=0)
    assert stats.chisquare(hits).pvalue > KS_P_MIN
    with pytest.raises(RwinitError, match="sparsity"):
        sample_weights("sparse", (4, 3), 1.0, rng=0, sparsity=4)


# --- dead walks -----------------------------------------------------------------------


@pytest.mark.parametrize(("model", "sampler"),
                         [("paper", "rotational"), ("network", "rotational"),
                          ("paper", "explicit"), ("network", "explicit")])
def test_dead_relu_walks_are_counted(model, sampler):
    N, D, M = 2, 5, 3000
    r = simulate_walk("relu", N, D, gain=1.5, model=model, sampler=sampler, samples=M,
                      seed=13)
    p = 1 - (1 - 2.0**-N) ** D  # some layer has every unit off
    assert _within(r.dead / M, p, math.sqrt(p * (1 - p) / M))
    assert r.dead_fraction == r.dead / M
    assert r.samples_used == M - r.dead
    assert np.count_nonzero(np.isnan(r.sample_log_ratio)) == r.dead
    for field in ("log_z_mean", "log_z_var", "log_z_mean_se", "walk_mean", "walk_var"):
        assert not np.any(np.isnan(getattr(r, field))), field
    assert math.isfinite(r.drift) and math.isfinite(r.drift_se)


@pytest.mark.parametrize("N", [2, 3, 6])
def test_stationary_relu_conditions_each_layer_on_survival(N):
    """Stationary walks restart after a dead layer, so even N = 2 gives the exact law.

    The paper model's ln z given k >= 1 has the closed form of docs/design.md §Exact
    results, and each layer kills the walk with probability 2^-N (backward) — forward
    deaths add more.
    """
    r = simulate_walk("relu", N, None, gain=1.0, model="paper", samples=400, seed=21,
                      stationary_layers=100, burn_in=(5, 5))
    assert r.dead == 0 and r.samples_used == 400
    assert r.dead_layers > 0
    assert _within(r.drift, theory.log_z_mean("relu", N), r.drift_se)
    pooled_var = np.average(r.log_z_var)  # layers are independent in the paper model
    pooled_se = np.sqrt(np.mean(r.log_z_var_se**2) / r.layers)
    assert _within(pooled_var, theory.log_z_var("relu", N), pooled_se)
    layers_run = 400 * (100 + 5)
    p = 2.0**-N  # backward deaths alone; forward deaths only add to the count
    assert r.dead_layers / layers_run > p - 5 * math.sqrt(p * (1 - p) / layers_run)
    assert np.all(r.sample_layers <= r.layers)
    assert r.sample_layers.sum() < 400 * r.layers  # the killing layers were left out


# --- user nonlinearities ---------------------------------------------------------------


def _double(x, p):
    return 2.0 * x


def _double_prime(x, p):
    return 2.0


def _user_tanh(x, p):
    return math.tanh(x)


def _user_tanh_prime(x, p):
    t = math.tanh(x)
    return 1.0 - t * t


def test_registered_nonlinearity_is_used_by_walk_and_solver():
    """f(x) = 2x, f' = 2: the walk at gain g is the linear walk at gain 2g."""
    rwinit.register_nonlinearity("test_double", _double, _double_prime, homogeneous=True,
                                 overwrite=True)
    assert "test_double" in rwinit.available_nonlinearities()
    a = simulate_walk("test_double", 6, 5, gain=0.7, samples=50, seed=4)
    b = simulate_walk("linear", 6, 5, gain=1.4, samples=50, seed=4)
    np.testing.assert_allclose(a.sample_log_ratio, b.sample_log_ratio, rtol=1e-12, atol=1e-12)
    assert a.nonlinearity == "test_double"
    res = optimal_gain("test_double", 6, model="paper", samples=400, seed=4)
    assert res.method == "homogeneous"
    truth = theory.exact_gain("linear", 6) / 2
    assert _within(res.g, truth, res.se, 4)


def test_registered_nonhomogeneous_nonlinearity_uses_root_finding():
    """A user's tanh (libm's) walks like the built-in one and its g* is a root of m(g)."""
    rwinit.register_nonlinearity("test_tanh", _user_tanh, _user_tanh_prime, overwrite=True)
    kw = dict(gain=1.3, samples=40, seed=5)
    np.testing.assert_allclose(simulate_walk("test_tanh", 8, 6, **kw).sample_log_ratio,
                               simulate_walk("tanh", 8, 6, **kw).sample_log_ratio, rtol=1e-9)
    # N = 16: at N = 8, D = 10 the paper-model drift only touches 0 near g ≈ 2.9 (its
    # maximum is -0.02 ± 0.01), so whether a root is found there depends on the noise
    res = optimal_gain("test_tanh", 16, 10, model="paper", samples=200, seed=6)
    assert res.method == "root" and res.g > 1.0 and res.se > 0
    # the root is a root: an independent walk at g* has no drift beyond the two errors
    check = simulate_walk("test_tanh", 16, 10, gain=res.g, model="paper", samples=2000,
                          seed=60)
    at_g = simulate_walk("test_tanh", 16, 10, gain=res.g * 1.02, model="paper",
                         samples=2000, seed=60)
    slope = (at_g.drift - check.drift) / (0.02 * res.g)
    assert _within(check.drift, 0.0, math.hypot(check.drift_se, slope * res.se))


def test_unknown_nonlinearity_lists_known_ones():
    with pytest.raises(RwinitError, match=r"unknown nonlinearity 'nope'; known: linear, relu"):
        simulate_walk("nope", 4, 3, gain=1.0)
    with pytest.raises(RwinitError, match="tanh"):
        optimal_gain("nope", 4)
    with pytest.raises(RwinitError, match="already registered"):
        rwinit.register_nonlinearity("tanh", _user_tanh, _user_tanh_prime)


# --- the g* solver ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "model"),
                         [("linear", "network"), ("linear", "paper"), ("relu", "paper")])
def test_exact_method(name, model):
    res = optimal_gain(name, 7, model=model)
    assert res.method == "exact" and res.se == 0.0 and res.samples == 0
    assert res.g == theory.exact_gain(name, 7) == res.ci_low == res.ci_high
    formula = optimal_gain(name, 7, model=model, method="paper-formula")
    assert formula.g == theory.paper_formula_gain(name, 7)


def test_relu_network_model_is_not_exact():
    assert optimal_gain("relu", 12, model="network", samples=50).method == "homogeneous"
    with pytest.raises(RwinitError, match="exact"):
        optimal_gain("relu", 7, model="network", method="exact")


def test_homogeneous_monte_carlo_relu_matches_exact():
    N = 10  # the stationary walk is 510 layers long: at N = 6 nearly every walk dies
    truth = theory.exact_gain("relu", N)
    res = optimal_gain("relu", N, model="paper", method="homogeneous", samples=400, seed=17,
                       confidence=0.999)
    assert res.method == "homogeneous" and res.samples == 400 and res.evaluations == 1
    per_sample = (_config.STATIONARY_LAYERS + _config.STATIONARY_FORWARD_BURN_IN
                  + _config.STATIONARY_BACKWARD_BURN_IN)
    assert res.seconds > 0 and res.layers == 400 * per_sample
    assert _within(res.g, truth, res.se, 4)
    assert res.ci_low < truth < res.ci_high
    z = stats.norm.ppf(0.9995)
    assert (res.ci_high - res.ci_low) / 2 == pytest.approx(z * res.se, rel=0.05)


@pytest.mark.parametrize("depth", [None, 12])
def test_root_method_for_linear_matches_exact(depth):
    N = 5
    truth = theory.exact_gain("linear", N)
    res = optimal_gain("linear", N, depth, method="root", samples=300, seed=23,
                       confidence=0.999)
    assert res.method == "root" and res.samples == 300 and res.evaluations >= 3
    assert res.depth == depth and res.seconds > 0 and res.layers > 0
    assert _within(res.g, truth, res.se, 4)
    assert res.ci_low < truth < res.ci_high


def test_adaptive_sample_count_reaches_the_target():
    res = optimal_gain("relu", 8, 20, model="network", ci_halfwidth=0.02, seed=3)
    assert res.samples >= 64
    # the pilot's variance estimate sets the count: allow it some slack
    assert (res.ci_high - res.ci_low) / 2 < 0.02 * 1.3


def test_no_unbiased_gain_is_reported_not_invented():
    """Stationary tanh at N = 4 drifts down at every gain (see paper_figures/figure2):
    the solver says so instead of returning a root far outside any useful range."""
    with pytest.raises(RwinitError, match="no unbiased gain for tanh at N=4"):
        optimal_gain("tanh", 4, samples=64)
    lo, hi = _config.GAIN_SEARCH_RANGE
    assert simulate_walk("tanh", 4, gain=hi, samples=64, seed=0).drift < 0.0
    assert simulate_walk("tanh", 4, gain=lo, samples=64, seed=0).drift < 0.0
