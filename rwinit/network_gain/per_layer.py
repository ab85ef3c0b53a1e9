"""Per-layer gains g_d: each layer's expected ln z_d is zero given the layers below it.

For layer d of a :class:`rwinit.network.Network` (fan-in n = n_{d-1}, fan-out m = n_d,
σ_d = g_d/√n), with the forward state x_{d-1} of each sample fixed and the error δ_d
isotropic at that layer (δ_d ~ N(0, I_m), independent of the layer: the assumption that
makes the layers separable), the rotational sampler of docs/design.md (§ Rectangular
layers; Sussillo & Abbott, arXiv:1412.6558, §2) gives, with ξ, η fresh standard normals,
s = σ_d |x| ξ, a = s + b_d and u = f'(a) ⊙ δ_d:

    network model:  |δ_{d-1}|² = σ_d² [ (ξ·u)² + |u|² C ],   C ~ χ²_{n-1}
    paper model:    |δ_{d-1}|² = σ_d² |u|² C,                C ~ χ²_n

so ln z_d = 2 ln g_d − ln n + ln Q(g_d) − ln|δ_d|², Q the bracket. The solver keeps the
M forward states x_{d-1} (an (M, n) array), draws ξ, δ_d, b_d and C once per layer
(common random numbers for every g tried), and finds the root of m_d(g) = E ln z_d:

``exact``
    linear f (both models; biases do not enter): Q/|δ|² ~ χ²_n, so
    g_d = exp(−½[ψ(n/2) − ln(n/2)]) (docs/design.md, § Exact results).
``homogeneous``
    positively homogeneous f without bias: Q does not depend on g, so
    g_d = exp(−c/2), c = E[ln Q − ln n − ln|δ_d|²], with SE g_d·SE(c)/2.
``root``
    otherwise: Brent's method on m_d(g), CI = SE(m_d)/m_d'(g_d) with the slope from a
    common-random-numbers one-sided difference (the smaller one).
``max-drift``
    no root (m_d(g) < 0 for every g, e.g. tanh with a fan-in of a few units, such as a
    data dimension of 3): the g maximising m_d, with its residual drift reported and no
    CI. A narrow input is a property of the data, not a reason to fail.

The mean of ln z_d is estimated with control variates of known mean,
ln|δ_d|² (mean ψ(m/2) + ln 2) and ln C (mean ψ(k/2) + ln 2, k its degrees of freedom),
fitted by least squares on the same samples (docs/design.md, § Control variates); its SE
is the regression residual's, with its degrees of freedom. Then x_d = f(a(g_d)) becomes
the next layer's state, so the whole network costs D one-layer solves: O(D M n) work.
Samples whose error dies at a layer (u = 0: every ReLU unit off) are excluded from that
layer's mean and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from .. import _config
from .._jit import nb
from ..errors import RwinitError
from ..network import Network
from ..nonlinearities import Nonlinearity
from ..solver import largest_drift

#: Largest M × (widest layer) the per-layer solver holds in one array (≈ 32 MiB).
MAX_ELEMENTS: int = 4_000_000


@dataclass(frozen=True)
class LayerSolve:
    """One layer's gain with its uncertainty and the spread of ln z_d at it."""

    g: float
    se: float
    ci_low: float
    ci_high: float
    method: str
    log_z_mean: float
    log_z_sd: float
    dead: int
    evaluations: int


def _layer_rng(seed: int, layer: int) -> np.random.Generator:
    """Layer ``layer``'s own stream (0: the inputs), the same whatever else runs."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(layer,))))


def draw_inputs(net: Network, samples: int, seed: int) -> np.ndarray:
    """x_0 = μ + √v ⊙ ζ, ζ ~ N(0, I): an (M, n_0) array of inputs."""
    rng = _layer_rng(seed, 0)
    zeta = rng.standard_normal((samples, net.widths[0]))
    return net.input_mean_array + np.sqrt(net.input_var_array) * zeta


def _linear_exact_gain(n: int) -> float:
    """g = exp(−½[ψ(n/2) − ln(n/2)]): E ln z = 0 for a linear layer of fan-in n."""
    return math.exp(-0.5 * (float(special.digamma(n / 2)) - math.log(n / 2)))


def _mean_with_controls(y: np.ndarray, controls: np.ndarray) -> tuple[float, float]:
    """Mean of ``y`` and its SE, with centred control variates (columns of ``controls``,
    each of known mean 0) fitted by least squares; plain mean if there are too few."""
    k = y.size
    if k < 2:
        return (float(y.mean()) if k else math.nan), math.nan
    p = controls.shape[1]
    if k > p + 10:
        design = np.column_stack([np.ones(k), controls])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        residual = y - design @ coef
        return float(coef[0]), float(math.sqrt(residual @ residual / (k - p - 1) / k))
    return float(y.mean()), float(y.std(ddof=1) / math.sqrt(k))


@nb.njit(cache=True, nogil=True)
def _layer_q(fprime, param, scale, r, xi, delta, bias, has_bias, chi2, network,
             out):  # pragma: no cover - compiled
    """Q per sample in one pass: u = f'(σ|x|ξ + b) ⊙ δ, Q = |u|² C (+ (ξ·u)², network)."""
    M, m = xi.shape
    for i in range(M):
        uu = 0.0
        xu = 0.0
        s = scale * r[i]
        for j in range(m):
            a = s * xi[i, j]
            if has_bias:
                a += bias[i, j]
            u = fprime(a, param) * delta[i, j]
            uu += u * u
            xu += xi[i, j] * u
        out[i] = uu * chi2[i] + (xu * xu if network else 0.0)


class _Layer:
    """Layer d's common random numbers and m_d(g) = E ln z_d on them."""

    def __init__(self, x: np.ndarray, nl: Nonlinearity, fan_out: int, bias_std: float,
                 model: str, rng: np.random.Generator) -> None:
        M, n = x.shape
        self.nl, self.n = nl, n
        self.r = np.sqrt(np.einsum("ij,ij->i", x, x))
        self.xi = rng.standard_normal((M, fan_out))
        self.delta = rng.standard_normal((M, fan_out))
        self.bias = bias_std * rng.standard_normal((M, fan_out)) if bias_std > 0 else None
        self.network = model == "network"
        dof = n - 1 if self.network else n
        self.chi2 = rng.chisquare(dof, M) if dof > 0 else np.zeros(M)
        self.log_delta2 = np.log(np.einsum("ij,ij->i", self.delta, self.delta))
        with np.errstate(divide="ignore"):
            log_chi2 = np.log(self.chi2)
        controls = [self.log_delta2 - (special.digamma(fan_out / 2) + math.log(2))]
        if dof > 0:
            controls.append(log_chi2 - (special.digamma(dof / 2) + math.log(2)))
        self.controls = np.column_stack(controls)
        self.evaluations = 0
        self._memo: dict[float, tuple[float, float, np.ndarray, np.ndarray]] = {}

    def pre_activation(self, g: float) -> np.ndarray:
        a = (g / math.sqrt(self.n)) * self.r[:, None] * self.xi
        return a if self.bias is None else a + self.bias

    def log_q(self, g: float) -> tuple[np.ndarray, np.ndarray]:
        """ln Q − ln|δ|² per sample (NaN where the error died) and the alive mask."""
        q = np.empty(self.r.size)
        bias = self.xi if self.bias is None else self.bias  # (unused when has_bias False)
        _layer_q(self.nl.compiled[1], float(self.nl.param), g / math.sqrt(self.n), self.r,
                 self.xi, self.delta, bias, self.bias is not None, self.chi2, self.network, q)
        alive = q > 0
        with np.errstate(divide="ignore"):
            out = np.where(alive, np.log(np.where(alive, q, 1.0)), np.nan) - self.log_delta2
        return out, alive

    def drift(self, g: float) -> tuple[float, float, np.ndarray, np.ndarray]:
        """(m_d(g), its SE, per-sample ln z, alive mask) on the common random numbers."""
        if g not in self._memo:
            self.evaluations += 1
            lq, alive = self.log_q(g)
            lz = 2 * math.log(g) - math.log(self.n) + lq[alive]
            mean, se = _mean_with_controls(lz, self.controls[alive])
            self._memo[g] = (mean, se, lz, alive)
        return self._memo[g]


def solve_layer(x: np.ndarray, nl: Nonlinearity, fan_out: int, bias_std: float, model: str,
                rng: np.random.Generator, z: float, start: float = 1.0
                ) -> tuple[LayerSolve, np.ndarray]:
    """Solve one layer; returns its :class:`LayerSolve` and the next state x_d = f(a(g_d))."""
    layer = _Layer(x, nl, fan_out, bias_std, model, rng)
    n = layer.n
    if nl.name == "linear" and nl.param == 0.0:
        g = _linear_exact_gain(n)
        m, _, lz, alive = layer.drift(g)
        solve = LayerSolve(g, 0.0, g, g, "exact", 0.0, float(lz.std(ddof=1)) if lz.size > 1
                           else math.nan, int((~alive).sum()), 0)
        return solve, layer.pre_activation(g)
    if nl.homogeneous and bias_std == 0.0:
        c, c_se, lz, alive = layer.drift(1.0)
        if not math.isfinite(c):
            raise RwinitError(f"every sample's error died at a {nl.label} layer of fan-in {n}")
        g = math.exp(-c / 2)
        sd = float(lz.std(ddof=1)) if lz.size > 1 else math.nan
        solve = LayerSolve(g, g * c_se / 2, math.exp(-(c + z * c_se) / 2),
                           math.exp(-(c - z * c_se) / 2), "homogeneous", 0.0, sd,
                           int((~alive).sum()), 1)
        return solve, nl(layer.pre_activation(g))
    g = _root(layer, start)
    if g is None:
        g = largest_drift(lambda g: layer.drift(g)[0])
        m, m_se, lz, alive = layer.drift(g)
        solve = LayerSolve(g, math.nan, math.nan, math.nan, "max-drift", m,
                           float(lz.std(ddof=1)), int((~alive).sum()), layer.evaluations)
        return solve, nl(layer.pre_activation(g))
    m, m_se, lz, alive = layer.drift(g)
    h = _config.SLOPE_RELATIVE_STEP * g
    slopes = [s for s in ((m - layer.drift(g - h)[0]) / h, (layer.drift(g + h)[0] - m) / h)
              if s > 0]
    if not slopes:
        raise RwinitError(f"E ln z is not increasing in g at g={g:.4g} for a {nl.label} layer "
                          f"of fan-in {n}; no confidence interval")
    se = m_se / min(slopes)
    solve = LayerSolve(g, se, g - z * se, g + z * se, "root", m, float(lz.std(ddof=1)),
                       int((~alive).sum()), layer.evaluations)
    return solve, nl(layer.pre_activation(g))


def _root(layer: _Layer, start: float) -> float | None:
    """g with m_d(g) = 0; None if m_d stays negative over the whole search range."""
    g_min, g_max = _config.GAIN_SEARCH_RANGE
    lo = min(max(start, g_min), g_max)
    m_lo = layer.drift(lo)[0]
    hi, m_hi = lo, m_lo
    factor = _config.BRACKET_FACTOR
    for _ in range(4 * _config.BRACKET_MAX_STEPS):
        if (m_lo <= 0.0 <= m_hi) and lo < hi:
            break
        if m_lo > 0.0 and lo > g_min:  # m grows with g: go down
            hi, m_hi = lo, m_lo
            lo = max(lo / factor, g_min)
            m_lo = layer.drift(lo)[0]
        elif m_hi < 0.0 and hi < g_max:
            lo, m_lo = hi, m_hi
            hi = min(hi * factor, g_max)
            m_hi = layer.drift(hi)[0]
        else:
            break
    if not (m_lo <= 0.0 <= m_hi and lo < hi):
        sign = "negative" if max(m_lo, m_hi) < 0 else "positive"
        if sign == "negative":
            return None
        raise RwinitError(f"no per-layer gain for a {layer.nl.label} layer of fan-in {layer.n}: "
                          f"E ln z stays {sign} for g in [{g_min:g}, {g_max:g}]")
    return float(optimize.brentq(lambda g: layer.drift(g)[0], lo, hi, rtol=_config.ROOT_RTOL))


def solve_per_layer(net: Network, *, model: str, samples: int, seed: int, z: float
                    ) -> list[LayerSolve]:
    """Every layer's gain, in forward order, each given the solved layers below it."""
    widest = max(net.widths)
    if samples * widest > MAX_ELEMENTS:
        raise RwinitError(f"{samples} samples of width {widest} exceed the per-layer solver's "
                          f"memory bound ({MAX_ELEMENTS} values); use fewer samples")
    x = draw_inputs(net, samples, seed)
    out: list[LayerSolve] = []
    start = 1.0
    for d, (nl, m, b) in enumerate(zip(net.nonlinearities, net.fan_out, net.bias_std,
                                       strict=True), start=1):
        try:
            solve, x = solve_layer(x, nl, m, b, model, _layer_rng(seed, d), z, start)
        except RwinitError as exc:
            raise RwinitError(f"layer {d} of {net.depth} ({net.widths[d - 1]}->{m}): {exc}"
                              ) from None
        out.append(solve)
        start = solve.g
    return out


__all__ = ["LayerSolve", "MAX_ELEMENTS", "draw_inputs", "solve_layer", "solve_per_layer"]
