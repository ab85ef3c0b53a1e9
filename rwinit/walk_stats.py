"""Streamed statistics of the walk: per-layer Welford sums and the drift with control variates.

docs/design.md §Control variates and §The solver. The kernels return, per chunk, Welford
sums per layer and a few numbers per sample; this module merges them block by block
(Chan, Golub & LeVeque 1979), so memory stays bounded whatever the sample count, and
the merge order is fixed, so the result does not depend on the number of threads.

Drift estimator. Sample i contributes Y_i = 2 W_i = Σ_j ln z_j over its L_i contributing
layers (Y_i = L_i = 0 for a dead or overflowed sample) and its control variates
C_i = (A_ξ − E A_ξ, A_η − E A_η), whose means are exactly 0. The per-layer drift is the
ratio m = E Y / E L; with controls,

    m̂ = (Ȳ − β·C̄) / L̄,   β = argmin Var(Y − m L − β·C)  (least squares, with intercept),

unbiased for any fixed β (the controls have mean 0) and, with β fitted, consistent with a
standard error from the regression residual R_i = Y_i − m̂ L_i − β·C_i on n − 1 − k
degrees of freedom (k controls):

    SE(m̂) = √(Σ R̃_i² / (n − 1 − k) / n) / L̄.

Without controls (k = 0) this is the ratio estimator's usual SE.
"""

from __future__ import annotations

import math

import numpy as np

#: Smallest residual sum of squares, relative to the plain one, that the SE trusts.
_RESIDUAL_FLOOR = 1e-12

#: Columns of the per-sample moment vector.
MOMENT_COLUMNS: tuple[str, ...] = ("Y", "L", "A_xi", "A_eta")


def digamma(x: float) -> float:
    """ψ(x) for x > 0 without SciPy (start-up time): the recurrence ψ(x) = ψ(x+1) − 1/x up
    to x >= 10, then the asymptotic series ln x − 1/(2x) − Σ B_2k/(2k x^2k) to x⁻¹⁴
    (error below 1e-16 there; Abramowitz & Stegun 6.3.18)."""
    if not x > 0:
        return math.nan
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    q = 1.0 / (x * x)
    series = q * (1 / 12 - q * (1 / 120 - q * (1 / 252 - q * (1 / 240 - q * (
        1 / 132 - q * (691 / 32760 - q / 12))))))
    return acc + math.log(x) - 0.5 / x - series


def log_chi2_mean(k: float) -> float:
    """E ln χ²_k = ψ(k/2) + ln 2 (−∞ for k <= 0): a control variate's term's exact mean."""
    return digamma(0.5 * k) + math.log(2.0) if k > 0 else -math.inf


class Moments:
    """Count, mean vector and centred cross-product matrix of per-sample vectors, merged
    block by block."""

    def __init__(self, k: int = len(MOMENT_COLUMNS)) -> None:
        self.n = 0
        self.mean = np.zeros(k)
        self.comoment = np.zeros((k, k))

    def add(self, v: np.ndarray) -> None:
        """Merge a block of rows ``v`` (shape (m, k))."""
        m = v.shape[0]
        if m == 0:
            return
        mean_b = v.mean(axis=0)
        c = v - mean_b
        co_b = c.T @ c
        n = self.n + m
        delta = mean_b - self.mean
        self.comoment += co_b + np.outer(delta, delta) * (self.n * m / n)
        self.mean += delta * (m / n)
        self.n = n


def drift_estimate(n: int, mean: np.ndarray, comoment: np.ndarray,
                   controls: tuple[int, ...] = ()) -> tuple[float, float, np.ndarray]:
    """(m̂, SE(m̂), β) from the moments of (Y, L, A_ξ − E A_ξ, A_η − E A_η).

    ``controls`` are the column indices (2, 3) of the usable control variates.
    """
    Ybar, Lbar = mean[0], mean[1]
    if n < 1 or Lbar <= 0.0:
        return math.nan, math.nan, np.zeros(len(controls))
    idx = list(controls)
    k = len(idx)
    m = Ybar / Lbar
    beta = np.zeros(k)
    S = comoment
    for _ in range(2):  # fit β at the plain ratio, then once more at the adjusted m̂
        s_rr = S[0, 0] - 2 * m * S[0, 1] + m * m * S[1, 1]
        if k:
            s_rc = S[0, idx] - m * S[1, idx]
            s_cc = S[np.ix_(idx, idx)]
            try:
                beta = np.linalg.solve(s_cc, s_rc)
            except np.linalg.LinAlgError:
                beta = np.linalg.lstsq(s_cc, s_rc, rcond=None)[0]
            m = (Ybar - beta @ mean[idx]) / Lbar
    s_rr = S[0, 0] - 2 * m * S[0, 1] + m * m * S[1, 1]
    ss = s_rr - (beta @ (S[0, idx] - m * S[1, idx]) if k else 0.0)
    # the residual sum is a difference of sums of squares: below ~1e-12 of the plain one
    # it is rounding (e.g. a linear walk that the controls explain exactly), not signal
    ss = max(ss, _RESIDUAL_FLOOR * s_rr)
    dof = n - 1 - k
    if dof < 1:
        return float(m), math.nan, beta
    se = math.sqrt(max(ss, 0.0) / dof / n) / Lbar
    return float(m), float(se), beta


class LayerStats:
    """Per-layer Welford sums (count, mean, M2) merged chunk by chunk, with the batch-means
    spread of the chunk variances for the SE of the variance."""

    def __init__(self, layers: int) -> None:
        self.n = np.zeros(layers)
        self.mean = np.zeros(layers)
        self.m2 = np.zeros(layers)
        self.chunks_ok = np.zeros(layers)
        self.var_sum = np.zeros(layers)
        self.var_sq_sum = np.zeros(layers)

    def add(self, counts: np.ndarray, means: np.ndarray, m2s: np.ndarray) -> None:
        """Merge chunks: ``counts`` (chunks,) or (chunks, layers); ``means``, ``m2s``
        (chunks, layers)."""
        w = np.broadcast_to(counts if counts.ndim == 2 else counts[:, None], means.shape)
        nb = w.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_b = np.where(nb > 0, (w * means).sum(axis=0) / np.maximum(nb, 1), 0.0)
            m2_b = (m2s + w * (means - mean_b) ** 2).sum(axis=0)
            n = self.n + nb
            delta = mean_b - self.mean
            frac = np.where(n > 0, nb / np.maximum(n, 1), 0.0)
            self.m2 += m2_b + delta * delta * self.n * frac
            self.mean += delta * frac
        self.n = n
        ok = w >= 2
        cv = np.where(ok, m2s / np.maximum(w - 1, 1), 0.0)
        self.chunks_ok += ok.sum(axis=0)
        self.var_sum += cv.sum(axis=0)
        self.var_sq_sum += (cv * cv).sum(axis=0)

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance, SE(mean), SE(variance) per layer (NaN where undefined)."""
        n = self.n
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, self.mean, np.nan)
            var = np.where(n > 1, self.m2 / np.maximum(n - 1, 1), np.nan)
            se_mean = np.sqrt(var / n)
            k = self.chunks_ok
            avg = self.var_sum / np.maximum(k, 1)
            spread = np.maximum(self.var_sq_sum - k * avg * avg, 0.0)
            se_var = np.where(k >= 2, np.sqrt(spread / np.maximum(k - 1, 1) / np.maximum(k, 1)),
                              np.nan)
        return mean, var, se_mean, se_var
