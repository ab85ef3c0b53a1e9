"""Counter-free normal generators, one per SIMD lane (docs/design.md §Kernels and random streams).

Each lane ``l`` of a chunk owns a xoshiro256+ generator (Blackman & Vigna, "Scrambled
linear pseudorandom number generators", ACM TOMS 2021) whose 256-bit state is column
``l`` of a ``(4, L)`` uint64 array. Its state is seeded from the chunk's
``numpy.random.SeedSequence`` (:func:`seed_lanes`), so a chunk's numbers depend on the
seed and the chunk index only. A lane's next 64 bits are

    out = s0 + s3;  t = s1 << 17;  s2 ^= s0;  s3 ^= s1;  s1 ^= s2;  s0 ^= s3;
    s2 ^= t;  s3 = rotl(s3, 45),

the top 52 bits become a double u ∈ [1, 2) by writing them under the exponent of 1.0
(a bit cast, :mod:`.bitcast`; an integer-to-float conversion does not vectorise), and
pairs of uniforms become pairs of standard normals by Box–Muller (Box & Muller 1958):

    z₁ = √(−2 ln u₁) cos θ,   z₂ = √(−2 ln u₁) sin θ,   u₁ ∈ (0, 1], θ = 2π(u₂ − ½),

with ln, cos and sin evaluated by the polynomials of :mod:`.polymath`, accurate to a few ulp
(libm calls would stop the compiler from vectorising the loop; Numba has no vector math
library here).

Every loop runs over the lanes innermost, so the compiler turns it into SIMD code.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _config
from .._jit import nb
from .bitcast import float_from_bits
from .polymath import cos_sin_quadruple, log_normal_number

_ONE_BITS = np.uint64(0x3FF0000000000000)  # the bit pattern of 1.0
_TWO_PI = 2.0 * math.pi
_TWO_M52 = 2.0**-52
_U17 = np.uint64(17)
_U45 = np.uint64(45)
_U19 = np.uint64(19)
_U12 = np.uint64(12)
_HALF_PI = 0.5 * math.pi

_JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath=_config.KERNEL_FASTMATH)


#: The constants of ``numpy.random.SeedSequence``'s output hash (O'Neill's seed_seq
#: alternative, https://www.pcg-random.org/posts/developing-a-seed_seq-alternative.html).
_INIT_B, _MULT_B, _XSHIFT = 0x8B51F9DD, 0x58F38DED, 16
_HASH_CONSTS = np.zeros(0, dtype=np.uint32)


def _hash_consts(n: int) -> np.ndarray:
    """h_0 … h_n with h_i = INIT_B · MULT_B^i mod 2³² (cached, grown as needed)."""
    global _HASH_CONSTS
    if _HASH_CONSTS.size <= n:
        h = np.empty(max(n + 1, 2048), dtype=np.uint32)
        h[0] = _INIT_B
        for i in range(1, h.size):
            h[i] = (int(h[i - 1]) * _MULT_B) & 0xFFFFFFFF
        _HASH_CONSTS = h
    return _HASH_CONSTS[: n + 1]


def seed_words(ss: np.random.SeedSequence, n_words: int) -> np.ndarray:
    """``ss.generate_state(n_words, np.uint64)``, the same numbers, in one vectorised pass.

    NumPy hashes its pool one 32-bit word at a time in a Python-level loop (120-170 µs
    for a 128-lane chunk, 5% of a chunk at width 32, and all of it under the GIL). Word
    i of the uint32 output is ``((pool[i mod P] ^ h_i) · h_{i+1}) ^ (· >> 16)`` with h_i of
    :func:`_hash_consts`, all mod 2³²; pairs of words make one little-endian uint64.
    """
    n32 = 2 * n_words
    h = _hash_consts(n32)
    pool = np.asarray(ss.pool, dtype=np.uint32)
    data = np.tile(pool, -(-n32 // pool.size))[:n32] ^ h[:-1]
    data *= h[1:]  # uint32 arrays wrap mod 2³², as the C loop does
    data ^= data >> np.uint32(_XSHIFT)
    return data.astype("<u4").view("<u8").astype(np.uint64)


def seed_lanes(ss: np.random.SeedSequence, lanes: int) -> np.ndarray:
    """The ``(4, lanes)`` xoshiro256+ states of a chunk, from its SeedSequence
    (``ss.generate_state(4 * lanes, np.uint64)``, computed by :func:`seed_words`)."""
    return np.ascontiguousarray(seed_words(ss, 4 * lanes).reshape(4, lanes))


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
def fill_normals(s, z, row0, n):  # pragma: no cover - compiled
    """Write standard normals into rows ``row0 … row0+n-1`` of ``z``, every lane (row
    ``row0+n`` is overwritten too when n is odd).

    Draws ``n`` rounded up to even uniforms per lane (Box–Muller makes normals in pairs),
    in one pass: the bit casts (:mod:`.bitcast`) and the branch-free polynomials for ln
    and sin/cos (:mod:`.polymath`) keep every number in registers, so the loop over lanes
    vectorises.
    """
    L = s.shape[1]
    rows = n + (n & 1)
    for i in range(row0, row0 + rows, 2):
        for l in range(L):
            u = float_from_bits((_next_bits(s, l) >> _U12) | _ONE_BITS)  # u ∈ [1, 2)
            w = float_from_bits((_next_bits(s, l) >> _U12) | _ONE_BITS)
            rad = math.sqrt(-2.0 * log_normal_number(2.0 - u))  # u₁ = 2 − u ∈ [2⁻⁵², 1]
            c, sn = cos_sin_quadruple(_HALF_PI * (w - 1.5))  # θ = 2π(u₂ − ½) ∈ [−π, π)
            z[i, l] = rad * c
            z[i + 1, l] = rad * sn


@nb.njit(**_JIT)
def lane_normals(s, l, out, row0, n):  # pragma: no cover - compiled
    """Standard normals for lane ``l`` only into ``out[row0:row0+n, l]`` (rare paths:
    restarts)."""
    for i in range(row0, row0 + n, 2):
        # m·2⁻⁵² equals the [1, 2) double of fill_normals minus 1, exactly
        u1 = 1.0 - np.float64(_next_bits(s, l) >> _U12) * _TWO_M52
        u2 = np.float64(_next_bits(s, l) >> _U12) * _TWO_M52
        rad = math.sqrt(-2.0 * math.log(u1))
        th = _TWO_PI * u2
        out[i, l] = rad * math.cos(th)
        if i + 1 < row0 + n:
            out[i + 1, l] = rad * math.sin(th)
