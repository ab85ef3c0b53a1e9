"""The most obvious NumPy re-implementation of the walk of ln |δ|, for tests to compare with.

Explicit matrices, a loop over samples and a loop over layers, ``np.random.Generator``,
no cleverness (docs/design.md §The model and §Sampling the walk; Sussillo & Abbott,
arXiv:1412.6558, eq. 5-7):

    a_d = g W_d x_{d-1} + b_d,   x_d = f(a_d),   d = 1 … D,   x_0 ~ N(0, I_N)
    δ_{d-1} = g W̃_dᵀ (f'(a_d) ⊙ δ_d),   δ_D ~ N(0, I_N)
    z_d = |δ_{d-1}|² / |δ_d|²

with W_d of i.i.d. N(0, 1/N) entries. In the ``network`` model W̃_d = W_d (true
back-propagation); in the ``paper`` model W̃_d is a fresh matrix, independent of W_d.

The nonlinearities are written here again with NumPy (not taken from rwinit), so that a
mistake in rwinit's scalar functions would show up as a disagreement.
"""

from __future__ import annotations

import numpy as np

#: f and f' in plain NumPy, independent of rwinit.nonlinearities.
NONLINEARITIES = {
    "linear": (lambda a: a, lambda a: np.ones_like(a)),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (a > 0.0).astype(float)),
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "relu6": (lambda a: np.clip(a, 0.0, 6.0), lambda a: ((a > 0) & (a < 6)).astype(float)),
    "hardtanh": (lambda a: np.clip(a, -1.0, 1.0), lambda a: (np.abs(a) < 1).astype(float)),
    "hardsigmoid": (lambda a: np.clip(a / 6 + 0.5, 0.0, 1.0),
                    lambda a: (np.abs(a) < 3) / 6.0),
    "hardswish": (lambda a: a * np.clip(a + 3, 0.0, 6.0) / 6,
                  lambda a: np.where(a < -3, 0.0, np.where(a > 3, 1.0, (2 * a + 3) / 6))),
    "mish": (lambda a: a * np.tanh(np.logaddexp(0.0, a)),
             lambda a: (np.tanh(np.logaddexp(0.0, a))
                        + a / (1 + np.exp(-a)) * (1 - np.tanh(np.logaddexp(0.0, a)) ** 2))),
    # for tests of a user-registered nonlinearity
    "softsign": (lambda a: a / (1.0 + np.abs(a)), lambda a: 1.0 / (1.0 + np.abs(a)) ** 2),
}


def naive_log_z(
    nonlinearity: str,
    N: int,
    D: int,
    g: float,
    *,
    model: str,
    samples: int,
    seed: int,
    bias_std: float = 0.0,
    draw_weights=None,
) -> np.ndarray:
    """Per-sample ln z of every layer of a depth-D walk, shape (samples, D).

    Column j is the j-th layer back-propagated through, counted from the top (column 0
    is layer D), the order rwinit's ``WalkResult`` uses. A walk that dies (δ = 0, e.g.
    every ReLU unit of a layer off) gives a row of NaN.

    ``draw_weights(rng, N)`` returns an (N, N) matrix of entry variance 1/N; the default
    is ``rng.standard_normal((N, N)) / sqrt(N)``.
    """
    f, f_prime = NONLINEARITIES[nonlinearity]
    if model not in ("paper", "network"):
        raise ValueError(model)
    if draw_weights is None:
        def draw_weights(rng, n):
            return rng.standard_normal((n, n)) / np.sqrt(n)
    rng = np.random.default_rng(seed)
    log_z = np.full((samples, D), np.nan)
    for s in range(samples):
        # forward pass, keeping every W_d and f'(a_d)
        x = rng.standard_normal(N)
        W = []
        f_prime_a = []
        for _d in range(D):
            W_d = g * draw_weights(rng, N)
            a = W_d @ x + bias_std * rng.standard_normal(N)
            x = f(a)
            W.append(W_d)
            f_prime_a.append(f_prime(a))
        # backward pass from a random error at the top
        delta = rng.standard_normal(N)
        row = np.empty(D)
        dead = False
        for d in reversed(range(D)):
            W_back = W[d] if model == "network" else g * draw_weights(rng, N)
            delta_below = W_back.T @ (f_prime_a[d] * delta)
            z = (delta_below @ delta_below) / (delta @ delta)
            if z == 0.0:
                dead = True
                break
            row[D - 1 - d] = np.log(z)
            delta = delta_below / np.linalg.norm(delta_below)  # rescaling does not change z
        if not dead:
            log_z[s] = row
    return log_z


def naive_log_ratio(nonlinearity: str, N: int, D: int, g: float, **kwargs) -> np.ndarray:
    """Per-sample ln(|δ_0| / |δ_D|) = ½ Σ_d ln z_d (NaN for dead walks), shape (samples,)."""
    return 0.5 * naive_log_z(nonlinearity, N, D, g, **kwargs).sum(axis=1)


def naive_layers_log_z(
    widths,
    nonlinearities,
    gains,
    *,
    model: str,
    samples: int,
    seed: int,
    bias_std=0.0,
    input_mean=0.0,
    input_std=1.0,
) -> np.ndarray:
    """Per-sample ln z of every layer of a stack of explicit rectangular layers.

    Layer d (1 … D) is W_d of shape (n_d, n_{d-1}) with i.i.d. N(0, g_d²/n_{d-1})
    entries, a_d = W_d x_{d-1} + b_d (b_d ~ N(0, bias_std_d²)), x_d = f_d(a_d);
    x_0 = input_mean + input_std ζ. δ_D ~ N(0, I_{n_D}); δ_{d-1} = W̃_dᵀ(f'_d(a_d) ⊙ δ_d)
    with W̃_d = W_d (network) or a fresh matrix of the same law (paper). Column j is the
    j-th layer from the top; a dead walk (δ = 0) gives a row of NaN.
    """
    D = len(widths) - 1
    if model not in ("paper", "network"):
        raise ValueError(model)
    bias = np.broadcast_to(np.asarray(bias_std, dtype=float), (D,))
    rng = np.random.default_rng(seed)
    log_z = np.full((samples, D), np.nan)
    for s in range(samples):
        x = input_mean + input_std * rng.standard_normal(widths[0])
        W, f_prime_a = [], []
        for d in range(D):
            f, f_prime = NONLINEARITIES[nonlinearities[d]]
            W_d = gains[d] * rng.standard_normal((widths[d + 1], widths[d])) / np.sqrt(widths[d])
            a = W_d @ x + bias[d] * rng.standard_normal(widths[d + 1])
            x = f(a)
            W.append(W_d)
            f_prime_a.append(f_prime(a))
        delta = rng.standard_normal(widths[D])
        row = np.empty(D)
        dead = False
        for d in reversed(range(D)):
            if model == "network":
                W_back = W[d]
            else:
                W_back = gains[d] * rng.standard_normal(W[d].shape) / np.sqrt(widths[d])
            delta_below = W_back.T @ (f_prime_a[d] * delta)
            z = (delta_below @ delta_below) / (delta @ delta)
            if z == 0.0:
                dead = True
                break
            row[D - 1 - d] = np.log(z)
            delta = delta_below / np.linalg.norm(delta_below)
        if not dead:
            log_z[s] = row
    return log_z
