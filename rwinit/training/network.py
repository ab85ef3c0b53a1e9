"""A deep fully connected network, forward and backward in NumPy.

The model of docs/design.md §The model (Sussillo & Abbott, arXiv:1412.6558, eq. 1), with the gain
folded into the weights (std g/√fan_in):

.. math::

    a_d = W_d x_{d-1} + b_d,\\qquad x_d = f(a_d)\\quad (d < D),\\qquad
    \\text{output} = a_D \\ \\text{(linear: logits or reconstruction)}

and back-propagation (Goodfellow et al., *Deep Learning*, Alg. 6.4)

.. math::

    \\delta_D = \\partial L/\\partial a_D,\\quad
    \\partial L/\\partial W_d = \\delta_d^\\top x_{d-1},\\quad
    \\partial L/\\partial b_d = \\textstyle\\sum_b \\delta_d,\\quad
    \\delta_{d-1} = (\\delta_d W_d) \\odot f'(a_{d-1}).

A minibatch is a ``(B, N_0)`` array of rows, so a layer computes ``x @ W.T + b`` with
``W`` of shape ``(fan_out, fan_in)``. Parameters are a flat list
``[W_1, b_1, …, W_D, b_D]``, the form the optimizers take.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import initializers as inits
from ..errors import RwinitError
from ..nonlinearities import Nonlinearity, get_nonlinearity
from ..validation import check_gain, check_positive_int

Params = list[np.ndarray]

# Vectorised NumPy forms of the commonest nonlinearities (same values as the registry's
# compiled scalar functions, several times faster on whole arrays). Each entry gives f(a)
# and f'(a) computed from (a, x = f(a)).
_FAST: dict[str, tuple[Callable, Callable]] = {
    "tanh": (np.tanh, lambda a, x: 1.0 - x * x),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a, x: (a > 0.0).astype(a.dtype)),
    "linear": (lambda a: a.copy(), lambda a, x: np.ones_like(a)),
}


def _activation(nl: Nonlinearity, dtype: np.dtype, fast: bool) -> tuple[Callable, Callable]:
    if fast and nl.name in _FAST and nl.param == get_nonlinearity(nl.name).param:
        return _FAST[nl.name]
    return (
        lambda a: nl(a).astype(dtype, copy=False),
        lambda a, x: nl.derivative(a).astype(dtype, copy=False),
    )


@dataclass
class Cache:
    """What the backward pass needs: layer inputs x_0 … x_{D-1} and pre-activations."""

    inputs: list[np.ndarray]
    preacts: list[np.ndarray]


class Network:
    """A depth-D fully connected network with one nonlinearity and a linear last layer.

    Parameters
    ----------
    sizes : sequence of int
        ``(N_0, N_1, …, N_D)``: input size, hidden widths, output size; depth D =
        ``len(sizes) - 1`` weight layers, the last one linear.
    nonlinearity : str or Nonlinearity
        f of the hidden layers (any registered name, e.g. ``"tanh"``, ``"relu:0"``).
    dtype : numpy dtype
        float64 (default, exact) or float32 (faster).
    fast : bool
        Use vectorised NumPy for tanh, relu and linear instead of the registry's compiled
        scalar functions (identical values; tested).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        nonlinearity: str | Nonlinearity = "tanh",
        *,
        dtype: np.dtype | type = np.float64,
        fast: bool = True,
    ) -> None:
        if len(sizes) < 2:
            raise RwinitError(f"sizes must list the input size and >= 1 layer, got {sizes!r}")
        self.sizes = tuple(check_positive_int(n, "layer size") for n in sizes)
        self.nonlinearity = get_nonlinearity(nonlinearity)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise RwinitError(f"dtype must be float32 or float64, got {self.dtype}")
        self._f, self._fprime = _activation(self.nonlinearity, self.dtype, fast)

    @property
    def depth(self) -> int:
        """D, the number of weight layers (the last is the linear read-out)."""
        return len(self.sizes) - 1

    def init_params(
        self,
        rng: np.random.Generator | int | None = None,
        *,
        init: str = "random_walk",
        gain: float = 1.0,
        first_gain: float | None = None,
        output_gain: float | None = None,
        sparsity: int | None = None,
        output_bias: np.ndarray | None = None,
    ) -> Params:
        """Draw ``[W_1, b_1, …, W_D, b_D]`` with zero biases.

        The paper's three-parameter recipe: hidden layers get gain g, the first layer
        ``first_gain`` and the read-out layer ``output_gain`` (both default to g). The
        gains apply to the initializers that take one (random_walk, orthogonal, sparse);
        the others ignore them. ``output_bias`` sets b_D (e.g.
        :func:`rwinit.initializers.output_bias_from_marginals`).
        """
        from ..weights import as_generator

        rng = as_generator(rng)
        weight_init = inits.get_initializer(init)
        g = check_gain(gain)
        gains = [g] * self.depth
        gains[0] = check_gain(first_gain, "first_gain") if first_gain is not None else g
        if self.depth > 1 or output_gain is not None:
            gains[-1] = check_gain(output_gain, "output_gain") if output_gain is not None else g
        params: Params = []
        for d in range(self.depth):
            shape = (self.sizes[d + 1], self.sizes[d])
            kw: dict = {}
            if init in inits.GAIN_INITIALIZERS:
                kw["gain"] = gains[d]
            if init == "sparse":
                k = 15 if sparsity is None else check_positive_int(sparsity, "sparsity")
                kw["k"] = min(k, shape[1])
            params.append(weight_init(shape, rng, **kw).astype(self.dtype))
            params.append(np.zeros(shape[0], dtype=self.dtype))
        if output_bias is not None:
            b = np.asarray(output_bias, dtype=self.dtype)
            if b.shape != params[-1].shape:
                raise RwinitError(f"output_bias must have shape {params[-1].shape}, got {b.shape}")
            params[-1] = b.copy()
        return params

    def check_params(self, params: Params) -> None:
        """Raise RwinitError if ``params`` do not fit ``sizes``."""
        if len(params) != 2 * self.depth:
            raise RwinitError(f"expected {2 * self.depth} parameter arrays, got {len(params)}")
        for d in range(self.depth):
            w, b = params[2 * d], params[2 * d + 1]
            if w.shape != (self.sizes[d + 1], self.sizes[d]) or b.shape != (self.sizes[d + 1],):
                raise RwinitError(f"layer {d + 1}: W {w.shape}, b {b.shape} do not fit sizes")

    def forward(self, params: Params, x: np.ndarray) -> tuple[np.ndarray, Cache]:
        """Output a_D of a minibatch ``x`` (B, N_0), and the cache for :meth:`backward`."""
        h = np.asarray(x, dtype=self.dtype)
        cache = Cache([], [])
        for d in range(self.depth):
            w, b = params[2 * d], params[2 * d + 1]
            cache.inputs.append(h)
            a = h @ w.T
            a += b
            if d == self.depth - 1:
                return a, cache
            cache.preacts.append(a)
            h = self._f(a)
        raise AssertionError("unreachable")  # pragma: no cover

    def predict(self, params: Params, x: np.ndarray) -> np.ndarray:
        """Output a_D only."""
        return self.forward(params, x)[0]

    def backward(
        self, params: Params, cache: Cache, delta: np.ndarray, delta_norms: np.ndarray | None = None
    ) -> Params:
        """Gradients ``[∂L/∂W_1, ∂L/∂b_1, …]`` from δ_D = ∂L/∂a_D (shape (B, N_D)).

        If ``delta_norms`` (length D) is given, it receives ‖δ_d‖ (Frobenius norm over the
        minibatch) for d = 1 … D: the log-norm random walk of a real network.
        """
        grads: Params = [None] * (2 * self.depth)  # type: ignore[list-item]
        delta = np.asarray(delta, dtype=self.dtype)
        for d in range(self.depth - 1, -1, -1):
            if delta_norms is not None:
                delta_norms[d] = frobenius_norm(delta)
            grads[2 * d] = delta.T @ cache.inputs[d]
            grads[2 * d + 1] = delta.sum(axis=0)
            if d > 0:
                a, x = cache.preacts[d - 1], cache.inputs[d]
                delta = (delta @ params[2 * d]) * self._fprime(a, x)
        return grads


def frobenius_norm(a: np.ndarray) -> float:
    """‖a‖ over all entries, the value of ``np.linalg.norm(a)`` to the last bit.

    The same sum (``ravel().dot``) and root as NumPy's, without its dispatch, which costs
    more than the sum itself at a narrow layer's size; called for every layer at every
    step by the training loop.
    """
    flat = a.ravel(order="K")
    sq = flat.dot(flat)
    # math.sqrt is NumPy's root for a double; a float32 sum needs NumPy's float32 root
    return math.sqrt(sq) if a.dtype == np.float64 else float(np.sqrt(sq))


def training_memory(sizes: Sequence[int], batch_size: int, n_rows: int, state_arrays: int,
                    itemsize: int = 8) -> int:
    """Bytes that training a network of layer sizes ``sizes`` holds at its peak (estimate).

    With P = Σ_d (N_{d-1} N_d + N_d) parameters: the parameters, gradients, updates and
    the new parameters of a step (4P), ``state_arrays`` P of optimizer state (1 for
    momentum, 2 for Adam, one more for clipping); the forward cache of a minibatch
    (inputs and pre-activations of every layer, 2 B Σ N_d) and of an evaluation chunk of
    up to 4096 rows; the data set in float64 and in the compute dtype. Used to refuse a
    run up front (docs/design.md §Input validation and resources).
    """
    sizes = [int(n) for n in sizes]
    params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    return _training_bytes(params, sum(sizes), sizes[0], batch_size, n_rows, state_arrays,
                           itemsize)


def stack_training_memory(n_in: int, width: int, depth: int, n_out: int, batch_size: int,
                          n_rows: int, state_arrays: int, itemsize: int = 8) -> int:
    """:func:`training_memory` of sizes ``[n_in] + [width] * (depth - 1) + [n_out]``,
    in O(1) time and memory (a depth of 10**7 is refused without building its list)."""
    if depth == 1:
        return training_memory([n_in, n_out], batch_size, n_rows, state_arrays, itemsize)
    params = (n_in * width + width + (depth - 2) * (width * width + width)
              + width * n_out + n_out)
    units = n_in + (depth - 1) * width + n_out
    return _training_bytes(params, units, n_in, batch_size, n_rows, state_arrays, itemsize)


def _training_bytes(params: int, units: int, n_in: int, batch_size: int, n_rows: int,
                    state_arrays: int, itemsize: int) -> int:
    numbers = (4 + state_arrays) * params + 2 * (batch_size + min(4096, n_rows)) * units
    return int(numbers * itemsize + n_rows * n_in * (8 + itemsize))
