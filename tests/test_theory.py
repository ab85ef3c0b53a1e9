"""Closed forms of rwinit.theory against brute force and against the paper's formulas.

docs/design.md §Exact results; Sussillo & Abbott, arXiv:1412.6558, §3. Brute force here
means numerical integration of the χ² density and explicit sums over every k of Binomial(N, ½) (no
truncation), or sampling χ² variates with NumPy; the Monte Carlo checks use fixed seeds
and tolerances of 5 standard errors of the estimator.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from rwinit import theory

# --- brute-force references ------------------------------------------------------------


def _log_chi2_moments_by_quadrature(k: int) -> tuple[float, float]:
    """E[ln X] and Var[ln X] for X ~ χ²_k, integrating against the density (no digamma)."""
    # substitute X = exp(y): ln X = y, density of y is pdf(e^y) e^y
    def density(y: float) -> float:
        return math.exp(stats.chi2.logpdf(math.exp(y), k) + y)

    lo, hi = -60.0, math.log(k + 60.0 * math.sqrt(2 * k) + 60.0)
    m1 = integrate.quad(lambda y: y * density(y), lo, hi, limit=400, epsabs=1e-13)[0]
    m2 = integrate.quad(lambda y: (y - m1) ** 2 * density(y), lo, hi, limit=400,
                        epsabs=1e-13)[0]
    return m1, m2


def _relu_moments_brute(N: int) -> tuple[float, float]:
    """E and Var of ln z at g = 1 for ReLU by the law of total expectation/variance.

    z = χ²_k / N with k ~ Binomial(N, ½) conditioned on k >= 1; every k from 1 to N is
    summed with math.comb weights and the χ² moments come from quadrature.
    """
    weights = np.array([math.comb(N, k) for k in range(1, N + 1)], dtype=float)
    weights /= weights.sum()
    moments = np.array([_log_chi2_moments_by_quadrature(k) for k in range(1, N + 1)])
    cond_mean = moments[:, 0] - math.log(N)
    mean = float(weights @ cond_mean)
    var = float(weights @ moments[:, 1] + weights @ (cond_mean - mean) ** 2)
    return mean, var


# --- linear ----------------------------------------------------------------------------


@pytest.mark.parametrize("N", [1, 2, 3, 7, 20, 100])
def test_linear_moments_match_quadrature_of_chi2(N):
    m1, m2 = _log_chi2_moments_by_quadrature(N)
    # z = (g²/N) χ²_N
    g = 1.3
    assert theory.log_z_mean("linear", N, g) == pytest.approx(
        2 * math.log(g) + m1 - math.log(N), abs=1e-9)
    assert theory.log_z_var("linear", N) == pytest.approx(m2, rel=1e-8)


@pytest.mark.parametrize("N", [2, 10, 300])
def test_linear_moments_match_sampled_chi2(N):
    rng = np.random.default_rng(20240601 + N)
    M = 400_000
    g = 0.8
    ln_z = np.log(g * g / N * rng.chisquare(N, size=M))
    se_mean = ln_z.std(ddof=1) / math.sqrt(M)
    assert abs(ln_z.mean() - theory.log_z_mean("linear", N, g)) < 5 * se_mean
    c = ln_z - ln_z.mean()
    var = c.var(ddof=1)
    se_var = math.sqrt((np.mean(c**4) - var**2) / M)
    assert abs(var - theory.log_z_var("linear", N)) < 5 * se_var


def test_walk_variance_is_depth_times_step_variance_over_four():
    assert theory.walk_variance("linear", 10, 7) == pytest.approx(
        7 * special.polygamma(1, 5.0) / 4, rel=1e-12)


# --- ReLU ------------------------------------------------------------------------------


@pytest.mark.parametrize("N", [1, 2, 3, 5, 10, 40, 64])
def test_relu_moments_match_full_binomial_sum_of_chi2_quadratures(N):
    mean, var = _relu_moments_brute(N)
    assert theory.log_z_mean("relu", N) == pytest.approx(mean, abs=1e-8)
    assert theory.log_z_var("relu", N) == pytest.approx(var, rel=1e-7)


@pytest.mark.parametrize("N", [500, 2000])
def test_relu_large_width_truncated_sum_matches_full_sum(N):
    """theory keeps only k within 40 SD of N/2; the full digamma sum must agree."""
    k = np.arange(1, N + 1)
    p = stats.binom.pmf(k, N, 0.5)
    p /= p.sum()
    psi = special.digamma(k / 2)
    mean = float(p @ psi) + math.log(2 / N)
    var = float(p @ special.polygamma(1, k / 2) + p @ (psi - p @ psi) ** 2)
    assert theory.log_z_mean("relu", N) == pytest.approx(mean, abs=1e-12)
    assert theory.log_z_var("relu", N) == pytest.approx(var, rel=1e-10)


@pytest.mark.parametrize("N, rel_var", [(10**6, 1e-11), (10**8, 1e-13)])
def test_relu_expansion_matches_the_sum_over_active_counts(N, rel_var):
    """Above RELU_EXPANSION_WIDTH the moments come from an expansion whose neglected terms
    are O(N⁻³), i.e. O(N⁻²) relative to Var ln z ≈ 5/N (2e-12 at N = 10⁶): it must agree
    with the 40-SD sum where both can be computed."""
    k, p = theory._relu_k_distribution(N)
    psi = special.digamma(k / 2)
    mean = float(p @ psi) + math.log(2 / N)
    var = float(p @ special.polygamma(1, k / 2) + p @ (psi - p @ psi) ** 2)
    e_mean, e_var = theory._relu_moments_expanded(N)
    assert e_mean == pytest.approx(mean, rel=1e-13)
    assert e_var == pytest.approx(var, rel=rel_var)


def test_relu_exact_results_for_any_width_a_count_can_hold():
    """N up to 2⁶³ − 1 at once and with no large array. Expanding ψ about N/4 gives
    E ln z = −ln 2 − 5/(2N) + O(N⁻²), so g* = √2 (1 + 5/(4N) + O(N⁻²)), and
    Var ln z = 5/N + O(N⁻²) (ψ₁(N/4) ≈ 4/N plus Var ψ(k/2) ≈ 1/N)."""
    for N in (10**9, 10**12, 10**18, 2**63 - 1):
        g = theory.exact_gain("relu", N)
        assert g == pytest.approx(math.sqrt(2.0) * (1.0 + 1.25 / N), rel=1e-15)
        assert N * theory.log_z_var("relu", N) == pytest.approx(5.0, rel=1e-8)


@pytest.mark.parametrize("N", [2, 4, 16])
def test_relu_moments_match_sampled_binomial_chi2(N):
    rng = np.random.default_rng(7 + N)
    M = 400_000
    k = rng.binomial(N, 0.5, size=M)
    k = k[k >= 1]  # condition on survival
    ln_z = np.log(rng.chisquare(k) / N)
    se_mean = ln_z.std(ddof=1) / math.sqrt(k.size)
    assert abs(ln_z.mean() - theory.log_z_mean("relu", N)) < 5 * se_mean
    c = ln_z - ln_z.mean()
    var = c.var(ddof=1)
    se_var = math.sqrt((np.mean(c**4) - var**2) / k.size)
    assert abs(var - theory.log_z_var("relu", N)) < 5 * se_var


def test_relu_death_probability():
    assert theory.relu_death_probability(3) == 0.125


# --- g* ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["linear", "relu"])
@pytest.mark.parametrize("N", [1, 2, 5, 33, 1000])
def test_exact_gain_solves_zero_drift(name, N):
    g = theory.exact_gain(name, N)
    assert theory.log_z_mean(name, N, g) == pytest.approx(0.0, abs=1e-12)
    # m(g) = 2 ln g + c increases, so g* is the only root
    assert theory.log_z_mean(name, N, 1.01 * g) > 0 > theory.log_z_mean(name, N, 0.99 * g)


@pytest.mark.parametrize("N", [2, 3, 4, 6, 10, 50, 1000])
def test_paper_linear_formula_error_is_second_order(N):
    """g* = exp(1/(2N) + 1/(6N²) + O(N⁻⁴)) from ψ's asymptotic series; the paper keeps
    the first term, so ln(g*/exp(1/(2N))) = 1/(6N²) within the next term, 0.4/N² relative
    (the series alternates, so the remainder is below the first omitted term)."""
    ratio = math.log(theory.exact_gain("linear", N) / theory.paper_linear_gain(N))
    assert abs(6 * N * N * ratio - 1.0) <= 0.4 / N**2


@pytest.mark.parametrize("N", [10, 11, 12, 15, 20, 30, 50, 100, 200, 500, 1000, 2000])
def test_paper_relu_formula_within_half_percent_for_N_at_least_10(N):
    exact = theory.exact_gain("relu", N)
    assert abs(theory.paper_relu_gain(N) / exact - 1.0) < 0.005


def test_paper_relu_formula_error_at_small_N_is_recorded():
    """The fitted formula is several percent off below N ≈ 9 (docs/design.md §Exact results).

    Recorded values (paper / exact − 1): it underestimates for N <= 4 (its max(N, 6)
    floor keeps it at the N = 6 value while g* keeps growing) and overestimates for
    5 <= N <= 9; the largest error, about 7%, is at N = 2 and N = 6.
    """
    rel = {N: theory.paper_relu_gain(N) / theory.exact_gain("relu", N) - 1 for N in range(2, 10)}
    print("\nN  paper/exact - 1")
    for N, r in rel.items():
        print(f"{N:<2d} {100 * r:+.2f}%")
    assert all(abs(r) > 0.005 for r in rel.values())
    assert all(rel[N] < 0 for N in (2, 3, 4))
    assert all(rel[N] > 0 for N in range(5, 10))
    assert max(abs(r) for r in rel.values()) > 0.05
    assert theory.paper_formula_gain("relu", 7) == theory.paper_relu_gain(7)


def test_exact_results_refuse_other_nonlinearities():
    with pytest.raises(ValueError, match="exact results exist for linear, relu"):
        theory.exact_gain("tanh", 10)


# --- mean field ------------------------------------------------------------------------


def test_mean_field_gain_homogeneous_and_tanh():
    assert theory.mean_field_gain("linear") == pytest.approx(1.0, rel=1e-10)
    assert theory.mean_field_gain("relu") == pytest.approx(math.sqrt(2.0), rel=1e-10)
    assert theory.mean_field_gain("tanh") == pytest.approx(1.0, rel=1e-6)  # 1 / tanh'(0)


def _gauss(h, q: float) -> float:
    """E[h(√q ζ)], ζ ~ N(0, 1), by adaptive quadrature (independent of theory's rule)."""
    s = math.sqrt(q)
    return integrate.quad(lambda z: h(s * z) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi),
                          -12, 12, limit=200, epsabs=1e-14)[0]


@pytest.mark.parametrize("bias_std", [0.1, 0.3])
def test_mean_field_gain_with_bias_is_critical(bias_std):
    """At g*, iterate q -> g² E[tanh(√q ζ)²] + σ_b² to its fixed point; then χ = 1."""
    g = theory.mean_field_gain("tanh", bias_std)
    assert g > 1.0  # a bias pushes the critical gain up
    q = 1.0
    for _ in range(2000):
        q_new = g * g * _gauss(lambda a: math.tanh(a) ** 2, q) + bias_std**2
        if abs(q_new - q) < 1e-13:
            break
        q = q_new
    chi = g * g * _gauss(lambda a: (1 - math.tanh(a) ** 2) ** 2, q)
    assert chi == pytest.approx(1.0, abs=1e-5)
    assert theory.mean_field_chi("tanh", g, bias_std) == pytest.approx(1.0, abs=1e-6)


def test_mean_field_chi_orders_phases():
    # tanh: ordered (χ < 1) below the critical gain, chaotic (χ > 1) above
    assert theory.mean_field_chi("tanh", 0.5) == pytest.approx(0.25, rel=1e-6)
    assert theory.mean_field_chi("tanh", 2.0) > 1.0


@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_mean_field_gain_of_a_bistable_map_is_where_unit_variance_stops_shrinking(name):
    """GELU and SiLU have two attractors (q = 0, q = inf) for a range of g: the critical
    gain seen from a unit-variance input separates the two fates of q = 1."""
    g = theory.mean_field_gain(name)
    assert theory.mean_field_fixed_point(name, 0.98 * g) < 1e-6  # ordered: q -> 0
    assert theory.mean_field_fixed_point(name, 1.02 * g) == math.inf  # chaotic: q -> inf
    assert theory.mean_field_chi(name, 0.98 * g) < 1.0
