"""JAX adapter: a ``jax.nn.initializers``-compatible initializer with std g*/sqrt(fan_in).

JAX kernels are (fan_in, fan_out) — ``in_axis=-2``, ``out_axis=-1``, the
``jax.nn.initializers`` convention — and the initializer is

    ``jax.nn.initializers.variance_scaling(g**2, "fan_in", "normal")``

(in JAX, ``"normal"`` is the untruncated normal), i.e. N(0, g²/fan_in) (DESIGN.md
section 4). Without a fixed width, g* is looked up at call time for the kernel's own
fan_in (shapes are static under ``jit``, so the lookup happens once, in Python).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ..lookup import resolve_gain
from ..validation import check_width
from . import require


def variance_scaling_args(g: float) -> dict[str, Any]:
    """Arguments of ``jax.nn.initializers.variance_scaling`` for std g/sqrt(fan_in)."""
    return {"scale": g * g, "mode": "fan_in", "distribution": "normal"}


def _fan_in(shape: Sequence[int], in_axis: int, out_axis: int) -> int:
    n = len(shape)
    receptive = math.prod(s for i, s in enumerate(shape) if i not in (in_axis % n, out_axis % n))
    return int(shape[in_axis] * receptive)


def initializer(nonlinearity: str, width: int | None = None, *, gain: float | None = None,
                depth: int | None = None, model: str = "network", in_axis: int = -2,
                out_axis: int = -1) -> Callable:
    """An initializer ``init(key, shape, dtype=jnp.float_)`` drawing N(0, g²/fan_in).

    Parameters
    ----------
    nonlinearity : str
        The nonlinearity that follows the layer.
    width : int, optional
        N for the g* lookup; by default each kernel's fan_in.
    gain : float, optional
        Use this g instead of looking one up.
    depth, model
        As in :func:`rwinit.gain`.
    in_axis, out_axis : int
        As in ``jax.nn.initializers.variance_scaling``.
    """
    jax = require("jax", "jax")
    lookup = dict(depth=depth, model=model)
    if gain is not None or width is not None:
        g = resolve_gain(nonlinearity, check_width(width or 1), gain, **lookup)
        return jax.nn.initializers.variance_scaling(**variance_scaling_args(g),
                                                    in_axis=in_axis, out_axis=out_axis)

    def init(key: Any, shape: Sequence[int], dtype: Any = None) -> Any:
        fan_in = _fan_in(shape, in_axis, out_axis)
        g = resolve_gain(nonlinearity, fan_in, None, **lookup)
        inner = jax.nn.initializers.variance_scaling(**variance_scaling_args(g),
                                                     in_axis=in_axis, out_axis=out_axis)
        return inner(key, shape, dtype or jax.dtypes.canonicalize_dtype(jax.numpy.float_))

    return init


__all__ = ["initializer", "variance_scaling_args"]
