"""Numba, imported with the code generation rwinit's kernels are written for.

Every rwinit module that compiles code imports Numba from here (``from ._jit import nb``),
so that one setting applies to all of them and is made before Numba first compiles.

The setting: on x86 CPUs with AVX-512, LLVM's tuning for Intel server cores (Skylake-SP
to Emerald Rapids) prefers 256-bit vectors, a choice made for code that mixes short
vector bursts with scalar work, where 512-bit instructions lower the clock. rwinit's
kernels are long SIMD loops over samples held side by side in lanes
(docs/design.md §Kernels), and with 512-bit vectors they run about 1.2x faster on the
README's Xeon. Where :data:`rwinit._config.FULL_WIDTH_VECTORS` is true, the host has
AVX-512, and the user has not chosen ``NUMBA_CPU_NAME`` or ``NUMBA_CPU_FEATURES``
themselves, this module sets ``NUMBA_CPU_FEATURES`` to the host's features plus
``-prefer-256-bit`` (Numba reads it again before each compilation). The variable is
process-wide: Numba code of the user's own that is compiled afterwards gets the same
tuning, and child processes inherit it. It has no effect when Numba was imported before
rwinit (measured: the kernels then keep the host's default tuning). Results do not change
with it: the kernels allow no reassociation (:data:`rwinit._config.KERNEL_FASTMATH`), so
each lane does the same arithmetic in the same order whatever the vector width
(tests/test_jit.py).
"""

from __future__ import annotations

import os

from . import _config


def _prefer_full_width_vectors() -> bool:
    """Make the setting where it applies; whether it was made."""
    if not _config.FULL_WIDTH_VECTORS:
        return False
    if os.environ.get("NUMBA_CPU_NAME") or os.environ.get("NUMBA_CPU_FEATURES"):
        return False
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features().flatten()
    if "+avx512f" not in features.split(","):
        return False
    os.environ["NUMBA_CPU_FEATURES"] = features + ",-prefer-256-bit"
    return True


#: Whether this process asked LLVM for 512-bit vectors (see the module docstring).
FULL_WIDTH_REQUESTED: bool = _prefer_full_width_vectors()

import numba as nb  # noqa: E402  (after the code-generation setting above)
import numba.extending  # noqa: E402,F401

__all__ = ["FULL_WIDTH_REQUESTED", "nb"]
