"""The unbiased gain g*: the gain that makes the walk of ln |δ| driftless.

g* solves m(g) = E[ln z] = 0, where z = |δ_{d-1}|²/|δ_d|² is the per-layer squared
norm ratio of back-propagation (Sussillo & Abbott, arXiv:1412.6558, §3). Three
methods, chosen automatically (and reported in the result):

``exact``
    linear (both models) and ReLU (paper model) with Gaussian weights and no bias:
    the digamma sums of :mod:`rwinit.theory`; ``se = 0``.
``homogeneous``
    positively homogeneous f (linear, ReLU, leaky ReLU) without bias: f'(g a) = f'(a),
    so m(g) = 2 ln g + c and one Monte Carlo estimate of c at g = 1 gives
    g* = exp(−c/2), with SE g*·SE(c)/2 — no root finding.
``root``
    everything else: m(g) is estimated with common random numbers (the same random
    stream for every g, so that m is a smooth function of g), the root is bracketed and
    found by Brent's method, and the confidence interval is SE(m)/m'(g*) with the slope
    from a common-random-numbers central difference.

``paper-formula`` (on request only) returns the paper's approximations (linear, ReLU).

Unless ``samples`` is given, a pilot run of :data:`rwinit._config.PILOT_SAMPLES`
samples sets the sample count that reaches the requested confidence half-width.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

from scipy import optimize, special

from . import _config, theory
from .errors import RwinitError
from .nonlinearities import Nonlinearity, get_nonlinearity
from .progress import progress_bar
from .validation import (
    check_choice,
    check_depth,
    check_model,
    check_nonnegative,
    check_samples,
    check_width,
)
from .walk import SeedLike, WalkResult, seed_sequence, simulate_walk
from .weights import check_sparsity, weight_code

METHODS: tuple[str, ...] = ("auto", "exact", "homogeneous", "root", "paper-formula")


@dataclass(frozen=True)
class GainResult:
    """An unbiased gain with its uncertainty and provenance.

    Attributes
    ----------
    g : float
        The unbiased gain g*.
    se : float
        Its standard error (0 for exact and formula results).
    ci_low, ci_high : float
        Confidence interval at level ``confidence``.
    method : str
        ``exact``, ``homogeneous``, ``root`` or ``paper-formula``.
    samples : int
        Monte Carlo samples per evaluation of m(g) (0 for exact results).
    layers : int
        Layer-samples back-propagated in total (the work the answer cost).
    evaluations : int
        Evaluations of m(g).
    seconds : float
        Wall time.
    dead : int
        Dead walks in the final evaluation (excluded from the estimate).
    """

    nonlinearity: str
    width: int
    depth: int | None
    model: str
    weights: str
    bias_std: float
    g: float
    se: float
    ci_low: float
    ci_high: float
    confidence: float
    method: str
    samples: int
    layers: int
    evaluations: int
    seconds: float
    seed: int | None
    dead: int = 0

    @property
    def variant(self) -> str:
        """``stationary`` or ``depth-D``."""
        return "stationary" if self.depth is None else "depth-D"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary."""
        out = asdict(self)
        out["variant"] = self.variant
        return out


def _is_exact_case(nl: Nonlinearity, model: str, weights: str, bias_std: float) -> bool:
    if weights != "gaussian" or bias_std != 0.0:
        return False
    if nl.name == "linear":
        return True  # the forward pass never touches δ: both models coincide
    return nl.name == "relu" and model == "paper"


def optimal_gain(
    nonlinearity: str | Nonlinearity,
    width: int,
    depth: int | None = None,
    *,
    model: str = "network",
    weights: str = "gaussian",
    bias_std: float = 0.0,
    sparsity: int | None = None,
    samples: int | None = None,
    ci_halfwidth: float | None = None,
    seed: SeedLike = 0,
    method: str = "auto",
    confidence: float = _config.CONFIDENCE,
    threads: int | None = None,
    progress: bool = False,
) -> GainResult:
    """The unbiased gain g* for a nonlinearity and width.

    Parameters
    ----------
    nonlinearity : str or Nonlinearity
        A registered name (see :func:`rwinit.available_nonlinearities`).
    width : int
        N, the width of every layer.
    depth : int or None
        D for the depth-D variant (whole walk of a depth-D network fed unit-variance
        inputs); ``None`` for the stationary variant (steady-state per-layer drift).
    model : {"network", "paper"}
        True back-propagation (default) or the paper's independent-backward-matrix model.
    weights : str
        Weight distribution: gaussian, uniform, truncated_normal, orthogonal, sparse.
    bias_std : float
        Standard deviation of the biases.
    sparsity : int, optional
        Non-zeros per unit for ``weights="sparse"``.
    samples : int, optional
        Monte Carlo samples per evaluation; by default chosen from a pilot run to reach
        ``ci_halfwidth``.
    ci_halfwidth : float, optional
        Target half-width of the confidence interval (default 0.005).
    seed : int, SeedSequence, Generator or None
        Random seed; the answer is a deterministic function of it.
    method : {"auto", "exact", "homogeneous", "root", "paper-formula"}
    confidence : float
        Level of the reported interval.
    threads : int, optional
        Worker threads.
    progress : bool
        Progress bars on stderr.

    Returns
    -------
    GainResult
    """
    nl = get_nonlinearity(nonlinearity)
    N = check_width(width)
    D = None if depth is None else check_depth(depth)
    model = check_model(model)
    weight_code(weights)
    b = check_nonnegative(bias_std, "bias_std")
    k = check_sparsity(weights, sparsity, N)
    method = check_choice(method, "method", METHODS)
    if samples is not None:
        samples = check_samples(samples)
    target = _config.DEFAULT_CI_HALFWIDTH if ci_halfwidth is None else float(ci_halfwidth)
    if not (math.isfinite(target) and target > 0):
        raise RwinitError(f"ci_halfwidth must be a finite number > 0, got {ci_halfwidth!r}")
    if not 0.0 < confidence < 1.0:
        raise RwinitError(f"confidence must be in (0, 1), got {confidence!r}")
    ss = seed_sequence(seed)
    seed_value = int(ss.entropy) if isinstance(ss.entropy, int) else None
    common = dict(nonlinearity=nl.label, width=N, depth=D, model=model, weights=weights,
                  bias_std=b, confidence=confidence, seed=seed_value)
    t0 = time.perf_counter()

    if method == "auto":
        if _is_exact_case(nl, model, weights, b):
            method = "exact"
        elif nl.homogeneous and b == 0.0:
            method = "homogeneous"
        else:
            method = "root"
    if method in ("exact", "paper-formula"):
        if not _is_exact_case(nl, model, weights, b):
            raise RwinitError(
                f"method {method!r} applies to linear (any model) and relu (paper model) "
                "with gaussian weights and no bias"
            )
        g = theory.exact_gain(nl, N) if method == "exact" else theory.paper_formula_gain(nl, N)
        return GainResult(g=g, se=0.0, ci_low=g, ci_high=g, method=method, samples=0,
                          layers=0, evaluations=0, seconds=time.perf_counter() - t0, **common)
    if method == "homogeneous" and not (nl.homogeneous and b == 0.0):
        raise RwinitError("method 'homogeneous' needs a positively homogeneous f and no bias")

    z = special.ndtri(0.5 + confidence / 2)  # the normal quantile (= stats.norm.ppf)
    walk_kw = dict(width=N, depth=D, model=model, weights=weights, bias_std=b,
                   sparsity=k or None, seed=ss, threads=threads)
    solve = _solve_homogeneous if method == "homogeneous" else _solve_root
    with progress_bar(None, f"g* {nl.label} N={N}", enabled=progress) as bar:
        walk_kw["on_walk"] = lambda: bar.update(1)
        result = _solve_to_target(solve, nl, samples, target, z, walk_kw)
    return GainResult(method=method, seconds=time.perf_counter() - t0, **result, **common)


def _solve_to_target(solve, nl: Nonlinearity, samples: int | None, target: float, z: float,
                     walk_kw: dict) -> dict:
    """Run ``solve`` with ``samples``, or with a pilot and then the count that hits ``target``."""
    if samples is None:
        pilot = solve(nl, _config.PILOT_SAMPLES, z, walk_kw)
        halfwidth = 0.5 * (pilot["ci_high"] - pilot["ci_low"])
        if halfwidth <= target:
            result = pilot
        else:
            need = math.ceil(_config.PILOT_SAMPLES * 1.2 * (halfwidth / target) ** 2)
            result = solve(nl, min(need, _config.MAX_SAMPLES), z, walk_kw, guess=pilot)
            result["layers"] += pilot["layers"]
            result["evaluations"] += pilot["evaluations"]
        return result
    return solve(nl, samples, z, walk_kw)


def _walk(nl: Nonlinearity, gain: float, samples: int, walk_kw: dict) -> WalkResult:
    kw = dict(walk_kw)
    on_walk = kw.pop("on_walk", None)
    result = simulate_walk(nl, gain=gain, samples=samples, **kw)
    if on_walk is not None:
        on_walk()
    if result.samples_used < 2:
        raise RwinitError(
            f"fewer than two of {samples} walks survived ({result.dead} died, "
            f"{result.overflowed} overflowed) at g={gain:.4g}; use more samples or width"
        )
    return result


def _cost(result: WalkResult) -> int:
    return result.samples * (result.layers + sum(result.burn_in))


def _solve_homogeneous(
    nl: Nonlinearity, samples: int, z: float, walk_kw: dict, guess: dict | None = None
) -> dict:
    """m(g) = 2 ln g + c: estimate c at g = 1, then g* = exp(−c/2)."""
    r = _walk(nl, 1.0, samples, walk_kw)
    c, c_se = r.drift, r.drift_se
    g = math.exp(-c / 2)
    return dict(g=g, se=g * c_se / 2, ci_low=math.exp(-(c + z * c_se) / 2),
                ci_high=math.exp(-(c - z * c_se) / 2), samples=samples,
                layers=_cost(r), evaluations=1, dead=r.dead)


def _solve_root(
    nl: Nonlinearity, samples: int, z: float, walk_kw: dict, guess: dict | None = None
) -> dict:
    """Brent's method on the common-random-numbers estimate of m(g).

    The bracket starts at the mean-field gain, or around ``guess`` (a pilot's answer).
    """
    cost = 0
    evaluations = 0
    cache: dict[float, WalkResult] = {}

    def m(g: float) -> float:
        nonlocal cost, evaluations
        if g not in cache:
            cache[g] = _walk(nl, g, samples, walk_kw)
            cost += _cost(cache[g])
            evaluations += 1
        return cache[g].drift

    g_min, g_max = _config.GAIN_SEARCH_RANGE
    if guess is not None:
        lo = max(guess["g"] - 4 * guess["se"], guess["g"] / _config.BRACKET_FACTOR, g_min)
        hi = min(guess["g"] + 4 * guess["se"], guess["g"] * _config.BRACKET_FACTOR, g_max)
    else:
        try:
            lo = theory.mean_field_gain(nl, walk_kw["bias_std"])
        except RwinitError:
            lo = 1.0
        hi = lo * _config.BRACKET_FACTOR
    m_lo, m_hi = m(lo), m(hi)
    for _ in range(_config.BRACKET_MAX_STEPS):
        if m_lo <= 0.0 <= m_hi or m_hi <= 0.0 <= m_lo:
            break
        # m grows with g (larger g, larger |δ| growth): step towards the sign change
        if min(m_lo, m_hi) > 0.0 and lo > g_min:
            lo, hi, m_hi = max(lo / _config.BRACKET_FACTOR, g_min), lo, m_lo
            m_lo = m(lo)
        elif max(m_lo, m_hi) < 0.0 and hi < g_max:
            lo, hi, m_lo = hi, min(hi * _config.BRACKET_FACTOR, g_max), m_hi
            m_hi = m(hi)
        else:
            break
    if not (m_lo <= 0.0 <= m_hi or m_hi <= 0.0 <= m_lo):
        sign = "negative" if max(m_lo, m_hi) < 0.0 else "positive"
        raise RwinitError(
            f"no unbiased gain for {nl.label} at N={walk_kw['width']}: the drift E[ln z] "
            f"stays {sign} for g in [{g_min:g}, {g_max:g}]"
        )
    g = float(optimize.brentq(m, lo, hi, rtol=_config.ROOT_RTOL))
    m(g)
    at_root = cache[g]
    # one-sided slopes, the smaller one kept: where m(g) has a kink at the root (stationary
    # tanh near g = 1, where the forward variance leaves zero) a central difference would
    # average the steep side in and understate the standard error
    h = _config.SLOPE_RELATIVE_STEP * g
    m_g = at_root.drift
    slopes = [s for s in ((m_g - m(g - h)) / h, (m(g + h) - m_g) / h) if s > 0]
    if not slopes:
        raise RwinitError(f"m(g) is not increasing at g={g:.4g} for {nl.label}; no CI")
    slope = min(slopes)
    se = at_root.drift_se / slope
    return dict(g=g, se=se, ci_low=float(g - z * se), ci_high=float(g + z * se), samples=samples,
                layers=cost, evaluations=evaluations, dead=at_root.dead)


__all__ = ["GainResult", "METHODS", "optimal_gain"]
