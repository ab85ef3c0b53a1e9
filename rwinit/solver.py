"""The unbiased gain g*: the gain that makes the walk of ln |δ| driftless.

g* solves m(g) = E[ln z] = 0, where z = |δ_{d-1}|²/|δ_d|² is the per-layer squared
norm ratio of back-propagation (Sussillo & Abbott, arXiv:1412.6558, §3; docs/design.md
§The solver). Three methods, chosen automatically (and reported in the result):

``exact``
    linear (both models) and ReLU (paper model) with Gaussian weights and no bias:
    the digamma sums of :mod:`rwinit.theory`; ``se = 0``.
``homogeneous``
    positively homogeneous f (linear, ReLU, leaky ReLU) without bias: f'(g a) = f'(a),
    so m(g) = 2 ln g + c and one Monte Carlo estimate of c at g = 1 gives
    g* = exp(−c/2), with SE g*·SE(c)/2 — no root finding.
``root``
    everything else: m(g) is estimated with common random numbers (the same random
    stream for every g, so that m is a smooth function of g) and its root found by
    Newton steps on the CRN secant slope (falling back to bracketing and Brent's method
    where m is not well behaved); the confidence interval is SE(m)/m'(g*), with the
    smaller of the two one-sided CRN slopes at the root.

``paper-formula`` (on request only) returns the paper's approximations (linear, ReLU).

For the rotational sampler every estimate of m uses the control variates of
docs/design.md §Control variates (coefficients fitted at each g, SE from the regression
residual); ``control_variates=False`` turns them off. Unless ``samples`` is given, a pilot
run of :data:`rwinit._config.PILOT_SAMPLES` samples sets the sample count that reaches
the requested confidence half-width. :func:`solve_multiplier` is the same root solver for
any walk, e.g. one multiplier on a set of layers of a real network.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from . import _config
from .errors import NoUnbiasedGain, RwinitError
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
        Monte Carlo samples per evaluation of m(g) in the final stage (0 for exact results):
        the samples the confidence interval needed.
    layers : int
        Layer-samples back-propagated in total (the work the answer cost).
    evaluations : int
        Evaluations of m(g).
    seconds : float
        Wall time.
    dead : int
        Dead walks in the final evaluation (excluded from the estimate).
    overflowed : int
        Walks whose forward pass overflowed in the final evaluation (excluded).
    control_variates : bool
        Whether the estimate used control variates.
    variance_reduction : float
        Var(plain estimate) / Var(estimate with control variates) at the root (1 without
        them; NaN for exact results).
    samples_without_cv : int
        The samples per evaluation the same CI would have needed without control variates
        (``samples × variance_reduction``).
    target_met : bool
        False when the requested CI half-width was not reached (the sample count hit
        :data:`rwinit._config.MAX_SAMPLES`); ``warning`` then says so.
    warning : str
        Empty, or one sentence on what makes the result weaker than asked for.
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
    overflowed: int = 0
    control_variates: bool = False
    variance_reduction: float = 1.0
    samples_without_cv: int = 0
    target_met: bool = True
    warning: str = ""

    @property
    def variant(self) -> str:
        """``stationary`` or ``depth-D``."""
        return "stationary" if self.depth is None else "depth-D"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary (NaN as None)."""
        out = asdict(self)
        out["variant"] = self.variant
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in out.items()}


@dataclass(frozen=True)
class MultiplierResult:
    """The root g of m(g) = 0 for a family of walks ``walk_at(g, samples, seed)``.

    ``samples`` is the count per evaluation in the final stage (what the CI needed),
    ``samples_without_cv`` what it would have needed without control variates, ``layers``
    the layer-samples spent in all, ``target_met`` False when MAX_SAMPLES capped the run.
    ``method`` is ``"root"``, or ``"max-drift"`` when no gain is driftless and g is where
    m is largest (``no_root="max-drift"``; no SE or CI then); ``drift`` ± ``drift_se``
    is m(g), the per-layer E[ln z] at the answer.
    """

    g: float
    se: float
    ci_low: float
    ci_high: float
    confidence: float
    samples: int
    evaluations: int
    layers: int
    variance_reduction: float
    samples_without_cv: int
    seconds: float
    target_met: bool
    dead: int
    overflowed: int
    control_variates: bool
    warning: str = ""
    method: str = "root"
    drift: float = 0.0
    drift_se: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary (NaN as None)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in asdict(self).items()}


def _is_exact_case(nl: Nonlinearity, model: str, weights: str, bias_std: float) -> bool:
    if weights != "gaussian" or bias_std != 0.0:
        return False
    if nl.name == "linear":
        return True  # the forward pass never touches δ: both models coincide
    return nl.name == "relu" and model == "paper"


def _closed_form_problem(method: str, nl: Nonlinearity, model: str, weights: str,
                         bias_std: float) -> str:
    """Why ``method`` (exact or paper-formula) does not apply: the one thing to change."""
    where = "linear (either model) and relu (paper model), gaussian weights, no bias"
    if nl.name not in ("linear", "relu"):
        why = f"it exists only for {where}, not {nl.label}"
    elif nl.name == "relu" and model != "paper":
        why = (f"for relu it needs the paper model (--model paper, model='paper'), not "
               f"{model!r}; the network model has no closed form")
    elif weights != "gaussian":
        why = f"it needs gaussian weights, not {weights!r}"
    else:
        why = f"it needs bias_std = 0, not {bias_std:g}"
    return f"method {method!r} does not apply: {why}"


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
    control_variates: bool = True,
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
    control_variates : bool
        Estimate m(g) with the rotational sampler's control variates (default); no effect
        for the explicit sampler, which has none.

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
            raise RwinitError(_closed_form_problem(method, nl, model, weights, b))
        from . import theory

        g = theory.exact_gain(nl, N) if method == "exact" else theory.paper_formula_gain(nl, N)
        return GainResult(g=g, se=0.0, ci_low=g, ci_high=g, method=method, samples=0,
                          layers=0, evaluations=0, seconds=time.perf_counter() - t0,
                          variance_reduction=math.nan, **common)
    if method == "homogeneous" and not (nl.homogeneous and b == 0.0):
        raise RwinitError("method 'homogeneous' needs a positively homogeneous f and no bias")

    walk_kw = dict(width=N, depth=D, model=model, weights=weights, bias_std=b,
                   sparsity=k or None, threads=threads)

    def walk_at(g: float, n: int, seed_: SeedLike) -> WalkResult:
        # its own bar too (after a second), so a long evaluation shows progress
        return simulate_walk(nl, gain=g, samples=n, seed=seed_, progress=progress, **walk_kw)

    if method == "homogeneous":
        res = _solve_homogeneous(walk_at, samples=samples, target=target,
                                 confidence=confidence, seed=ss, progress=progress,
                                 label=f"g* {nl.label} N={N}",
                                 control_variates=control_variates)
    else:
        # start at g = 1, not at the mean-field gain: its quadrature and SciPy cost half a
        # second of start-up, more than the few extra pilot evaluations it would save
        res = solve_multiplier(walk_at, ci_halfwidth=target, samples=samples,
                               confidence=confidence, start=_config.ROOT_START_GAIN, seed=ss,
                               progress=progress, label=f"g* {nl.label} N={N}",
                               control_variates=control_variates,
                               what=f"{nl.label} at N={N}")
    return GainResult(
        g=res.g, se=res.se, ci_low=res.ci_low, ci_high=res.ci_high, method=method,
        samples=res.samples, layers=res.layers, evaluations=res.evaluations,
        seconds=time.perf_counter() - t0, dead=res.dead, overflowed=res.overflowed,
        control_variates=res.control_variates, variance_reduction=res.variance_reduction,
        samples_without_cv=res.samples_without_cv, target_met=res.target_met,
        warning=res.warning, **common,
    )


# --- estimating m(g) ------------------------------------------------------------------


def _quantile(confidence: float, dof: int) -> float:
    """The two-sided ``confidence`` quantile of Student's t with ``dof`` degrees of freedom
    (the residual's: n − 1 − k with k fitted control coefficients).

    From the normal quantile z by the Cornish–Fisher expansion in 1/ν to ν⁻⁴
    (Abramowitz & Stegun 26.7.5; relative error below 1e-5 for ν >= 20), so that a solve
    needs no SciPy; SciPy's ``stdtrit`` below ν = 20.
    """
    from statistics import NormalDist

    p = 0.5 + confidence / 2
    if dof < 20:
        from scipy import special

        return float(special.stdtrit(dof, p))
    z = NormalDist().inv_cdf(p)
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    v = float(dof)
    return z + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4


def _cost(result: WalkResult) -> int:
    return result.samples * (result.layers + sum(result.burn_in))


class _Evaluator:
    """m(g) with its SE from ``walk_at``, cached per (g, samples), counting the work."""

    def __init__(self, walk_at, seed, control_variates: bool, bar) -> None:
        self.walk_at = walk_at
        self.seed = seed
        self.cv = control_variates
        self.bar = bar
        self.cache: dict[tuple[float, int], WalkResult] = {}
        self.layers = 0
        self.evaluations = 0

    def walk(self, g: float, samples: int, *, survivors: bool = True) -> WalkResult:
        """The walks at g (cached); with ``survivors``, fewer than two alive is an error."""
        key = (g, samples)
        if key not in self.cache:
            self.cache[key] = self.walk_at(g, samples, self.seed)
            self.layers += _cost(self.cache[key])
            self.evaluations += 1
            if self.bar is not None:
                self.bar.update(1)
        r = self.cache[key]
        if survivors and r.samples_used < 2:
            raise RwinitError(
                f"fewer than two of {samples} walks survived ({r.dead} died, "
                f"{r.overflowed} overflowed) at g={g:.4g}; use more samples or width"
            )
        return r

    def m(self, g: float, samples: int) -> tuple[float, float]:
        r = self.walk(g, samples)
        if self.cv:
            return r.drift_cv, r.drift_cv_se
        return r.drift, r.drift_se

    def m_alive(self, g: float, samples: int) -> tuple[float, float]:
        """m(g) and its SE, or NaNs where fewer than two walks survive (a gain that kills
        them all, e.g. every tanh unit of a narrow layer saturated to f' = 0): for the
        search, which then stays where walks survive."""
        if self.walk(g, samples, survivors=False).samples_used < 2:
            return math.nan, math.nan
        return self.m(g, samples)

    def quantile(self, confidence: float, r: WalkResult) -> float:
        """The CI's quantile for m estimated from ``r`` (t with the residual's dof)."""
        k = len(r.controls) if self.cv else 0
        return _quantile(confidence, max(r.moments_n - 1 - k, 1))

    def vrf(self, r: WalkResult) -> float:
        return r.variance_reduction if self.cv and r.controls else 1.0


def _staged(solve_once, samples: int | None, target: float):
    """Run ``solve_once(n, guess)``: with ``samples``, or a pilot and then the count that
    reaches ``target`` (once more if the first final run falls short)."""
    if samples is not None:
        return solve_once(samples, None), True
    n = _config.PILOT_SAMPLES
    res = solve_once(n, None)
    for _ in range(2):
        half = res["z"] * res["se"]
        if not half > target:  # reached (or NaN: nothing more to learn)
            return res, True
        if n >= _config.MAX_SAMPLES:
            return res, False
        n = min(math.ceil(n * 1.2 * (half / target) ** 2), _config.MAX_SAMPLES)
        res = solve_once(n, res)
    return res, not res["z"] * res["se"] > target


def _warning(met: bool, res: dict, target: float, r: WalkResult) -> str:
    """One sentence on what makes a result weaker than asked for, or ""."""
    parts = [] if met else [_short_warning(res, target)]
    lost = r.dead + r.overflowed
    if lost > _config.LOST_FRACTION_WARNING * r.samples:
        parts.append(f"{lost} of {r.samples} walks died ({r.dead}) or overflowed "
                     f"({r.overflowed}); the estimate is conditional on survival")
    return "; ".join(parts)


def _short_warning(res: dict, target: float) -> str:
    return (f"the {100 * res['confidence']:.0f}% CI half-width {res['z'] * res['se']:.3g} "
            f"is wider than the target {target:g}: the sample count reached MAX_SAMPLES "
            f"({_config.MAX_SAMPLES})")


def _solve_homogeneous(walk_at, *, samples, target, confidence, seed, progress, label,
                       control_variates) -> MultiplierResult:
    """m(g) = 2 ln g + c: estimate c at g = 1, then g* = exp(−c/2)."""
    t0 = time.perf_counter()
    with progress_bar(None, label, enabled=progress) as bar:
        ev = _Evaluator(walk_at, seed, control_variates, bar)

        def once(n: int, guess: dict | None) -> dict:
            c, c_se = ev.m(1.0, n)
            g = math.exp(-c / 2)
            r = ev.walk(1.0, n)
            return dict(g=g, se=g * c_se / 2, c=c, c_se=c_se, z=ev.quantile(confidence, r),
                        n=n, confidence=confidence, r=r)

        res, met = _staged(once, samples, target)
    r = res["r"]
    vrf = ev.vrf(r)
    c, c_se, z = res["c"], res["c_se"], res["z"]
    return MultiplierResult(
        g=res["g"], se=res["se"], ci_low=math.exp(-(c + z * c_se) / 2),
        ci_high=math.exp(-(c - z * c_se) / 2), confidence=confidence, samples=res["n"],
        evaluations=ev.evaluations, layers=ev.layers, variance_reduction=vrf,
        samples_without_cv=math.ceil(res["n"] * vrf) if math.isfinite(vrf) else res["n"],
        seconds=time.perf_counter() - t0, target_met=met, dead=r.dead,
        overflowed=r.overflowed, control_variates=control_variates and bool(r.controls),
        warning=_warning(met, res, target, r))


def solve_multiplier(
    walk_at: Callable[[float, int, SeedLike], WalkResult],
    *,
    ci_halfwidth: float | None = None,
    samples: int | None = None,
    confidence: float = _config.CONFIDENCE,
    start: float = 1.0,
    seed: SeedLike = 0,
    progress: bool = False,
    control_variates: bool = True,
    label: str = "g*",
    what: str = "this walk",
    no_root: str = "raise",
) -> MultiplierResult:
    """The multiplier g with m(g) = 0, where m is the drift of ``walk_at(g, samples, seed)``.

    The same solver :func:`optimal_gain` uses, for any family of walks: e.g. one factor
    applied to the gains of a set of layers of a real network. Every evaluation uses the
    same ``seed`` (common random numbers), so m is a smooth function of g; the root is
    found by Newton steps on the CRN secant slope from ``start`` (with bracketing and
    Brent's method as a fallback), and the CI is SE(m)/m'(g) at the root, with the smaller
    one-sided CRN slope (docs/design.md §The solver).

    Parameters
    ----------
    walk_at : callable
        ``walk_at(g, samples, seed) -> WalkResult``; m(g) is its ``drift_cv`` (or
        ``drift`` with ``control_variates=False``), assumed to increase with g.
    ci_halfwidth : float, optional
        Target CI half-width in g when ``samples`` is not given (default 0.005).
    samples : int, optional
        A fixed sample count per evaluation (no pilot).
    confidence : float
        Level of the interval.
    start : float
        First g tried (e.g. the mean-field gain).
    seed : int, SeedSequence, Generator or None
        Passed to every ``walk_at`` call.
    progress : bool
        A progress bar (evaluations) on stderr after a second.
    control_variates : bool
        Use the walks' control-variate estimate of m.
    no_root : {"raise", "max-drift"}
        What to do when no gain is driftless because m stays negative (or touches 0 only
        at its maximum): raise :class:`~rwinit.errors.NoUnbiasedGain`, or answer the gain
        where m is largest (:func:`largest_drift`, at ``samples`` or
        ``MAX_DRIFT_SAMPLES`` per evaluation) with ``method="max-drift"``, no CI and a
        warning. A drift positive for every g always raises.

    Returns
    -------
    MultiplierResult
    """
    if no_root not in ("raise", "max-drift"):
        raise RwinitError(f"no_root must be 'raise' or 'max-drift', got {no_root!r}")
    t0 = time.perf_counter()
    target = _config.DEFAULT_CI_HALFWIDTH if ci_halfwidth is None else float(ci_halfwidth)
    if not (math.isfinite(target) and target > 0):
        raise RwinitError(f"ci_halfwidth must be a finite number > 0, got {ci_halfwidth!r}")
    if samples is not None:
        samples = check_samples(samples)
    if not 0.0 < confidence < 1.0:
        raise RwinitError(f"confidence must be in (0, 1), got {confidence!r}")
    if not (math.isfinite(start) and start > 0):
        raise RwinitError(f"start must be a finite number > 0, got {start!r}")
    ss = seed_sequence(seed)
    with progress_bar(None, label, enabled=progress) as bar:
        ev = _Evaluator(walk_at, ss, control_variates, bar)

        def once(n: int, guess: dict | None) -> dict:
            # the one-sided CRN slopes at the root, for a pilot too: a secant slope from
            # points far apart can be much shallower and ask for far too many samples
            g0 = start if guess is None else guess["g"]
            slope = None if guess is None else guess["slope"]
            g, _ = _root(ev, n, g0, slope, what)
            return dict(_at_root(ev, n, g, what, None),
                        z=ev.quantile(confidence, ev.walk(g, n)), confidence=confidence)

        why = ""  # set when no gain is driftless and the largest drift answers
        try:
            res, met = _staged(once, samples, target)
        except NoUnbiasedGain as exc:
            if no_root == "raise" or exc.kind == "positive":
                raise
            n = _config.MAX_DRIFT_SAMPLES if samples is None else samples
            g = largest_drift(lambda g: ev.m_alive(g, n)[0])
            m, m_se = ev.m(g, n)
            res, met = dict(g=g, se=math.nan, n=n, m=m, m_se=m_se, z=math.nan), True
            change = f"falls by {-m / 2:.3g}" if m < 0 else f"rises by {m / 2:.3g}"
            why = (f"no gain makes {what} driftless ({str(exc).partition(': ')[2]}); "
                   f"g = {g:.4g} is where the drift is largest, E[ln z] = {m:.3g} ± "
                   f"{m_se:.2g} per layer (ln|δ| {change} per layer)"
                   + (": the gain that shrinks the gradient least" if m < 0 else ""))
    r = ev.walk(res["g"], res["n"])
    vrf = ev.vrf(r)
    g, se, z = res["g"], res["se"], res["z"]
    warning = "; ".join(w for w in (why, _warning(met, res, target, r)) if w)
    return MultiplierResult(
        g=g, se=se, ci_low=g - z * se, ci_high=g + z * se, confidence=confidence,
        samples=res["n"], evaluations=ev.evaluations, layers=ev.layers,
        variance_reduction=vrf,
        samples_without_cv=math.ceil(res["n"] * vrf) if math.isfinite(vrf) else res["n"],
        seconds=time.perf_counter() - t0, target_met=met, dead=r.dead,
        overflowed=r.overflowed, control_variates=control_variates and bool(r.controls),
        warning=warning, method="max-drift" if why else "root",
        drift=res["m"], drift_se=res["m_se"])


def largest_drift(m: Callable[[float], float]) -> float:
    """The g in ``GAIN_SEARCH_RANGE`` that maximises m(g), for a walk with no driftless gain.

    Where m(g) < 0 for every g the gradient shrinks whatever the gain: e.g. a tanh layer a
    few units wide (E ln χ²_n/n = ψ(n/2) − ln(n/2) < 0, and the saturating f' only lowers
    it), or a narrow tanh read-out, whose f' at large g costs more than the gain brings.
    The least biased choice is then the gain that shrinks |δ| least. m is evaluated on a
    grid of 41 gains, geometric over the range, and the best one refined by a bounded
    scalar search in ln g between its neighbours (to 1e-4 in ln g; the maximum is flat,
    so its drift is known far better than its place).
    """
    import numpy as np
    from scipy import optimize

    g_min, g_max = _config.GAIN_SEARCH_RANGE
    grid = np.exp(np.linspace(math.log(g_min), math.log(g_max), 41))
    values = np.array([m(float(g)) for g in grid])
    finite = np.isfinite(values)
    if not finite.any():
        raise RwinitError("the drift is not finite at any gain in the search range")
    i = int(np.argmax(np.where(finite, values, -np.inf)))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    best = optimize.minimize_scalar(lambda lg: -m(math.exp(lg)),
                                    bounds=(math.log(lo), math.log(hi)), method="bounded",
                                    options={"xatol": 1e-4})
    return float(math.exp(best.x)) if -best.fun >= values[i] else float(grid[i])


def _root(ev: _Evaluator, n: int, g0: float, slope: float | None,
          what: str) -> tuple[float, float]:
    """Newton steps on the CRN secant slope from ``g0``; bracketing + Brent as fallback.

    The first step uses ``slope`` (a pilot's) when given, else a step of
    NEWTON_FIRST_STEP·g0. Stops when the step is below a twentieth of the current standard
    error of the root (or 1e-12·g). Returns (root, last secant slope).
    """
    g_min, g_max = _config.GAIN_SEARCH_RANGE
    g0 = min(max(g0, g_min), g_max)
    m0, se0 = ev.m(g0, n)
    if slope is not None and slope > 0 and math.isfinite(m0):
        g1 = g0 - m0 / slope
    else:
        g1 = g0 * (1 + _config.NEWTON_FIRST_STEP)
    g1 = min(max(g1, g0 / _config.BRACKET_FACTOR**2, g_min), g0 * _config.BRACKET_FACTOR**2,
             g_max)
    if g1 == g0:
        g1 = g0 * (1 - _config.NEWTON_FIRST_STEP)
    pts = [(g0, m0, se0), (g1, *ev.m_alive(g1, n))]
    for _ in range(_config.NEWTON_MAX_STEPS):
        (ga, ma, _), (gb, mb, se_b) = pts[-2], pts[-1]
        if gb == ga or not (math.isfinite(ma) and math.isfinite(mb)):
            break
        slope = (mb - ma) / (gb - ga)
        if not slope > 0:
            break
        gn = gb - mb / slope
        # at most a factor BRACKET_FACTOR² per step, inside the search range
        lo, hi = gb / _config.BRACKET_FACTOR**2, gb * _config.BRACKET_FACTOR**2
        gn = min(max(gn, lo, g_min), hi, g_max)
        # converged when the next step is a twentieth of the root's standard error (or
        # at rounding level): further digits would only be noise
        tol = max(1e-12 * gb, 0.05 * se_b / slope if math.isfinite(se_b) else 0.0)
        if abs(gn - gb) <= tol:
            return gb, slope
        pts.append((gn, *ev.m_alive(gn, n)))
    g = _brent(ev, n, [(p[0], p[1]) for p in pts], g0, what)
    return g, math.nan


def _brent(ev: _Evaluator, n: int, pts: list, g0: float, what: str) -> float:
    """Bracket the sign change of m around the points tried, then Brent's method."""
    from scipy import optimize

    g_min, g_max = _config.GAIN_SEARCH_RANGE
    pts = sorted(pts)
    lo = hi = None
    g0 = min(max(g0, g_min), g_max)
    for (ga, ma), (gb, mb) in zip(pts, pts[1:], strict=False):
        if ma <= 0.0 <= mb or mb <= 0.0 <= ma:
            lo, hi = ga, gb
            break
    if lo is None:
        # the old way from the first point: m may fall again at very large g (saturation),
        # so walk geometrically from where the search started, not from where Newton went
        lo, hi = g0, min(g0 * _config.BRACKET_FACTOR, g_max)
        m_lo, m_hi = ev.m(lo, n)[0], ev.m_alive(hi, n)[0]
        for _ in range(_config.BRACKET_MAX_STEPS):
            if m_lo <= 0.0 <= m_hi or m_hi <= 0.0 <= m_lo:
                break
            if not (math.isfinite(m_lo) and math.isfinite(m_hi)):
                break  # every walk died at the new end: no further gain to look at
            # m grows with g (larger g, larger |δ| growth): step towards the sign change
            if min(m_lo, m_hi) > 0.0 and lo > g_min:
                lo, hi, m_hi = max(lo / _config.BRACKET_FACTOR, g_min), lo, m_lo
                m_lo = ev.m_alive(lo, n)[0]
            elif max(m_lo, m_hi) < 0.0 and hi < g_max:
                lo, hi, m_lo = hi, min(hi * _config.BRACKET_FACTOR, g_max), m_hi
                m_hi = ev.m_alive(hi, n)[0]
            else:
                break
        if not (m_lo <= 0.0 <= m_hi or m_hi <= 0.0 <= m_lo):
            # one end is finite: the search only steps on from two finite ends
            sign = "negative" if max(v for v in (m_lo, m_hi) if v == v) < 0.0 else "positive"
            dead = next((g for g, v in ((lo, m_lo), (hi, m_hi)) if v != v), None)
            where = "" if dead is None else f" wherever a walk survives; all died at g={dead:.4g}"
            raise NoUnbiasedGain(
                f"no unbiased gain for {what}: the drift E[ln z] stays {sign} for g in "
                f"[{g_min:g}, {g_max:g}]{where}", sign
            )
    return float(optimize.brentq(lambda g: ev.m(g, n)[0], lo, hi, rtol=_config.ROOT_RTOL))


def _at_root(ev: _Evaluator, n: int, g: float, what: str, secant: float | None) -> dict:
    """SE of the root: SE(m)/m'(g), with the smaller one-sided CRN slope (or ``secant``).

    Where m(g) has a kink at the root (stationary tanh near g = 1, where the forward
    variance leaves zero) a central difference would average the steep side in and
    understate the standard error.
    """
    m_g, m_se = ev.m(g, n)
    if secant is not None and secant > 0:
        return dict(g=g, se=m_se / secant, n=n, slope=secant, m=m_g, m_se=m_se)
    h = _config.SLOPE_RELATIVE_STEP * g
    slopes = [s for s in ((m_g - ev.m(g - h, n)[0]) / h, (ev.m(g + h, n)[0] - m_g) / h)
              if s > 0]
    if not slopes:
        raise NoUnbiasedGain(
            f"no unbiased gain for {what}: the drift E[ln z] reaches 0 only near g={g:.4g}, "
            "where it does not increase with g (a maximum of the drift, within the Monte "
            "Carlo error), so no gain is driftless with a confidence interval", "maximum"
        )
    return dict(g=g, se=m_se / min(slopes), n=n, slope=min(slopes), m=m_g, m_se=m_se)


__all__ = ["GainResult", "METHODS", "MultiplierResult", "largest_drift", "optimal_gain",
           "solve_multiplier"]
