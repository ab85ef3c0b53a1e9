"""Optimizers as small (init, update) pairs over lists of NumPy arrays (optax style).

An optimizer is a :class:`GradientTransformation`: ``init(params) -> state`` and
``update(grads, state, params) -> (updates, state)``; states are immutable NamedTuples
and nothing passed in is modified. :func:`apply_updates` adds the updates to the
parameters. The named optimizers are chains of a few blocks — :func:`scale_by_rms`,
:func:`scale_by_adagrad`, :func:`scale_by_adam`, :func:`scale_by_learning_rate`,
:func:`trace`, :func:`clip_by_global_norm` — with the hyperparameters and defaults of
the algorithm boxes of Goodfellow, Bengio & Courville, *Deep Learning* (2016), ch. 8:

==================  ==========  =====================================================
optimizer           box         update (g = gradient, ε = learning rate)
==================  ==========  =====================================================
sgd                 Alg. 8.1    θ ← θ − ε g
momentum            Alg. 8.2    v ← α v − ε g;  θ ← θ + v
nesterov            Alg. 8.3    as 8.2 with g taken at θ + α v (see :func:`trace`)
adagrad             Alg. 8.4    r ← r + g²;  θ ← θ − ε g / (δ + √r),  δ = 1e-7
rmsprop             Alg. 8.5    r ← ρ r + (1−ρ) g²;  θ ← θ − ε g / √(δ + r),  δ = 1e-6
rmsprop_nesterov    Alg. 8.6    r as 8.5;  v ← α v − ε g / √(δ + r);  θ ← θ + v
adam                Alg. 8.7    s, r moments; ŝ = s/(1−ρ₁ᵗ), r̂ = r/(1−ρ₂ᵗ);
                                θ ← θ − ε ŝ / (√r̂ + δ),  ρ₁=0.9, ρ₂=0.999, δ=1e-8
==================  ==========  =====================================================

Learning rates: a number, one number per parameter array (per-layer rates), or a
schedule ``step -> number or sequence`` (see :mod:`rwinit.training.schedules`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..errors import RwinitError
from ..validation import check_choice

Params = list[np.ndarray]
LearningRate = float | Sequence[float] | Callable[[int], "float | Sequence[float]"]


class GradientTransformation(NamedTuple):
    """``init(params) -> state``; ``update(grads, state, params=None) -> (updates, state)``."""

    init: Callable[[Params], Any]
    update: Callable[..., tuple[Params, Any]]


class EmptyState(NamedTuple):
    """State of a stateless block."""


class CountState(NamedTuple):
    """Steps taken so far."""

    count: int


class TraceState(NamedTuple):
    """Velocity v of momentum (Alg. 8.2)."""

    velocity: tuple[np.ndarray, ...]


class AccumulatorState(NamedTuple):
    """Accumulated squared gradient r (Alg. 8.4–8.6)."""

    r: tuple[np.ndarray, ...]


class AdamState(NamedTuple):
    """Step t and first and second moment estimates s, r (Alg. 8.7)."""

    count: int
    s: tuple[np.ndarray, ...]
    r: tuple[np.ndarray, ...]


def _zeros(params: Params) -> tuple[np.ndarray, ...]:
    return tuple(np.zeros_like(p) for p in params)


def apply_updates(params: Params, updates: Params) -> Params:
    """θ + Δθ, as new arrays."""
    return [p + u for p, u in zip(params, updates, strict=True)]


def global_norm(arrays: Params) -> float:
    """√(Σ‖a‖²) over all arrays."""
    return float(np.sqrt(sum(float(np.vdot(a, a)) for a in arrays)))


# --- blocks ------------------------------------------------------------------------------


def _per_param(value: float | Sequence[float], n: int) -> list[float]:
    if np.ndim(value) == 0:
        return [float(value)] * n  # type: ignore[arg-type]
    values = [float(v) for v in value]  # type: ignore[union-attr]
    if len(values) != n:
        raise RwinitError(f"got {len(values)} learning rates for {n} parameter arrays")
    return values


def scale_by_learning_rate(learning_rate: LearningRate) -> GradientTransformation:
    """Δ = −ε_k g, with ε_k a number, one per parameter array, or a schedule of step k."""

    def init(params: Params) -> CountState:
        return CountState(0)

    def update(grads: Params, state: CountState, params: Params | None = None):
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        rates = _per_param(lr, len(grads))
        return [-e * g for e, g in zip(rates, grads, strict=True)], CountState(state.count + 1)

    return GradientTransformation(init, update)


def trace(decay: float, nesterov: bool = False) -> GradientTransformation:
    """Momentum on an incoming step u (already scaled by −ε): v ← α v + u.

    Plain (Alg. 8.2): Δθ = v. Nesterov (Alg. 8.3, 8.6): the box evaluates g at the
    interim point θ̃ = θ + α v. Tracking φ = θ + α v as the parameters instead (the
    reformulation of Sutskever et al. 2013, used by ``torch.optim.SGD(nesterov=True)``),
    the gradient is taken at the parameters themselves and Δφ = α v_new + u. The two
    sequences coincide: φ_k = θ_k + α v_k, and φ_0 = θ_0 as v_0 = 0.
    """

    def init(params: Params) -> TraceState:
        return TraceState(_zeros(params))

    def update(steps: Params, state: TraceState, params: Params | None = None):
        velocity = tuple(decay * v + u for v, u in zip(state.velocity, steps, strict=True))
        if nesterov:
            out = [decay * v + u for v, u in zip(velocity, steps, strict=True)]
        else:
            out = [v.copy() for v in velocity]
        return out, TraceState(velocity)

    return GradientTransformation(init, update)


def scale_by_adagrad(delta: float = 1e-7) -> GradientTransformation:
    """r ← r + g ⊙ g;  g ↦ g / (δ + √r)  (Alg. 8.4)."""

    def init(params: Params) -> AccumulatorState:
        return AccumulatorState(_zeros(params))

    def update(grads: Params, state: AccumulatorState, params: Params | None = None):
        r = tuple(r + g * g for r, g in zip(state.r, grads, strict=True))
        out = [g / (delta + np.sqrt(a)) for g, a in zip(grads, r, strict=True)]
        return out, AccumulatorState(r)

    return GradientTransformation(init, update)


def scale_by_rms(decay: float = 0.9, delta: float = 1e-6) -> GradientTransformation:
    """r ← ρ r + (1−ρ) g ⊙ g;  g ↦ g / √(δ + r)  (Alg. 8.5; δ inside the root as in the box)."""

    def init(params: Params) -> AccumulatorState:
        return AccumulatorState(_zeros(params))

    def update(grads: Params, state: AccumulatorState, params: Params | None = None):
        r = tuple(decay * r + (1.0 - decay) * g * g for r, g in zip(state.r, grads, strict=True))
        return [g / np.sqrt(delta + a) for g, a in zip(grads, r, strict=True)], AccumulatorState(r)

    return GradientTransformation(init, update)


def scale_by_adam(
    b1: float = 0.9, b2: float = 0.999, delta: float = 1e-8
) -> GradientTransformation:
    """Bias-corrected moments: g ↦ ŝ / (√r̂ + δ)  (Alg. 8.7; Kingma & Ba, arXiv:1412.6980)."""

    def init(params: Params) -> AdamState:
        return AdamState(0, _zeros(params), _zeros(params))

    def update(grads: Params, state: AdamState, params: Params | None = None):
        t = state.count + 1
        s = tuple(b1 * s + (1.0 - b1) * g for s, g in zip(state.s, grads, strict=True))
        r = tuple(b2 * r + (1.0 - b2) * g * g for r, g in zip(state.r, grads, strict=True))
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t
        out = [(m / c1) / (np.sqrt(v / c2) + delta) for m, v in zip(s, r, strict=True)]
        return out, AdamState(t, s, r)

    return GradientTransformation(init, update)


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """g ↦ g · min(1, c/‖g‖), ‖g‖ the norm over all arrays (Pascanu et al. 2013; DL §10.11.1)."""
    if not max_norm > 0:
        raise RwinitError(f"max_norm must be > 0, got {max_norm!r}")

    def init(params: Params) -> EmptyState:
        return EmptyState()

    def update(grads: Params, state: EmptyState, params: Params | None = None):
        norm = global_norm(grads)
        if norm <= max_norm or not np.isfinite(norm):
            return list(grads), state
        factor = max_norm / norm
        return [g * factor for g in grads], state

    return GradientTransformation(init, update)


def chain(*blocks: GradientTransformation) -> GradientTransformation:
    """Apply blocks in order; the state is the tuple of their states."""

    def init(params: Params) -> tuple:
        return tuple(b.init(params) for b in blocks)

    def update(grads: Params, state: tuple, params: Params | None = None):
        new_state = []
        for block, s in zip(blocks, state, strict=True):
            grads, s = block.update(grads, s, params)
            new_state.append(s)
        return grads, tuple(new_state)

    return GradientTransformation(init, update)


# --- named optimizers ------------------------------------------------------------------


def sgd(learning_rate: LearningRate = 0.01) -> GradientTransformation:
    """Stochastic gradient descent (Alg. 8.1)."""
    return scale_by_learning_rate(learning_rate)


def momentum(learning_rate: LearningRate = 0.01, alpha: float = 0.9) -> GradientTransformation:
    """SGD with momentum (Alg. 8.2); α ∈ {0.5, 0.9, 0.99} are the book's usual values."""
    return chain(scale_by_learning_rate(learning_rate), trace(alpha))


def nesterov(learning_rate: LearningRate = 0.01, alpha: float = 0.9) -> GradientTransformation:
    """SGD with Nesterov momentum (Alg. 8.3), in the look-ahead parametrisation of :func:`trace`."""
    return chain(scale_by_learning_rate(learning_rate), trace(alpha, nesterov=True))


def adagrad(learning_rate: LearningRate = 0.01, delta: float = 1e-7) -> GradientTransformation:
    """AdaGrad (Alg. 8.4; Duchi et al. 2011)."""
    return chain(scale_by_adagrad(delta), scale_by_learning_rate(learning_rate))


def rmsprop(
    learning_rate: LearningRate = 0.001, rho: float = 0.9, delta: float = 1e-6
) -> GradientTransformation:
    """RMSProp (Alg. 8.5; Hinton 2012)."""
    return chain(scale_by_rms(rho, delta), scale_by_learning_rate(learning_rate))


def rmsprop_nesterov(
    learning_rate: LearningRate = 0.001, rho: float = 0.9, alpha: float = 0.9, delta: float = 1e-6
) -> GradientTransformation:
    """RMSProp with Nesterov momentum (Alg. 8.6).

    The box divides by √r; δ = 1e-6 is added inside the root as in Alg. 8.5 so that a
    zero gradient component cannot divide by zero (``delta=0`` gives the box exactly).
    """
    return chain(
        scale_by_rms(rho, delta), scale_by_learning_rate(learning_rate), trace(alpha, nesterov=True)
    )


def adam(
    learning_rate: LearningRate = 0.001, rho1: float = 0.9, rho2: float = 0.999, delta: float = 1e-8
) -> GradientTransformation:
    """Adam (Alg. 8.7; Kingma & Ba 2014)."""
    return chain(scale_by_adam(rho1, rho2, delta), scale_by_learning_rate(learning_rate))


#: Named optimizers; each takes ``learning_rate`` first.
OPTIMIZERS: dict[str, Callable[..., GradientTransformation]] = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "rmsprop_nesterov": rmsprop_nesterov,
    "adam": adam,
}


def get_optimizer(
    name: str, learning_rate: LearningRate, **kwargs: float
) -> GradientTransformation:
    """A named optimizer; the error lists the known names."""
    return OPTIMIZERS[check_choice(name, "optimizer", OPTIMIZERS)](learning_rate, **kwargs)
