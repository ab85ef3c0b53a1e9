"""JAX adapter: a network's own gains for parameter pytrees and Flax models, and a
``jax.nn.initializers``-compatible initializer with std g/√fan_in.

JAX kernels are (fan_in, fan_out) — ``in_axis=-2``, ``out_axis=-1``, the
``jax.nn.initializers`` convention; a convolution kernel (*window, in, out) has fan-in
in · ∏window (treated as a dense layer of that fan-in, an approximation the report
states). Weights are N(0, g_d²/fan_in), i.e.
``jax.nn.initializers.variance_scaling(g**2, "fan_in", "normal")`` (in JAX, ``"normal"``
is the untruncated normal; docs/design.md §Using a gain).

* :func:`init_params` — a list of layer pytrees (``[{"w": (n_in, n_out), "b": ...}, ...]``)
  or a Flax ``linen`` variables dict, with named activations: solves for the network's
  gains (:func:`rwinit.network_gains`, cached on disk) and returns new parameters and the
  per-layer report.
* :func:`init_nnx` — a ``flax.nnx`` model, in place; the activations of an
  ``nnx.Sequential`` are read from it.
* :func:`initializer` — one nonlinearity, g* per kernel at its own fan-in (or a fixed
  width or gain); a lazily looked-up g* is computed once per (fan-in, settings) and cached.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import RwinitError
from ..lookup import resolve_gain
from ..nonlinearities import get_nonlinearity
from ..validation import check_width
from . import require
from ._plan import GainSpec, InitReport, LayerSpec, check_activations, plan, readout_activations

#: Kernel and bias names accepted in a layer's pytree.
KERNEL_KEYS: tuple[str, ...] = ("w", "W", "kernel", "weight")
BIAS_KEYS: tuple[str, ...] = ("b", "bias")

#: ``jax.nn`` / ``jax.numpy`` function names and their rwinit names.
_FUNCTION_LABELS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "gelu": "gelu",
                    "silu": "silu", "swish": "silu", "selu": "selu", "elu": "elu",
                    "leaky_relu": "leaky_relu", "softplus": "softplus", "identity": "linear",
                    "softmax": "linear", "log_softmax": "linear", "relu6": "relu6",
                    "hard_tanh": "hardtanh", "hard_sigmoid": "hardsigmoid",
                    "hard_swish": "hardswish", "hard_silu": "hardswish", "mish": "mish"}


def variance_scaling_args(g: float) -> dict[str, Any]:
    """Arguments of ``jax.nn.initializers.variance_scaling`` for std g/√fan_in."""
    return {"scale": g * g, "mode": "fan_in", "distribution": "normal"}


def _fan_in(shape: Sequence[int], in_axis: int, out_axis: int) -> int:
    n = len(shape)
    receptive = math.prod(s for i, s in enumerate(shape) if i not in (in_axis % n, out_axis % n))
    return int(shape[in_axis] * receptive)


@functools.lru_cache(maxsize=1024)
def _cached_gain(label: str, fan_in: int, depth: int | None, model: str) -> float:
    return resolve_gain(label, fan_in, None, depth=depth, model=model)


def initializer(nonlinearity: str, width: int | None = None, *, gain: float | None = None,
                depth: int | None = None, model: str = "network", in_axis: int = -2,
                out_axis: int = -1) -> Callable:
    """An initializer ``init(key, shape, dtype=jnp.float_)`` drawing N(0, g²/fan_in).

    Parameters
    ----------
    nonlinearity : str
        The nonlinearity that follows the layer.
    width : int, optional
        N for the g* lookup; by default each kernel's fan_in, looked up once per
        (nonlinearity, fan_in, depth, model) in this process and cached.
    gain : float, optional
        Use this g instead of looking one up.
    depth, model
        As in :func:`rwinit.gain`.
    in_axis, out_axis : int
        As in ``jax.nn.initializers.variance_scaling``.

    Notes
    -----
    For a whole network, :func:`init_params` solves for that network's own gains.
    """
    jax = require("jax", "jax")
    label = get_nonlinearity(nonlinearity).label
    if gain is not None or width is not None:
        g = resolve_gain(label, check_width(width or 1), gain, depth=depth, model=model)
        return jax.nn.initializers.variance_scaling(**variance_scaling_args(g),
                                                    in_axis=in_axis, out_axis=out_axis)

    def init(key: Any, shape: Sequence[int], dtype: Any = None) -> Any:
        g = _cached_gain(label, _fan_in(shape, in_axis, out_axis), depth, model)
        inner = jax.nn.initializers.variance_scaling(**variance_scaling_args(g),
                                                     in_axis=in_axis, out_axis=out_axis)
        return inner(key, shape, dtype or jax.dtypes.canonicalize_dtype(jax.numpy.float_))

    return init


def activation_label(fn: Any) -> str | None:
    """The rwinit label of a JAX activation function (``jax.nn.relu``, ``jnp.tanh``,
    ``functools.partial(jax.nn.elu, alpha=0.5)``), or None if it is not one we know."""
    kwargs: dict[str, Any] = {}
    if isinstance(fn, functools.partial):
        kwargs, fn = dict(fn.keywords), fn.func
    label = _FUNCTION_LABELS.get(getattr(fn, "__name__", ""))
    if label == "leaky_relu":
        return get_nonlinearity("leaky_relu", float(kwargs.get("negative_slope", 0.01))).label
    if label == "elu":
        return get_nonlinearity("elu", float(kwargs.get("alpha", 1.0))).label
    return label


def _kernel_key(layer: Mapping[str, Any], where: str) -> str:
    for k in KERNEL_KEYS:
        if k in layer:
            return k
    raise RwinitError(f"{where} has no kernel; accepted keys: {', '.join(KERNEL_KEYS)} "
                      f"(got {', '.join(map(str, layer))})")


def _layers_of(params: Any) -> tuple[list[tuple[str, Mapping[str, Any]]], Callable]:
    """(name, layer dict) bottom to top, and a function rebuilding the container."""
    if isinstance(params, Mapping):
        root = params.get("params", params) if "params" in params else params
        names = [k for k, v in root.items() if isinstance(v, Mapping)
                 and any(key in v for key in KERNEL_KEYS)]
        if not names:
            raise RwinitError("found no layer with a kernel in the parameter dict (a Flax "
                              "linen variables dict {'params': {'Dense_0': {'kernel': ...}}} "
                              "or a list of {'w': ..., 'b': ...})")

        def rebuild(new: list[dict]) -> Any:
            out_root = dict(root)
            out_root.update(zip(names, new, strict=True))
            if root is params:
                return out_root
            out = dict(params)
            out["params"] = out_root
            return out

        return [(n, root[n]) for n in names], rebuild
    if isinstance(params, Sequence) and not isinstance(params, str):
        layers = []
        for i, layer in enumerate(params):
            if not isinstance(layer, Mapping):
                raise RwinitError(f"layer {i} must be a dict of arrays like "
                                  f"{{'w': ..., 'b': ...}}, got {type(layer).__name__}")
            layers.append((str(i), layer))
        return layers, lambda new: type(params)(new) if isinstance(params, list | tuple) else new
    raise RwinitError("params must be a list of layer dicts [{'w': (n_in, n_out), 'b': ...}] "
                      f"or a Flax linen variables dict, got {type(params).__name__}")


def _labels(names: list[str], activations: Sequence[Any] | None,
            nonlinearity: str | None) -> list[str]:
    if activations is not None:
        resolved = [a if isinstance(a, str) else activation_label(a) for a in activations]
        if any(r is None for r in resolved):
            bad = [repr(a) for a, r in zip(activations, resolved, strict=False) if r is None]
            raise RwinitError(f"unknown activation function(s) {', '.join(bad)}; pass names "
                              f"such as 'tanh' or 'elu:0.5'")
        return check_activations(resolved, names)
    if nonlinearity is not None:
        return readout_activations(len(names), nonlinearity)
    raise RwinitError(f"name the activation after each layer: activations=[...] in forward "
                      f"order ({', '.join(names)}), or nonlinearity='tanh' (say) for the "
                      f"hidden layers (the last, {names[-1]}, is then the linear read-out)")


def _spec(name: str, kernel_shape: Sequence[int], label: str, detected: bool) -> LayerSpec:
    if len(kernel_shape) < 2:
        raise RwinitError(f"layer {name}: a kernel needs at least 2 dimensions (fan_in, "
                          f"fan_out), got shape {tuple(kernel_shape)}")
    fan_in = _fan_in(kernel_shape, -2, -1)
    fan_out = int(kernel_shape[-1] * math.prod(kernel_shape[:-2]))
    return LayerSpec(name, fan_in, fan_out, label, detected,
                     "dense" if len(kernel_shape) == 2 else "conv")


def _conv_notes(specs: Sequence[LayerSpec]) -> list[str]:
    return [f"layer {s.name} (a convolution kernel) is treated as a dense layer of fan-in "
            f"{s.fan_in} = in_channels·∏window (weight sharing across positions is ignored)"
            for s in specs if s.kind == "conv"]


def _draw(jax: Any, key: Any, shape: Sequence[int], std: float, dtype: Any) -> Any:
    return std * jax.random.normal(key, tuple(shape), dtype)


def init_params(params: Any, activations: Sequence[Any] | None = None, *,
                nonlinearity: str | None = None, seed: int = 0, key: Any = None,
                gain: GainSpec = None, per_layer: bool = False, model: str = "network",
                ci_halfwidth: float | None = None, cache: bool = True,
                input_mean: float = 0.0, input_var: float = 1.0, sample: Any = None,
                zero_bias: bool = True) -> tuple[Any, InitReport]:
    """New parameters with the network's own gains: kernels N(0, g_d²/fan_in), biases 0.

    Parameters
    ----------
    params : list of dict, or dict
        ``[{"w": (n_in, n_out) array, "b": (n_out,) array}, ...]`` bottom to top (kernel
        keys: ``w``, ``W``, ``kernel``, ``weight``; bias keys: ``b``, ``bias``), or a Flax
        ``linen`` variables dict ``{"params": {"Dense_0": {"kernel", "bias"}, ...}}`` (its
        layers in the dict's order, which is the order ``init`` created them).
    activations : sequence, optional
        One per layer, forward order: names (``"tanh"``, ``"elu:0.5"``) or JAX functions
        (``jax.nn.relu``, ``functools.partial(jax.nn.leaky_relu, negative_slope=0.1)``).
    nonlinearity : str, optional
        Instead of ``activations``: every hidden layer's; the last layer is linear.
    seed, key
        ``key`` (a ``jax.random`` key) for the weights, else ``PRNGKey(seed)``; ``seed``
        also seeds :func:`rwinit.network_gains`.
    gain, per_layer, model, ci_halfwidth, cache, input_mean, input_var, sample
        As in :func:`rwinit.adapters.torch.init_module`.
    zero_bias : bool
        Set biases to 0.

    Returns
    -------
    (params, InitReport)
        The same container with new arrays, and the per-layer report.
    """
    jax = require("jax", "jax")
    layers, rebuild = _layers_of(params)
    names = [n for n, _ in layers]
    labels = _labels(names, activations, nonlinearity)
    specs = [_spec(n, np.shape(layer[_kernel_key(layer, f"layer {n}")]), lab, False)
             for (n, layer), lab in zip(layers, labels, strict=True)]
    report = plan(specs, gain=gain, model=model, per_layer=per_layer, seed=seed,
                  ci_halfwidth=ci_halfwidth, cache=cache, input_mean=input_mean,
                  input_var=input_var, sample=sample, approximations=_conv_notes(specs))
    keys = jax.random.split(jax.random.PRNGKey(seed) if key is None else key, len(layers))
    new = []
    for (name, layer), rec, k in zip(layers, report, keys, strict=True):
        out = dict(layer)
        kk = _kernel_key(layer, f"layer {name}")
        kernel = jax.numpy.asarray(layer[kk])
        out[kk] = _draw(jax, k, kernel.shape, rec.std, kernel.dtype)
        for bk in BIAS_KEYS:
            if zero_bias and bk in layer and layer[bk] is not None:
                out[bk] = jax.numpy.zeros_like(jax.numpy.asarray(layer[bk]))
        new.append(out)
    return rebuild(new), report


def init_nnx(module: Any, activations: Sequence[Any] | None = None, *,
             nonlinearity: str | None = None, seed: int = 0, key: Any = None,
             gain: GainSpec = None, per_layer: bool = False, model: str = "network",
             ci_halfwidth: float | None = None, cache: bool = True,
             input_mean: float = 0.0, input_var: float = 1.0, sample: Any = None,
             zero_bias: bool = True) -> InitReport:
    """Initialize a ``flax.nnx`` model in place with its network's own gains.

    The ``nnx.Linear`` and ``nnx.Conv`` layers are taken in graph order. In an
    ``nnx.Sequential`` the function after each layer (``jax.nn.relu``, ``nnx.tanh``, a
    ``functools.partial``) is its activation, and a layer followed by another layer or
    last is linear; otherwise pass ``activations`` or ``nonlinearity`` as in
    :func:`init_params`. Other arguments as there.
    """
    jax = require("jax", "jax")
    nnx = require("flax.nnx", "flax")
    weight_types = (nnx.Linear, nnx.Conv)
    found = [(".".join(map(str, path)) or "model", node)
             for path, node in nnx.iter_graph(module) if isinstance(node, weight_types)]
    if not found:
        raise RwinitError(f"{type(module).__name__} has no nnx.Linear or nnx.Conv layer")
    names = [n for n, _ in found]
    read = None
    if activations is None and nonlinearity is None and isinstance(module, nnx.Sequential):
        read = _sequential_activations(list(module.layers), weight_types, names)
    labels = _labels(names, read if read is not None else activations, nonlinearity)
    specs = [_spec(n, layer.kernel.shape, lab, read is not None)
             for (n, layer), lab in zip(found, labels, strict=True)]
    report = plan(specs, gain=gain, model=model, per_layer=per_layer, seed=seed,
                  ci_halfwidth=ci_halfwidth, cache=cache, input_mean=input_mean,
                  input_var=input_var, sample=sample, approximations=_conv_notes(specs))
    keys = jax.random.split(jax.random.PRNGKey(seed) if key is None else key, len(found))
    for (_, layer), rec, k in zip(found, report, keys, strict=True):
        layer.kernel[...] = _draw(jax, k, layer.kernel.shape, rec.std, layer.kernel[...].dtype)
        if zero_bias and getattr(layer, "bias", None) is not None:
            layer.bias[...] = jax.numpy.zeros_like(layer.bias[...])
    return report


def _sequential_activations(items: list[Any], weight_types: tuple,
                            names: list[str]) -> list[Any] | None:
    """The activation after each weight layer of a Sequential's items, or None if one is
    neither a known function nor followed by another layer or the end."""
    out: list[Any] = []
    for i, item in enumerate(items):
        if not isinstance(item, weight_types):
            continue
        nxt = items[i + 1] if i + 1 < len(items) else None
        if nxt is None or isinstance(nxt, weight_types):
            out.append("linear")
        elif activation_label(nxt) is not None:
            out.append(activation_label(nxt))
        else:
            return None
    return out if len(out) == len(names) else None


__all__ = ["BIAS_KEYS", "KERNEL_KEYS", "activation_label", "init_nnx", "init_params",
           "initializer", "variance_scaling_args"]
