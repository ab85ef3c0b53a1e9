"""Exact results for the log-norm walk, the paper's approximations, and mean-field gains.

Paper model, Gaussian weights of variance g²/N, zero biases (docs/design.md §Exact results;
Sussillo & Abbott, arXiv:1412.6558, §3). ψ is the digamma and ψ' the trigamma function.

* linear: z = (g²/N) χ²_N, so
  E ln z = 2 ln g + ψ(N/2) + ln(2/N) and Var ln z = ψ'(N/2);
  g* = exp(−½[ψ(N/2) + ln(2/N)]) ≈ exp(1/(2N)) (the paper's eq. 11).
* ReLU: k ~ Binomial(N, ½) units are active and z = (g²/N) χ²_k. Conditioning on
  k ≥ 1 (the walk dies with probability 2^−N per layer),
  E ln z = 2 ln g + E_k[ψ(k/2) + ln(2/N)] and Var ln z = E_k[ψ'(k/2)] + Var_k[ψ(k/2)].
  The paper's fitted formula g ≈ √2 exp(1.2 / (max(N, 6) − 2.4)) approximates it.

For the linear network the ``network`` and ``paper`` models coincide (the forward pass
does not touch δ), so the linear results hold for both.

The infinite-width (mean-field) critical gain solves χ(g) = g² E[f'(√q* ζ)²] = 1 at the
stable fixed point q* = g² E[f(√q* ζ)²] + σ_b² of the forward variance map, ζ ~ N(0, 1)
(Poole et al. 2016; Schoenholz et al. 2017, "Deep information propagation").
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special

from . import _config
from .errors import RwinitError
from .nonlinearities import BUILTIN_NONLINEARITIES, Nonlinearity, get_nonlinearity
from .validation import check_gain, check_nonnegative, check_width

#: Nonlinearities with exact results in this module.
EXACT_NONLINEARITIES: tuple[str, ...] = ("linear", "relu")


def log_chi2_mean(k: float) -> float:
    """E ln χ²_k = ψ(k/2) + ln 2, the exact mean of a control variate's term.

    For ξ ~ N(0, I_k), |ξ|² ~ χ²_k; the walk kernels' control variates A_ξ and A_η are
    sums of such logs (docs/design.md §Control variates). Infinite for k <= 0.
    """
    if k <= 0:
        return -math.inf
    return float(special.digamma(0.5 * k)) + math.log(2.0)


def _relu_k_distribution(N: int) -> tuple[np.ndarray, np.ndarray]:
    """Active counts k >= 1 and their probabilities under Binomial(N, ½) given k >= 1.

    For large N only the k within 40 standard deviations of N/2 are kept (the rest
    weigh less than 1e-300).
    """
    half_width = int(40 * math.sqrt(N) / 2) + 1
    lo = max(1, N // 2 - half_width)
    hi = min(N, N // 2 + half_width)
    k = np.arange(lo, hi + 1)
    from scipy.stats import binom  # lazily: scipy.stats costs ~1 s to import

    p = binom.pmf(k, N, 0.5)
    return k, p / p.sum()


def _relu_moments_expanded(N: int) -> tuple[float, float]:
    """(E ln z, Var ln z) at g = 1 for ReLU from an expansion, for wide layers.

    Taylor expansion of a function h of k ~ Binomial(N, ½) about its mean N/2, in the
    binomial's central moments m₂ = N/4, m₃ = 0, m₄ = 3N²/16 − N/8, with
    hⱼ = h⁽ʲ⁾(N/2) = ψⱼ(N/4)/2ʲ for h = ψ(·/2) (ψⱼ the polygamma functions):

        E h(k) = h₀ + h₂ m₂/2 + h₄ m₄/24 + O(N⁻³),
        Var h(k) = h₁² m₂ + h₁h₃ m₄/3 + h₂² (m₄ − m₂²)/4 + O(N⁻³).

    E ln z = E ψ(k/2) + ln(2/N) is formed as (ψ(x) − ln x) − ln 2 + …, x = N/4, with
    ψ(x) − ln x = −1/(2x) − 1/(12x²) + O(x⁻⁴), so that no two numbers near ln N cancel and
    g* keeps full precision. The neglected terms are below double precision above
    :data:`rwinit._config.RELU_EXPANSION_WIDTH`, and conditioning on k >= 1 changes
    nothing there (P(k = 0) = 2⁻ᴺ).
    """
    x, m2, m4 = N / 4.0, N / 4.0, 3.0 * N * N / 16.0 - N / 8.0
    psi = [float(special.polygamma(n, x)) for n in range(1, 6)]  # ψ₁ … ψ₅ at N/4
    psi_minus_log = -1.0 / (2.0 * x) - 1.0 / (12.0 * x * x)
    mean = psi_minus_log + psi[1] * m2 / 8.0 + psi[3] * m4 / 384.0 - math.log(2.0)
    mean_trigamma = psi[0] + psi[2] * m2 / 8.0 + psi[4] * m4 / 384.0
    h1, h2, h3 = psi[0] / 2.0, psi[1] / 4.0, psi[2] / 8.0
    var_psi = h1 * h1 * m2 + h1 * h3 * m4 / 3.0 + h2 * h2 * (m4 - m2 * m2) / 4.0
    return mean, mean_trigamma + var_psi


@lru_cache(maxsize=4096)
def _log_z_moments_at_unit_gain(nonlinearity: str, N: int) -> tuple[float, float]:
    """(E ln z, Var ln z) at g = 1 for ``linear`` or ``relu`` (paper model)."""
    if nonlinearity == "linear":
        return float(special.digamma(N / 2) + math.log(2 / N)), float(special.polygamma(1, N / 2))
    if N > _config.RELU_EXPANSION_WIDTH:
        return _relu_moments_expanded(N)
    k, p = _relu_k_distribution(N)
    psi = special.digamma(k / 2)
    mean_psi = float(np.dot(p, psi))
    var_psi = float(np.dot(p, (psi - mean_psi) ** 2))
    mean_trigamma = float(np.dot(p, special.polygamma(1, k / 2)))
    return mean_psi + math.log(2 / N), mean_trigamma + var_psi


def _exact_name(nonlinearity: str | Nonlinearity) -> str:
    nl = get_nonlinearity(nonlinearity)
    if nl.name not in EXACT_NONLINEARITIES:
        raise RwinitError(
            f"exact results exist for {', '.join(EXACT_NONLINEARITIES)}, not {nl.name!r}; "
            "use rwinit.optimal_gain for a Monte Carlo answer"
        )
    return nl.name


def log_z_mean(nonlinearity: str | Nonlinearity, width: int, gain: float = 1.0) -> float:
    """E[ln z] of one layer, exactly (linear, ReLU; paper model).

    E ln z = 2 ln g + ψ(N/2) + ln(2/N) (linear);
    E ln z = 2 ln g + E_k[ψ(k/2) + ln(2/N)], k ~ Bin(N, ½) | k >= 1 (ReLU).
    """
    name = _exact_name(nonlinearity)
    return 2 * math.log(check_gain(gain)) + _log_z_moments_at_unit_gain(name, check_width(width))[0]


def log_z_var(nonlinearity: str | Nonlinearity, width: int) -> float:
    """Var[ln z] of one layer, exactly; it does not depend on g.

    ψ'(N/2) (linear); E_k[ψ'(k/2)] + Var_k[ψ(k/2)] (ReLU).
    """
    name = _exact_name(nonlinearity)
    return _log_z_moments_at_unit_gain(name, check_width(width))[1]


def walk_variance(nonlinearity: str | Nonlinearity, width: int, depth: int) -> float:
    """Variance of ln(|δ_0|/|δ_D|) after D layers: D Var[ln z] / 4 (independent steps)."""
    return depth * log_z_var(nonlinearity, width) / 4.0


def exact_gain(nonlinearity: str | Nonlinearity, width: int) -> float:
    """The unbiased gain g* = exp(−½ E[ln z]_{g=1}) exactly (linear, ReLU; paper model)."""
    name = _exact_name(nonlinearity)
    return math.exp(-0.5 * _log_z_moments_at_unit_gain(name, check_width(width))[0])


def relu_death_probability(width: int) -> float:
    """Probability 2^−N that all N ReLU units of a layer are off, so the walk dies."""
    return 2.0 ** (-check_width(width))


def paper_linear_gain(width: int) -> float:
    """The paper's approximation g* ≈ exp(1/(2N)) for linear networks (arXiv:1412.6558, eq. 11)."""
    return math.exp(1.0 / (2.0 * check_width(width)))


def paper_relu_gain(width: int) -> float:
    """The paper's fitted formula g* ≈ √2 exp(1.2 / (max(N, 6) − 2.4)) for ReLU (eq. 13)."""
    return math.sqrt(2.0) * math.exp(1.2 / (max(check_width(width), 6) - 2.4))


def paper_formula_gain(nonlinearity: str | Nonlinearity, width: int) -> float:
    """The paper's approximate g* for ``linear`` or ``relu``."""
    name = _exact_name(nonlinearity)
    return paper_linear_gain(width) if name == "linear" else paper_relu_gain(width)


# --- infinite width (mean field) ------------------------------------------------------


def _half_line_quadrature() -> tuple[np.ndarray, np.ndarray]:
    """Nodes x_i >= 0 and weights so that E[h(ζ)] ≈ Σ_i w_i (h(x_i) + h(−x_i)), ζ ~ N(0, 1).

    Gauss quadrature on each half-line (generalized Laguerre, α = −½, after t = x²/2), so
    a kink at 0 (ReLU, leaky ReLU, ELU, SELU) costs no accuracy, unlike Gauss–Hermite.
    """
    t, w = special.roots_genlaguerre(_config.QUADRATURE_NODES, -0.5)
    return np.sqrt(2.0 * t), w / (2.0 * math.sqrt(math.pi))


def gaussian_expectation(h, scale: float = 1.0) -> float:
    """E[h(scale · ζ)], ζ ~ N(0, 1), by half-line Gauss quadrature (h vectorised)."""
    x, w = _half_line_quadrature()
    return float(np.dot(w, h(scale * x) + h(-scale * x)))


def mean_field_fixed_point(
    nonlinearity: str | Nonlinearity, gain: float, bias_std: float = 0.0
) -> float:
    """Stable fixed point q* of q ↦ g² E[f(√q ζ)²] + σ_b², reached from q = 1 by iteration.

    Returns 0 when the variance decays to zero and inf when it grows without bound.
    """
    nl = get_nonlinearity(nonlinearity)
    g = check_gain(gain)
    sb2 = check_nonnegative(bias_std, "bias_std") ** 2
    q = 1.0
    for _ in range(100_000):
        q_new = g * g * gaussian_expectation(lambda a: nl(a) ** 2, math.sqrt(q)) + sb2
        if not math.isfinite(q_new) or q_new > 1e12:
            return math.inf
        if abs(q_new - q) <= 1e-12 * max(q, 1e-300) or q_new < 1e-300:
            return q_new
        q = q_new
    return q


def mean_field_chi(nonlinearity: str | Nonlinearity, gain: float, bias_std: float = 0.0) -> float:
    """χ = g² E[f'(√q* ζ)²]: the mean growth of |δ|² per layer at infinite width."""
    nl = get_nonlinearity(nonlinearity)
    q = mean_field_fixed_point(nl, gain, bias_std)
    if not math.isfinite(q):
        return math.inf
    return gain * gain * gaussian_expectation(lambda a: nl.derivative(a) ** 2, math.sqrt(q))


def mean_field_gain(nonlinearity: str | Nonlinearity, bias_std: float = 0.0) -> float:
    """Infinite-width critical gain: the g with χ(g) = 1 at the fixed point (edge of chaos).

    For positively homogeneous f without bias, χ = g² E[f'(ζ)²] whatever q (1 for linear,
    √2 for ReLU). Otherwise the fixed point is parametrised by q: a q > σ_b² is the
    fixed point of the gain g(q)² = (q − σ_b²) / E[f(√q ζ)²], where
    χ(q) = g(q)² E[f'(√q ζ)²]; the critical gain is g(q_c) at the smallest root of
    χ(q_c) = 1; for f(0) = 0 without bias, where q = 0 is a fixed point, see the comment
    in the code (tanh: g = 1/f'(0) = 1; GELU: about 1.53, where q = 1 becomes a fixed point).
    The finite-width g* of the random walk exceeds it because E ln z < ln E z, and
    approaches it as N grows.
    """
    nl = get_nonlinearity(nonlinearity)
    bias_std = check_nonnegative(bias_std, "bias_std")
    if nl.name in BUILTIN_NONLINEARITIES:
        return _builtin_mean_field_gain(nl.name, nl.param, bias_std)
    return _mean_field_gain(nl, bias_std)  # a registered name may be re-registered: no cache


@lru_cache(maxsize=256)
def _builtin_mean_field_gain(name: str, param: float, bias_std: float) -> float:
    return _mean_field_gain(get_nonlinearity(name, param=param), bias_std)


def _mean_field_gain(nl: Nonlinearity, bias_std: float) -> float:
    sb2 = bias_std**2
    if nl.homogeneous and sb2 == 0.0:
        return 1.0 / math.sqrt(gaussian_expectation(lambda a: nl.derivative(a) ** 2))

    def gain_sq(q: float) -> float:
        return (q - sb2) / gaussian_expectation(lambda a: nl(a) ** 2, math.sqrt(q))

    def log_chi(log_excess: float) -> float:
        q = sb2 + math.exp(log_excess)
        chi = gain_sq(q) * gaussian_expectation(lambda a: nl.derivative(a) ** 2, math.sqrt(q))
        return math.log(chi) if chi > 0.0 else -745.0

    q_tiny, q_huge = 1e-12, 1e8
    if sb2 == 0.0 and float(nl(np.zeros(1))[0]) == 0.0:
        # q = 0 is a fixed point, the ordered phase (δ shrinks by χ = g² f'(0)² < 1).
        # The network leaves it either when q = 0 loses stability (g → g(q → 0), tanh:
        # 1/tanh'(0)) or, for a bistable map (GELU, SiLU), when the variance of the unit
        # input stops shrinking: at g = min over 0 < q <= 1 of g(q), the gain that makes
        # some q in (0, 1] a fixed point. Above it q runs to a chaotic fixed point.
        q_grid = np.logspace(math.log10(q_tiny), 0.0, 241)
        return math.sqrt(min(gain_sq(q_tiny), min(gain_sq(q) for q in q_grid)))
    grid = np.linspace(math.log(q_tiny), math.log(q_huge), 321)
    values = np.array([log_chi(v) for v in grid])
    crossings = np.nonzero(values[:-1] * values[1:] < 0)[0]
    if crossings.size:
        from scipy import optimize  # on first use: keeps ``rwinit gain`` quick to start

        i = int(crossings[0])
        root = optimize.brentq(log_chi, grid[i], grid[i + 1], xtol=1e-12)
        return math.sqrt(gain_sq(sb2 + math.exp(root)))
    if abs(values[-1]) < 1e-4:
        # χ -> 1 only as q -> inf (e.g. softplus, or ReLU with bias): the limiting gain
        return math.sqrt(gain_sq(sb2 + q_huge))
    raise RwinitError(f"no mean-field critical gain found for {nl.label} (bias_std={bias_std})")
