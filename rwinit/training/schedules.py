"""Learning-rate schedules and the paper's depth-dependent per-layer rates.

A schedule is a function of the step k (0, 1, 2, …) returning the learning rate of that
step; :func:`per_layer` turns a schedule and per-layer factors into one rate per
parameter array, the form :func:`rwinit.training.optimizers.scale_by_learning_rate`
takes. Gradient clipping by global norm is the optimizer block
:func:`rwinit.training.optimizers.clip_by_global_norm` (re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import RwinitError
from ..validation import check_positive_int
from .optimizers import clip_by_global_norm, global_norm

Schedule = Callable[[int], float]

__all__ = [
    "Schedule",
    "clip_by_global_norm",
    "constant",
    "depth_scaled_rates",
    "exponential_decay",
    "global_norm",
    "linear_decay",
    "per_layer",
]


def _positive(value: float, name: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise RwinitError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def constant(value: float) -> Schedule:
    """ε_k = ε."""
    value = _positive(value, "learning rate")
    return lambda step: value


def linear_decay(initial: float, final: float, tau: int) -> Schedule:
    """Linear decay to ε_τ at step τ, then constant (*Deep Learning*, eq. 8.14).

    .. math::

        \\varepsilon_k = (1-\\alpha)\\,\\varepsilon_0 + \\alpha\\,\\varepsilon_\\tau,
        \\qquad \\alpha = \\min(k/\\tau, 1)

    The book suggests ε_τ ≈ 1% of ε_0.
    """
    e0, et = _positive(initial, "initial learning rate"), _positive(final, "final learning rate")
    tau = check_positive_int(tau, "tau")

    def schedule(step: int) -> float:
        alpha = min(step / tau, 1.0)
        return (1.0 - alpha) * e0 + alpha * et

    return schedule


def exponential_decay(initial: float, rate: float, steps_per_epoch: int) -> Schedule:
    """Per-epoch multiplicative decay: ε_k = ε_0 · γ^⌊k / steps_per_epoch⌋."""
    e0 = _positive(initial, "initial learning rate")
    gamma = _positive(rate, "decay rate")
    steps = check_positive_int(steps_per_epoch, "steps_per_epoch")
    return lambda step: e0 * gamma ** (step // steps)


def depth_scaled_rates(
    lr_in: float, lr_out: float, depth: int, max_depth: int | None = None
) -> np.ndarray:
    """Per-layer learning rates growing geometrically towards the input layer.

    Layer d = 1 … D of a depth-D network gets (Sussillo & Abbott, arXiv:1412.6558, §4;
    docs/design.md §Training)

    .. math::

        \\lambda_d = \\lambda_{out}\\, r^{D-d},\\qquad
        r = (\\lambda_{in}/\\lambda_{out})^{1/(D_{max}-1)}

    so the top layer gets λ_out and the first layer of the deepest network (D = D_max)
    gets λ_in.

    Returns
    -------
    numpy.ndarray
        λ_1 … λ_D, shape ``(D,)``.
    """
    lr_in, lr_out = _positive(lr_in, "lr_in"), _positive(lr_out, "lr_out")
    depth = check_positive_int(depth, "depth")
    max_depth = depth if max_depth is None else check_positive_int(max_depth, "max_depth")
    if max_depth < depth:
        raise RwinitError(f"max_depth ({max_depth}) must be >= depth ({depth})")
    if max_depth == 1:
        return np.array([lr_out])
    r = (lr_in / lr_out) ** (1.0 / (max_depth - 1))
    d = np.arange(1, depth + 1)
    return lr_out * r ** (depth - d)


def per_layer(
    schedule: Schedule | float, factors: Sequence[float], arrays_per_layer: int = 2
) -> Callable[[int], list[float]]:
    """Rates per parameter array: ε_{k,d} = schedule(k) · factor_d for each of the
    ``arrays_per_layer`` arrays (W_d, b_d) of layer d."""
    base = schedule if callable(schedule) else constant(schedule)
    factors = [float(f) for f in factors]

    def rates(step: int) -> list[float]:
        now = base(step)  # once per step, not once per array
        return [now * f for f in factors for _ in range(arrays_per_layer)]

    return rates
