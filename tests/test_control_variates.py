"""Control variates (docs/design.md §Control variates) and the calibration of the CI of g*.

* The controls' exact means, E A_ξ = Σ_d (ψ(n_d/2) + ln 2) and E A_η = Σ_d (ψ((n_{d-1} − 1)/2)
  + ln 2) (network) or Σ_d (ψ(n_{d-1}/2) + ln 2) (paper), against simulation within 4 SE.
* Coverage: over 300 independent seeds the 95% CI of g* must cover the truth between
  92% and 98% of the time (the binomial SD of the coverage is 1.3%), with and without
  control variates. Truth: rwinit.theory.exact_gain (linear; ReLU paper model) or, for
  tanh, a reference solved once here with 1000 times the samples.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rwinit import optimal_gain, simulate_walk, theory
from rwinit.walk import simulate_layers

SEEDS = 300


def _control_means_agree(r, k: float = 4.0) -> None:
    n = r.moments_n
    for col, name in ((2, "A_xi"), (3, "A_eta")):
        mean = r.moments_mean[col]  # the average of A − E A
        se = math.sqrt(r.moments_comoment[col, col] / (n - 1) / n)
        assert se > 0, name
        assert abs(mean) <= k * se, (name, mean, se)


@pytest.mark.parametrize("model", ["network", "paper"])
def test_control_variates_have_their_exact_means_square(model):
    r = simulate_walk("tanh", 8, 6, gain=1.3, model=model, samples=4000, seed=2)
    assert r.controls == ("A_xi", "A_eta")
    _control_means_agree(r)


@pytest.mark.parametrize("model", ["network", "paper"])
def test_control_variates_have_their_exact_means_rectangular(model):
    r = simulate_layers([5, 9, 3, 7], ["tanh", "relu", "linear"], [1.2, 1.4, 1.0],
                        bias_std=0.2, model=model, samples=4000, seed=3)
    _control_means_agree(r)


def test_exact_means_would_catch_the_wrong_degrees_of_freedom():
    """The network model's A_η has n − 1 degrees of freedom per layer; with n the test
    above would fail (it has the power to tell them apart)."""
    N, D = 8, 6
    r = simulate_walk("tanh", N, D, gain=1.3, model="network", samples=4000, seed=2)
    wrong_shift = D * (theory.log_chi2_mean(N) - theory.log_chi2_mean(N - 1))
    se = math.sqrt(r.moments_comoment[3, 3] / (r.moments_n - 1) / r.moments_n)
    assert abs(r.moments_mean[3] - wrong_shift) > 10 * se


def test_control_variates_reduce_the_variance_for_tanh():
    r = simulate_walk("tanh", 32, 30, gain=1.3, samples=2000, seed=4)
    assert r.variance_reduction > 2.0
    assert abs(r.drift_cv - r.drift) <= 5 * r.drift_se  # same quantity, less noise


def _coverage(truth: float, control_variates: bool, **kwargs) -> float:
    hits = 0
    for seed in range(SEEDS):
        r = optimal_gain(seed=10_000 + seed, control_variates=control_variates, **kwargs)
        hits += r.ci_low <= truth <= r.ci_high
    return hits / SEEDS


@pytest.mark.parametrize("control_variates", [True, False])
@pytest.mark.parametrize(("name", "model", "N"),
                         [("linear", "network", 8), ("relu", "paper", 10)])
def test_ci_coverage_against_exact_gains(name, model, N, control_variates):
    truth = theory.exact_gain(name, N)
    cover = _coverage(truth, control_variates, nonlinearity=name, width=N, depth=6,
                      model=model, method="homogeneous", samples=64)
    assert 0.92 <= cover <= 0.98, cover


@pytest.fixture(scope="module")
def tanh_reference() -> float:
    ref = optimal_gain("tanh", 16, 6, model="network", samples=64_000, seed=1)
    assert ref.se < 0.005  # under a tenth of the SE of the 64-sample answers below (~0.08)
    return ref.g


@pytest.mark.parametrize("control_variates", [True, False])
def test_ci_coverage_for_tanh_root_finding(tanh_reference, control_variates):
    cover = _coverage(tanh_reference, control_variates, nonlinearity="tanh", width=16,
                      depth=6, model="network", samples=64)
    assert 0.92 <= cover <= 0.98, cover


def test_standard_error_is_the_spread_of_the_estimates():
    """The reported SE (with controls) matches the seed-to-seed spread of g*."""
    gs, ses = [], []
    for seed in range(60):
        r = optimal_gain("tanh", 16, 6, model="network", samples=64, seed=20_000 + seed)
        gs.append(r.g)
        ses.append(r.se)
    spread, typical = np.std(gs, ddof=1), np.sqrt(np.mean(np.square(ses)))
    # the SD of a 60-sample standard deviation is about 9%: allow 4 of them
    assert abs(spread / typical - 1) < 0.4, (spread, typical)
