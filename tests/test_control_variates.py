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


# --- results say what they cost and where they fall short --------------------------------


def test_solve_multiplier_finds_the_exact_root_of_a_rectangular_linear_stack():
    """One multiplier c on every gain of a linear paper-model stack: Σ_d E ln z_d = 0 at
    2D ln c = −Σ_d [2 ln g_d + ψ(n_{d-1}/2) − ln(n_{d-1}/2)] (docs/design.md)."""
    from scipy import special

    from rwinit.solver import solve_multiplier

    widths, gains = [6, 11, 4, 9], [0.9, 1.2, 1.1]
    D = len(gains)
    total = sum(2 * math.log(g) + special.digamma(n / 2) - math.log(n / 2)
                for g, n in zip(gains, widths[:-1], strict=True))
    truth = math.exp(-total / (2 * D))

    def walk_at(c, samples, seed):
        return simulate_layers(widths, "linear", [c * g for g in gains], model="paper",
                               samples=samples, seed=seed)

    res = solve_multiplier(walk_at, samples=2000, seed=5, start=1.0)
    assert abs(res.g - truth) <= 4 * res.se, (res.g, truth, res.se)
    assert res.evaluations >= 3 and res.samples == 2000 and res.target_met
    assert res.variance_reduction > 1.0 and res.control_variates


def test_short_of_target_is_reported(monkeypatch):
    from rwinit import _config

    monkeypatch.setattr(_config, "MAX_SAMPLES", 100)
    r = optimal_gain("tanh", 16, 20, ci_halfwidth=1e-4, seed=2)
    assert not r.target_met and r.samples == 100 and "MAX_SAMPLES" in r.warning
    assert r.to_dict()["target_met"] is False


def test_mostly_dead_walks_are_reported():
    r = optimal_gain("relu", 3, 8, model="network", samples=400, seed=3)
    assert r.dead > 40 and "died" in r.warning


def test_statistics_are_streamed_beyond_the_per_sample_limit(monkeypatch):
    """Past KEEP_SAMPLE_ARRAYS no per-sample array is kept; the estimates are the same."""
    from rwinit import _config

    kw = dict(gain=1.3, samples=300, seed=8)
    full = simulate_walk("tanh", 8, 5, **kw)
    monkeypatch.setattr(_config, "KEEP_SAMPLE_ARRAYS", 100)
    streamed = simulate_walk("tanh", 8, 5, **kw)
    assert streamed.sample_log_ratio is None and full.sample_log_ratio is not None
    for name in ("drift", "drift_se", "drift_cv", "drift_cv_se"):
        assert getattr(streamed, name) == pytest.approx(getattr(full, name), rel=1e-12)
    np.testing.assert_array_equal(streamed.walk_mean, full.walk_mean)


def test_cli_reports_the_variance_reduction():
    import json
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "rwinit", "gain", "-f", "tanh", "-N", "12", "-D", "8",
           "-M", "64", "-q"]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert "control variates: variance" in text and "without them" in text
    out = json.loads(subprocess.run([*cmd, "--json"], capture_output=True, text=True,
                                    check=True).stdout)
    assert out["control_variates"] is True and out["variance_reduction"] > 1.0
    assert out["samples_without_cv"] >= out["samples"] and out["target_met"] is True


def test_scipy_free_digamma_and_t_quantile_match_scipy():
    """The solver avoids SciPy at start-up: its ψ and t quantile against SciPy's."""
    from scipy import special

    from rwinit.solver import _quantile
    from rwinit.walk_stats import digamma, log_chi2_mean

    for x in (0.5, 1.0, 1.5, 2.5, 9.5, 10.0, 63.5, 1e4, 5e5):
        assert digamma(x) == pytest.approx(special.digamma(x), rel=1e-13, abs=1e-15)
    assert log_chi2_mean(7) == pytest.approx(theory.log_chi2_mean(7), rel=1e-13)
    for dof in (5, 19, 20, 61, 500, 10**6):
        for conf in (0.9, 0.95, 0.999):
            assert _quantile(conf, dof) == pytest.approx(special.stdtrit(dof, 0.5 + conf / 2),
                                                         rel=1e-5)
