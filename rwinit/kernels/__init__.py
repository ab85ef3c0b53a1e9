"""Numba kernels that sample the random walk of ln |δ| (docs/design.md §Sampling the walk).

* :mod:`.rng` — counter-free xoshiro256+ / Box–Muller normals, one stream per SIMD lane;
* :mod:`.polymath` — branch-free polynomial ln, cos and sin (vectorisable, no libm calls);
* :mod:`.bitcast` — a double's bits as an integer and back, inside compiled code;
* :mod:`.lanes` — the batched rotational kernel (samples in SIMD lanes; layer sampling,
  forward and backward steps and statistics as small jitted pieces; rectangular layers);
* :mod:`.factory` — specialises that kernel on its nonlinearities and caches it on disk;
* :mod:`.explicit` — the explicit-matrix reference kernel (any weight distribution).
"""

from __future__ import annotations

from .lanes import ALIVE, DEAD, OVERFLOW

__all__ = ["ALIVE", "DEAD", "OVERFLOW"]
