"""Branch-free polynomial ln, cos and sin that a compiler vectorises (no libm calls).

Numba lowers ``math.log`` and ``math.sin`` to calls into libm, which stop LLVM from
vectorising a loop over SIMD lanes; the walk kernels therefore use these polynomials,
accurate to a few ulp, for the Box–Muller transform (:mod:`.rng`) and for the per-lane
logarithms of the walk's statistics (:mod:`.lanes`).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _config
from .._jit import nb
from .bitcast import bits_of_float, float_from_bits

_SQRT2 = math.sqrt(2.0)
_LN2 = math.log(2.0)
_U52 = np.uint64(52)
_MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.uint64(0x3FF0000000000000)  # the bit pattern of 1.0
#: Smallest positive normal double: below it the exponent field no longer gives ln.
_TINY = 2.2250738585072014e-308

_JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath=_config.KERNEL_FASTMATH)


@nb.njit(inline="always", **_JIT)
def log_parts(m, e):  # pragma: no cover - compiled
    """ln(2^e · m) for m ∈ [1, 2): ln m = 2 atanh s, s = (m − 1)/(m + 1), |s| < 0.172
    after folding m into [√½, √2); the series to s²¹ is exact to double precision."""
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1.0 if big else e
    s = (m - 1.0) / (m + 1.0)
    q = s * s
    p = 1.0 / 21.0
    p = p * q + 1.0 / 19.0
    p = p * q + 1.0 / 17.0
    p = p * q + 1.0 / 15.0
    p = p * q + 1.0 / 13.0
    p = p * q + 1.0 / 11.0
    p = p * q + 1.0 / 9.0
    p = p * q + 1.0 / 7.0
    p = p * q + 1.0 / 5.0
    p = p * q + 1.0 / 3.0
    p = p * q + 1.0
    return 2.0 * s * p + e * _LN2


@nb.njit(inline="always", **_JIT)
def cos_sin_quadruple(phi):  # pragma: no cover - compiled
    """(cos 4φ, sin 4φ) for |φ| <= π/4: Taylor series of cos φ and sin φ (to φ¹⁸, φ¹⁷),
    then the double-angle formulas twice."""
    q = phi * phi
    c = 1.0 / 6402373705728000.0  # 1/18!
    c = c * q - 1.0 / 20922789888000.0
    c = c * q + 1.0 / 87178291200.0
    c = c * q - 1.0 / 479001600.0
    c = c * q + 1.0 / 3628800.0
    c = c * q - 1.0 / 40320.0
    c = c * q + 1.0 / 720.0
    c = c * q - 1.0 / 24.0
    c = c * q + 0.5
    c = 1.0 - c * q
    sn = 1.0 / 355687428096000.0  # 1/17!
    sn = sn * q - 1.0 / 1307674368000.0
    sn = sn * q + 1.0 / 6227020800.0
    sn = sn * q - 1.0 / 39916800.0
    sn = sn * q + 1.0 / 362880.0
    sn = sn * q - 1.0 / 5040.0
    sn = sn * q + 1.0 / 120.0
    sn = sn * q - 1.0 / 6.0
    sn = phi + phi * q * sn
    s2, c2 = 2.0 * sn * c, (c - sn) * (c + sn)
    return (c2 - s2) * (c2 + s2), 2.0 * s2 * c2


@nb.njit(inline="always", **_JIT)
def log_normal_number(x):  # pragma: no cover - compiled
    """ln x for a positive, finite, normal double x (x = 2^e · m, m ∈ [1, 2))."""
    b = bits_of_float(x)
    e = np.float64(np.int64(b >> _U52)) - 1023.0
    return log_parts(float_from_bits((b & _MANTISSA) | _ONE_BITS), e)


@nb.njit(**_JIT)
def lane_logs(x, out):  # pragma: no cover - compiled
    """out[l] = ln x[l] for every lane: the polynomial in one vectorised pass, then libm's
    ``log`` for the rare lanes outside the positive normal doubles (0, subnormal, inf,
    NaN, negative), so that every value is what ``math.log`` would give up to a few ulp."""
    L = x.size
    for l in range(L):
        out[l] = log_normal_number(x[l])
    for l in range(L):
        if not (_TINY <= x[l] < math.inf):
            out[l] = math.log(x[l])
