"""How two inputs' hidden representations converge with depth: the correlation map.

The forward counterpart of the backward random walk (docs/design.md, § The model). Feed two
inputs x, x' to a deep network a_d = W_d f(a_{d−1}) + b_d with weights of std g/√fan_in and
biases of std σ_b. At infinite width the pre-activations of a unit are jointly Gaussian
with covariance Q_d = [[q¹¹, q¹²], [q¹², q²²]], and one layer maps it to (Poole et al.,
"Exponential expressivity in deep neural networks through transient chaos", NeurIPS 2016,
eqs. 3–5; Schoenholz et al., "Deep information propagation", ICLR 2017, eqs. 2–4)

.. math::

    q^{aa}_{d+1} = g^2\\,\\mathbb{E}[f(u_a)^2] + \\sigma_b^2,\\qquad
    q^{12}_{d+1} = g^2\\,\\mathbb{E}[f(u_1) f(u_2)] + \\sigma_b^2,\\qquad
    (u_1, u_2) \\sim \\mathcal{N}(0, Q_d),

and the cosine of the two representations is c_d = q¹²/√(q¹¹ q²²). For ReLU with σ_b = 0
the map of c does not depend on g, and c → 1 as d → ∞ (the two inputs become
indistinguishable); for tanh at g ≈ 1 it hardly moves.

Numerics. Near c = 1 the cosine is 1 minus a tiny number, so the map is iterated on
(q¹¹, q²², 1 − c) with 2(1 − c) = E[(u₁/√q¹¹ − u₂/√q²²)²]; its update
2(1 − c') = g² E[(f(u₁)/√q¹¹' − f(u₂)/√q²²')²] + σ_b² (1/√q¹¹' − 1/√q²²')² is a sum of
squares and needs no subtraction of nearly equal numbers. The expectations are Gauss–Hermite sums on
the independent sum and difference directions z± of (u₁, u₂); a nonlinearity with a kink
(ReLU) converges slowly there, so for the ReLU family the closed form of Cho & Saul ("Kernel
methods for deep learning", NIPS 2009; arc-cosine kernel of degree 1) is used instead.

:func:`sample_one_minus_cos` measures the same quantity in finite-width networks. Only the
two vectors W h and W h' of each layer matter, and for Gaussian W and b their rows are
independent N(0, Σ) with Σ = (g²/n) HᵀH + σ_b² 11ᵀ (H = [h, h']), so each layer is drawn
exactly in O(N) operations instead of O(N²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import RwinitError
from .nonlinearities import Nonlinearity, get_nonlinearity
from .validation import check_gain, check_positive_int
from .weights import as_generator

#: Gauss–Hermite nodes per dimension of the bivariate expectations.
QUADRATURE_NODES: int = 96

__all__ = [
    "CorrelationTrajectory",
    "correlation_map",
    "sample_one_minus_cos",
]


@dataclass(frozen=True)
class CorrelationTrajectory:
    """(q¹¹_d, q²²_d, 1 − c_d) for d = 1 … D: the layer-d pre-activations of two inputs."""

    q11: np.ndarray
    q22: np.ndarray
    one_minus_c: np.ndarray

    @property
    def cos(self) -> np.ndarray:
        """c_d, the cosine of the two layer-d pre-activation vectors at infinite width."""
        return 1.0 - self.one_minus_c


def _hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of E[h(z)], z ~ N(0, 1) (probabilists' Gauss–Hermite)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / math.sqrt(2.0 * math.pi)


def _relu_step(q11: float, q22: float, omc: float, g: float, sb2: float) -> tuple:
    """One layer of the map for ReLU in closed form (Cho & Saul 2009).

    E[f(u)²] = q/2 and E[f(u₁)f(u₂)] = √(q¹¹q²²)·J/(2π), J = sin θ + (π − θ) cos θ,
    θ = arccos c, with π − J = (π − θ)(1 − c) + (θ − sin θ) ≥ 0. With A = g²q¹¹/(2q¹¹'),
    B = g²q²²/(2q²²'): 2(1 − c') = (√A − √B)² + 2√(AB)(π − J)/π + σ_b²(1/√q¹¹' − 1/√q²²')².
    """
    theta = 2.0 * math.asin(min(1.0, math.sqrt(max(omc, 0.0) / 2.0)))
    if theta < 1e-3:  # θ − sin θ by its series, free of cancellation
        t_minus_s = theta**3 / 6.0 - theta**5 / 120.0
    else:
        t_minus_s = theta - math.sin(theta)
    pi_minus_j = (math.pi - theta) * omc + t_minus_s
    n11, n22 = g * g * q11 / 2.0 + sb2, g * g * q22 / 2.0 + sb2
    A, B = g * g * q11 / (2.0 * n11), g * g * q22 / (2.0 * n22)
    two_omc = ((math.sqrt(A) - math.sqrt(B)) ** 2 + 2.0 * math.sqrt(A * B) * pi_minus_j / math.pi
               + sb2 * (1.0 / math.sqrt(n11) - 1.0 / math.sqrt(n22)) ** 2)
    return n11, n22, two_omc / 2.0


def _quadrature_step(f: Nonlinearity, q11: float, q22: float, omc: float, g: float,
                     sb2: float, n: int) -> tuple:
    """One layer of the map by Gauss–Hermite quadrature on z± (module docstring)."""
    z, w = _hermite(n)
    zp, zm = np.meshgrid(z, z, indexing="ij")
    ww = np.outer(w, w)
    a, b = math.sqrt(max(2.0 - omc, 0.0) / 2.0), math.sqrt(max(omc, 0.0) / 2.0)
    f1 = np.asarray(f(math.sqrt(q11) * (a * zp + b * zm)), dtype=np.float64)
    f2 = np.asarray(f(math.sqrt(q22) * (a * zp - b * zm)), dtype=np.float64)
    n11 = g * g * float(np.sum(w * np.asarray(f(math.sqrt(q11) * z), dtype=np.float64) ** 2))
    n22 = g * g * float(np.sum(w * np.asarray(f(math.sqrt(q22) * z), dtype=np.float64) ** 2))
    n11, n22 = n11 + sb2, n22 + sb2
    s1, s2 = math.sqrt(n11), math.sqrt(n22)
    two_omc = (g * g * float(np.sum(ww * (f1 / s1 - f2 / s2) ** 2))
               + sb2 * (1.0 / s1 - 1.0 / s2) ** 2)
    return n11, n22, two_omc / 2.0


def correlation_map(
    nonlinearity: str | Nonlinearity,
    x1: np.ndarray,
    x2: np.ndarray,
    gain: float,
    depth: int,
    *,
    bias_std: float = 0.0,
    nodes: int = QUADRATURE_NODES,
) -> CorrelationTrajectory:
    """Iterate the infinite-width covariance map of two inputs through ``depth`` layers.

    Layer 1 sees the inputs themselves: q¹¹₁ = g²|x|²/n₀ + σ_b², q¹²₁ = g² x·x'/n₀ + σ_b²;
    every later layer applies the map of the module docstring (Poole et al. 2016, eqs. 3–5).

    Parameters
    ----------
    nonlinearity : str or Nonlinearity
        f of every hidden layer (the ReLU family uses the closed form, the others
        Gauss–Hermite quadrature with ``nodes`` points per dimension).
    x1, x2 : numpy.ndarray
        The two inputs, same length n₀.
    gain : float
        g; weights of std g/√fan_in on every layer.
    depth : int
        D, the number of layers whose pre-activations are returned.
    bias_std : float
        σ_b, the biases' standard deviation.

    Returns
    -------
    CorrelationTrajectory
        Arrays of length D for layers 1 … D.
    """
    f = get_nonlinearity(nonlinearity)
    g = check_gain(gain)
    depth = check_positive_int(depth, "depth")
    nodes = check_positive_int(nodes, "nodes")
    sb2 = _bias_variance(bias_std)
    h1, h2 = _pair(x1, x2)
    n0 = h1.size
    q11 = g * g * float(h1 @ h1) / n0 + sb2
    q22 = g * g * float(h2 @ h2) / n0 + sb2
    if q11 <= 0 or q22 <= 0:
        raise RwinitError("both inputs must be non-zero (or bias_std > 0)")
    s1, s2 = math.sqrt(q11), math.sqrt(q22)
    diff = h1 / s1 - h2 / s2
    omc = (g * g * float(diff @ diff) / n0 + sb2 * (1.0 / s1 - 1.0 / s2) ** 2) / 2.0
    relu = f.name == "relu" and f.param == 0.0
    out = np.empty((3, depth))
    for d in range(depth):
        out[:, d] = q11, q22, omc
        if d == depth - 1:
            break
        if relu:
            q11, q22, omc = _relu_step(q11, q22, omc, g, sb2)
        else:
            q11, q22, omc = _quadrature_step(f, q11, q22, omc, g, sb2, nodes)
    return CorrelationTrajectory(out[0], out[1], out[2])


def _bias_variance(bias_std: float) -> float:
    b = float(bias_std)
    if not (math.isfinite(b) and b >= 0):
        raise RwinitError(f"bias_std must be a finite number >= 0, got {bias_std!r}")
    return b * b


def _pair(x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h1 = np.asarray(x1, dtype=np.float64).ravel()
    h2 = np.asarray(x2, dtype=np.float64).ravel()
    if h1.shape != h2.shape or h1.size == 0:
        raise RwinitError(f"x1 and x2 must be non-empty and of equal length, got "
                          f"{h1.size} and {h2.size}")
    return h1, h2


def sample_one_minus_cos(
    nonlinearity: str | Nonlinearity,
    x1: np.ndarray,
    x2: np.ndarray,
    gain: float,
    width: int,
    depth: int,
    *,
    draws: int = 100,
    bias_std: float = 0.0,
    seed: np.random.Generator | int | None = 0,
) -> np.ndarray:
    """1 − cos(a_d, a'_d) of two inputs in ``draws`` random networks of width N.

    Each network has ``depth`` hidden layers of width N, weights N(0, g²/fan_in) and biases
    N(0, σ_b²); a_d and a'_d are the layer-d pre-activations of x1 and x2. Layer d is drawn
    exactly from the law of (W h + b, W h' + b) given the previous layer: N independent
    rows of N(0, Σ), Σ = H̃ᵀH̃ with h̃ = (g h/√n, σ_b), written through the Gram–Schmidt
    factor of H̃ so that nearly parallel h, h' keep their tiny difference.

    Returns
    -------
    numpy.ndarray
        Shape ``(draws, depth)``: 1 − cos for layers 1 … D of each network.
    """
    f = get_nonlinearity(nonlinearity)
    g = check_gain(gain)
    N = check_positive_int(width, "width")
    depth = check_positive_int(depth, "depth")
    draws = check_positive_int(draws, "draws")
    sb = math.sqrt(_bias_variance(bias_std))
    rng = as_generator(seed)
    h1, h2 = _pair(x1, x2)
    h1 = np.broadcast_to(h1, (draws, h1.size))
    h2 = np.broadcast_to(h2, (draws, h2.size))
    out = np.empty((draws, depth))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for d in range(depth):
            s = g / math.sqrt(h1.shape[1])
            n1 = s * s * np.einsum("ij,ij->i", h1, h1) + sb * sb          # |h̃|²
            dot = s * s * np.einsum("ij,ij->i", h1, h2) + sb * sb         # h̃·h̃'
            coef = dot / n1
            resid = s * (h2 - coef[:, None] * h1)                          # h̃' ⊥ h̃ (weights)
            r2 = np.einsum("ij,ij->i", resid, resid) + (sb * (1.0 - coef)) ** 2
            z1 = rng.standard_normal((draws, N))
            z2 = rng.standard_normal((draws, N))
            a1 = np.sqrt(n1)[:, None] * z1
            a2 = (dot / np.sqrt(n1))[:, None] * z1 + np.sqrt(r2)[:, None] * z2
            u1 = a1 / np.linalg.norm(a1, axis=1, keepdims=True)
            u2 = a2 / np.linalg.norm(a2, axis=1, keepdims=True)
            out[:, d] = 0.5 * np.einsum("ij,ij->i", u1 - u2, u1 - u2)
            h1, h2 = np.asarray(f(a1), dtype=np.float64), np.asarray(f(a2), dtype=np.float64)
    return out
