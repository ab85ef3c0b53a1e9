"""Counter-free normal generators, one per SIMD lane (docs/design.md §Kernels and random streams).

Each lane ``l`` of a chunk owns a xoshiro256+ generator (Blackman & Vigna, "Scrambled
linear pseudorandom number generators", ACM TOMS 2021) whose 256-bit state is column
``l`` of a ``(4, L)`` uint64 array. Its state is seeded from the chunk's
``numpy.random.SeedSequence`` (:func:`seed_lanes`), so a chunk's numbers depend on the
seed and the chunk index only. A lane's next 64 bits are

    out = s0 + s3;  t = s1 << 17;  s2 ^= s0;  s3 ^= s1;  s1 ^= s2;  s0 ^= s3;
    s2 ^= t;  s3 = rotl(s3, 45),

the top 52 bits become a double u ∈ [1, 2) by writing them under the exponent of 1.0
(no integer-to-float conversion, which does not vectorise), and pairs of uniforms become
pairs of standard normals by Box–Muller (Box & Muller 1958):

    z₁ = √(−2 ln u₁) cos θ,   z₂ = √(−2 ln u₁) sin θ,   u₁ ∈ (0, 1], θ = 2π(u₂ − ½),

with ln, cos and sin evaluated by polynomials accurate to a few ulp (libm calls would stop
the compiler from vectorising the loop; Numba has no vector math library here).

Every loop runs over the lanes innermost, so the compiler turns it into SIMD code.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .. import _config

_ONE_BITS = np.uint64(0x3FF0000000000000)  # the bit pattern of 1.0
_TWO_PI = 2.0 * math.pi
_TWO_M52 = 2.0**-52
_U17 = np.uint64(17)
_U45 = np.uint64(45)
_U19 = np.uint64(19)
_U12 = np.uint64(12)
_U52 = np.uint64(52)
_MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)
_HALF_PI = 0.5 * math.pi
_SQRT2 = math.sqrt(2.0)
_LN2 = math.log(2.0)

_JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath=_config.KERNEL_FASTMATH)


def seed_lanes(ss: np.random.SeedSequence, lanes: int) -> np.ndarray:
    """The ``(4, lanes)`` xoshiro256+ states of a chunk, from its SeedSequence."""
    state = ss.generate_state(4 * lanes, np.uint64).reshape(4, lanes)
    return np.ascontiguousarray(state)


@nb.njit(**_JIT)
def _next_bits(s, l):  # pragma: no cover - compiled
    s0, s1, s2, s3 = s[0, l], s[1, l], s[2, l], s[3, l]
    out = s0 + s3
    t = s1 << _U17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << _U45) | (s3 >> _U19)
    s[0, l], s[1, l], s[2, l], s[3, l] = s0, s1, s2, s3
    return out


@nb.njit(**_JIT)
def fill_normals(s, bits, z, n):  # pragma: no cover - compiled
    """Write standard normals into rows ``0 … n-1`` of ``z`` (shape (≥ n+1, L)), every lane.

    Draws ``n`` rounded up to even uniforms per lane (Box–Muller makes normals in pairs);
    ``bits`` is uint64 scratch of the same shape as ``z``. ln and sin/cos are computed by
    the branch-free polynomials below (not libm calls), so every pass vectorises.
    """
    L = s.shape[1]
    rows = n + (n & 1)
    for i in range(rows):
        for l in range(L):
            bits[i, l] = (_next_bits(s, l) >> _U12) | _ONE_BITS
    u = bits.view(np.float64)  # in [1, 2)
    zb = z.view(np.uint64)
    for i in range(0, rows, 2):
        for l in range(L):
            z[i, l] = 2.0 - u[i, l]  # u₁ ∈ (0, 1]
            c, sn = _cos_sin(_HALF_PI * (u[i + 1, l] - 1.5))  # θ = 2π(u₂ − ½) ∈ [−π, π)
            z[i + 1, l] = c
            u[i + 1, l] = sn
    for i in range(0, rows, 2):
        for l in range(L):
            b = zb[i, l]  # u₁ = 2^e · m: split off the exponent
            u[i, l] = np.float64(np.int64(b >> _U52)) - 1023.0
            zb[i, l] = (b & _MANTISSA) | _ONE_BITS
    for i in range(0, rows, 2):
        for l in range(L):
            rad = math.sqrt(-2.0 * _log_parts(z[i, l], u[i, l]))
            z[i, l] = rad * z[i + 1, l]
            z[i + 1, l] = rad * u[i + 1, l]


@nb.njit(inline="always", **_JIT)
def _log_parts(m, e):  # pragma: no cover - compiled
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
def _cos_sin(phi):  # pragma: no cover - compiled
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


@nb.njit(**_JIT)
def lane_normals(s, l, out, n):  # pragma: no cover - compiled
    """Standard normals for lane ``l`` only into ``out[0:n, l]`` (rare paths: restarts)."""
    for i in range(0, n, 2):
        # m·2⁻⁵² equals the [1, 2) double of fill_normals minus 1, exactly
        u1 = 1.0 - np.float64(_next_bits(s, l) >> _U12) * _TWO_M52
        u2 = np.float64(_next_bits(s, l) >> _U12) * _TWO_M52
        rad = math.sqrt(-2.0 * math.log(u1))
        th = _TWO_PI * u2
        out[i, l] = rad * math.cos(th)
        if i + 1 < n:
            out[i + 1, l] = rad * math.sin(th)
