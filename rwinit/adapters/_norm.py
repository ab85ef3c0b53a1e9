"""Layers followed by a normalisation: the forward pass through them and the scale γ that
makes a per-sample normalised layer driftless.

A per-sample normalisation (LayerNorm, GroupNorm taken as LayerNorm, RMSNorm) between a
layer and its activation makes the pre-activation γ ĉ, with ĉ = c/√(|c|²/n_d) and c the
centred (LayerNorm) or raw (RMSNorm) output of W_d x: the layer's own gain drops out and γ
sets the scale. With the rotational sampler (docs/design.md §Rotational sampler;
§Rectangular layers), W_d x = σ|x|ξ, ξ ~ N(0, I_{n_d}), and back-propagation through the
normalisation is (γ/std) P (f'(γĉ) ⊙ δ_d), where P removes the directions of 1 (if
centred) and ĉ, both in the span of W_d x; so in the network model W_dᵀ's component along
x̂ vanishes and

    z_d = γ² · n_d/|c|² · χ²_{k}/|x_{d-1}|² · |P(f'(γĉ) ⊙ δ_d)|²/|δ_d|²,

with k = n_{d-1} − 1 (network model) or n_{d-1} (paper model), |c|² ~ χ²_{n_d−1}
(centred) or χ²_{n_d}. Taking δ_d isotropic and independent of ĉ (an O(1/n_d)
approximation),

    E ln z_d = 2 ln γ + ln n_d − E ln|c|² + ψ(k/2) + ln 2 − E ln|x_{d-1}|²
               + E ln(|P(f'(γĉ) ⊙ δ)|²/|δ|²),

and γ solves E ln z_d = 0 with E ln|x_{d-1}|² from a forward pass of the layers below and
the last expectation by Monte Carlo with common random numbers (Sussillo & Abbott,
arXiv:1412.6558, eq. 5). The layers above see inputs f(γĉ): a fresh network whose input
mean and variance are those of f(γ N(0, 1)).

A batch normalisation (BatchNorm, training mode) normalises each unit over the batch, so
each sample keeps its scale: it acts as a plain layer when γ = g_d · rms(x_{d-1}), the
pre-activation's standard deviation a plain layer of gain g_d gives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize, special

from ..errors import RwinitError
from ..nonlinearities import get_nonlinearity

#: Normalisations that act per sample (reset the forward scale): their γ is solved.
PER_SAMPLE: tuple[str, ...] = ("layer", "rms")

#: Monte Carlo samples of E ln(|P(f'(γĉ) ⊙ δ)|²/|δ|²) in the γ solve.
GAMMA_SAMPLES: int = 2000

#: Forward samples that estimate E ln|x_{d-1}|², rms(x_{d-1}) and the next input statistics.
FORWARD_SAMPLES: int = 512

#: The bracket searched for γ (a log grid, then Brent's method between sign changes).
GAMMA_RANGE: tuple[float, float, int] = (1e-2, 1e2, 25)


def normalise(xi: np.ndarray, centred: bool) -> np.ndarray:
    """ĉ = c/√(mean c²) per row, c = ξ − mean ξ (centred) or ξ."""
    c = xi - xi.mean(axis=1, keepdims=True) if centred else xi
    return c / np.sqrt(np.mean(c * c, axis=1, keepdims=True))


def forward(x: np.ndarray, widths: Sequence[int], nonlinearities: Sequence[str],
            gains: Sequence[float], kinds: Sequence[str | None],
            gammas: Sequence[float | None], rng: np.random.Generator) -> np.ndarray:
    """x_D from x_0 through the layers by the rotational sampler.

    Layer d: a = (g_d/√n_{d-1}) |x| ξ, or γ_d ĉ after a per-sample normalisation.
    A width mismatch (a convolution or flatten between) redraws x at the same rms.
    """
    for d, (f, g, kind, gamma) in enumerate(zip(nonlinearities, gains, kinds, gammas,
                                                 strict=True)):
        if x.shape[1] != widths[d]:
            x = math.sqrt(float(np.mean(x * x))) * rng.standard_normal((len(x), widths[d]))
        xi = rng.standard_normal((len(x), widths[d + 1]))
        if kind in PER_SAMPLE:
            a = float(gamma) * normalise(xi, kind == "layer")
        else:
            a = (g / math.sqrt(widths[d])) * np.linalg.norm(x, axis=1, keepdims=True) * xi
        x = get_nonlinearity(f)(a)
    return x


def batch_gamma(x: np.ndarray, g: float) -> float:
    """γ = g · rms(x): the plain layer's pre-activation standard deviation."""
    return g * math.sqrt(float(np.mean(x * x)))


def solve_gamma(x: np.ndarray, n_out: int, nonlinearity: str, *, kind: str, model: str,
                rng: np.random.Generator, samples: int = GAMMA_SAMPLES) -> float:
    """γ making E ln z_d = 0 for a layer whose inputs are the rows of ``x`` (module doc).

    Raises
    ------
    RwinitError
        No γ in the searched range makes the layer driftless.
    """
    n_in = x.shape[1]
    centred = kind == "layer"
    k = n_in - 1 if model == "network" else n_in
    if k < 1 or n_out < 2 + centred:
        raise RwinitError(f"a normalised layer needs fan-in >= 2 and width >= 3, got "
                          f"{n_in} -> {n_out}")
    dof_c = n_out - 1 if centred else n_out
    const = (math.log(n_out) - (special.digamma(dof_c / 2) + math.log(2))
             + special.digamma(k / 2) + math.log(2)
             - float(np.mean(np.log(np.sum(x * x, axis=1)))))
    c_hat = normalise(rng.standard_normal((samples, n_out)), centred)
    delta = rng.standard_normal((samples, n_out))
    directions = [c_hat / math.sqrt(n_out)]
    if centred:
        directions.append(np.full((1, n_out), 1.0 / math.sqrt(n_out)))
    log_delta2 = np.log(np.sum(delta * delta, axis=1))
    nl = get_nonlinearity(nonlinearity)

    def drift(log_gamma: float) -> float:
        u = nl.derivative(math.exp(log_gamma) * c_hat) * delta
        for e in directions:
            u = u - np.sum(u * e, axis=1, keepdims=True) * e
        return 2 * log_gamma + const + float(np.mean(np.log(np.sum(u * u, axis=1))
                                                     - log_delta2))

    lo, hi, n = GAMMA_RANGE
    grid = np.linspace(math.log(lo), math.log(hi), n)
    values = [drift(t) for t in grid]
    for a, b, fa, fb in zip(grid[:-1], grid[1:], values[:-1], values[1:], strict=True):
        if fa < 0 <= fb:
            return math.exp(optimize.brentq(drift, a, b, xtol=1e-10))
    raise RwinitError(f"no normalisation scale γ in [{lo:g}, {hi:g}] makes a {nonlinearity} "
                      f"layer of width {n_out} after a normalisation driftless")


__all__ = ["FORWARD_SAMPLES", "GAMMA_SAMPLES", "PER_SAMPLE", "batch_gamma", "forward",
           "normalise", "solve_gamma"]
