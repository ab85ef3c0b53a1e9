"""Weight distributions, all scaled to entry variance g² / fan_in.

Shape convention everywhere in rwinit: a weight matrix has shape ``(fan_out, fan_in)``
and acts as ``a = W @ x`` (PyTorch's ``Linear.weight`` layout), so ``fan_in = shape[1]``.
Every distribution has mean 0 and entry variance ``gain**2 / fan_in``, i.e. standard
deviation ``gain / sqrt(fan_in)`` — never ``gain / fan_in``, the pitfall
docs/design.md §Using a gain warns about.

=================  ===========================================================
name               law of one entry (σ = gain / sqrt(fan_in))
=================  ===========================================================
gaussian           N(0, σ²)
uniform            U(-√3 σ, √3 σ)
truncated_normal   N(0, s²) cut at ±2 s, with s chosen so the variance is σ²
orthogonal         gain · sqrt(max(fan_out, fan_in) / fan_in) · Q, Q Haar (semi-)orthogonal
sparse             k non-zeros per row (unit), each N(0, gain² / k); variance σ²
=================  ===========================================================

The drawing code is Numba-compiled and shared by the explicit-matrix walk kernel and by
the initializers, so the law tested here is the law the kernels use.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import _config
from ._jit import nb
from .errors import RwinitError
from .validation import check_choice, check_nonnegative, check_positive_int

#: Weight distributions by name, with the integer code the kernels use.
WEIGHT_DISTRIBUTIONS: dict[str, int] = {
    "gaussian": 0,
    "uniform": 1,
    "truncated_normal": 2,
    "orthogonal": 3,
    "sparse": 4,
}

_SQRT3 = math.sqrt(3.0)


@functools.cache
def truncated_normal_std() -> float:
    """Standard deviation of N(0, 1) truncated to ±``_config.TRUNCATED_NORMAL_CUTOFF``.

    A standard normal truncated there is divided by this to give it unit variance.
    Computed on first use: importing ``scipy.stats`` costs about a second, which every
    ``import rwinit`` and every CLI call would otherwise pay.
    """
    from scipy.stats import truncnorm

    cutoff = _config.TRUNCATED_NORMAL_CUTOFF
    return float(truncnorm.std(-cutoff, cutoff))


@nb.njit(cache=True, nogil=True)
def draw_standard_weights(rng, code, sparsity, cutoff, trunc_std, out):  # pragma: no cover
    """Fill ``out`` (fan_out, fan_in) with a draw of unit-gain weights (variance 1/fan_in).

    The draws do not depend on the gain, so a caller multiplies by g afterwards and the
    same random stream gives the same standardized matrix for every g (common random
    numbers).
    """
    n_out, n_in = out.shape
    inv_sqrt_fan_in = 1.0 / math.sqrt(n_in)
    if code == 0:  # gaussian
        for i in range(n_out):
            for j in range(n_in):
                out[i, j] = rng.standard_normal() * inv_sqrt_fan_in
    elif code == 1:  # uniform on ±sqrt(3/fan_in)
        half = math.sqrt(3.0) * inv_sqrt_fan_in
        for i in range(n_out):
            for j in range(n_in):
                out[i, j] = (2.0 * rng.random() - 1.0) * half
    elif code == 2:  # truncated normal by rejection, rescaled to unit variance
        scale = inv_sqrt_fan_in / trunc_std
        for i in range(n_out):
            for j in range(n_in):
                v = rng.standard_normal()
                while abs(v) > cutoff:
                    v = rng.standard_normal()
                out[i, j] = v * scale
    elif code == 3:  # Haar orthogonal via QR with the sign fix of Mezzadri (2007)
        tall = n_out >= n_in
        rows = n_out if tall else n_in
        cols = n_in if tall else n_out
        g = np.empty((rows, cols))
        for i in range(rows):
            for j in range(cols):
                g[i, j] = rng.standard_normal()
        q, r = np.linalg.qr(g)
        # Q's entries have variance 1/rows; rescale them to 1/fan_in
        scale = math.sqrt(rows / n_in)
        for j in range(cols):
            sign = scale if r[j, j] >= 0.0 else -scale
            for i in range(rows):
                if tall:
                    out[i, j] = q[i, j] * sign
                else:
                    out[j, i] = q[i, j] * sign
    else:  # sparse: k non-zeros per row, each N(0, 1/k)
        k = sparsity
        idx = np.arange(n_in)
        w = 1.0 / math.sqrt(k)
        for i in range(n_out):
            for j in range(n_in):
                out[i, j] = 0.0
            # partial Fisher-Yates: the first k entries of idx become a uniform k-subset
            for t in range(k):
                s = t + int(rng.random() * (n_in - t))
                if s >= n_in:
                    s = n_in - 1
                tmp = idx[t]
                idx[t] = idx[s]
                idx[s] = tmp
                out[i, idx[t]] = rng.standard_normal() * w


def weight_code(distribution: str) -> int:
    """Kernel code of a weight distribution; a clear error for an unknown name."""
    check_choice(distribution, "weight distribution", WEIGHT_DISTRIBUTIONS)
    return WEIGHT_DISTRIBUTIONS[distribution]


def check_sparsity(distribution: str, sparsity: int | None, fan_in: int) -> int:
    """Validate k for the sparse distribution (1 <= k <= fan_in); 0 for the others.

    A k given with another distribution is refused, naming both (it would otherwise be
    ignored silently; docs/design.md §Input validation and resources).
    """
    if distribution != "sparse":
        if sparsity is not None:
            raise RwinitError(
                f"sparsity (non-zeros per unit, here {sparsity!r}) applies only to sparse "
                f"weights, not {distribution!r}: drop the sparsity or choose sparse weights"
            )
        return 0
    if sparsity is None:
        raise RwinitError("the sparse weight distribution needs sparsity=k (non-zeros per unit)")
    k = check_positive_int(sparsity, "sparsity")
    if k > fan_in:
        raise RwinitError(f"sparsity must be between 1 and fan_in={fan_in}, got {k}")
    return k


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A NumPy Generator from a Generator, an int seed, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def sample_weights(
    distribution: str,
    shape: tuple[int, int],
    gain: float = 1.0,
    rng: np.random.Generator | int | None = None,
    *,
    sparsity: int | None = None,
) -> np.ndarray:
    """Draw a weight matrix of shape ``(fan_out, fan_in)`` with entry variance g²/fan_in.

    Parameters
    ----------
    distribution : {"gaussian", "uniform", "truncated_normal", "orthogonal", "sparse"}
        The law of the entries (see the module table).
    shape : (int, int)
        ``(fan_out, fan_in)``.
    gain : float
        g; the entries have standard deviation g / sqrt(fan_in) (docs/design.md §The model, the
        weights of Sussillo & Abbott, arXiv:1412.6558, eq. 1).
    rng : numpy.random.Generator, int or None
        Source of randomness; the draw is fully determined by it.
    sparsity : int, optional
        k, the number of non-zero weights per unit (row), for ``"sparse"``.

    Returns
    -------
    numpy.ndarray
        float64 array of the given shape.
    """
    code = weight_code(distribution)
    if len(shape) != 2:
        raise RwinitError(f"shape must be (fan_out, fan_in), got {shape!r}")
    fan_out = check_positive_int(shape[0], "fan_out")
    fan_in = check_positive_int(shape[1], "fan_in")
    g = check_nonnegative(gain, "gain")
    k = check_sparsity(distribution, sparsity, fan_in)
    out = np.empty((fan_out, fan_in))
    draw_standard_weights(
        as_generator(rng), code, k, _config.TRUNCATED_NORMAL_CUTOFF, truncated_normal_std(), out
    )
    out *= g
    return out
