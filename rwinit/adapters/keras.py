"""Keras adapter: a model's own gains for its ``Dense`` (and convolution) layers, and a
``VarianceScaling`` initializer with std g/√fan_in.

Keras kernels are (fan_in, fan_out) — (*window, in, out) for a convolution, treated as a
dense layer of fan-in in·∏window (an approximation the report states). Weights are
N(0, g_d²/fan_in): ``keras.initializers.VarianceScaling(scale=g**2, mode="fan_in",
distribution="untruncated_normal")`` (docs/design.md §Using a gain; Keras' plain
``"normal"`` would be *truncated*).

* :func:`init_model` — a built ``Sequential`` or functional model: reads each layer's
  activation (its ``activation`` argument, or a following ``Activation``, ``ReLU``,
  ``LeakyReLU``, ``ELU`` layer; normalisation and dropout layers looked through), solves
  for the network's gains (:func:`rwinit.network_gains`, cached on disk) and assigns them.
* :func:`keras_config` / :func:`keras_initializer` — one nonlinearity at one width.

Keras 3 needs a backend (JAX, PyTorch or TensorFlow). ``pip install rwinit[keras]``
brings JAX; when the configured backend (``KERAS_BACKEND``, else ``~/.keras/keras.json``,
else TensorFlow) is not installed but another one is, and Keras is not yet imported,
:func:`keras_module` sets ``KERAS_BACKEND`` to the installed one (JAX, then PyTorch).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RwinitError
from ..lookup import resolve_gain
from ..nonlinearities import get_nonlinearity
from ..validation import check_width
from ._plan import (
    POOLING_NOTE,
    GainSpec,
    InitReport,
    LayerSpec,
    check_activations,
    plan,
)

#: Backends Keras 3 runs on, in the order rwinit picks one that is installed.
KERAS_BACKENDS: tuple[str, ...] = ("jax", "torch", "tensorflow")

#: Keras activation names (``keras.activations.*.__name__``) and their rwinit names.
_ACTIVATION_LABELS = {"linear": "linear", "relu": "relu", "tanh": "tanh",
                      "sigmoid": "sigmoid", "elu": "elu", "selu": "selu", "gelu": "gelu",
                      "silu": "silu", "swish": "silu", "softplus": "softplus",
                      "leaky_relu": "leaky_relu", "softmax": "linear",
                      "log_softmax": "linear", "relu6": "relu6", "hard_tanh": "hardtanh",
                      "hard_sigmoid": "hardsigmoid", "hard_silu": "hardswish",
                      "hard_swish": "hardswish", "mish": "mish"}


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def configured_backend() -> str:
    """The backend Keras would load: ``KERAS_BACKEND``, else keras.json's, else tensorflow."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return str(json.loads((home / "keras.json").read_text()).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def keras_module() -> Any:
    """Import Keras with a backend that is installed, or say exactly what to install.

    Raises
    ------
    RwinitError
        Keras is missing (``pip install rwinit[keras]``), or it is installed but no
        backend it can use is (the message names the backend it wanted and how to get
        one).
    """
    if "keras" not in sys.modules and not os.environ.get("KERAS_BACKEND"):
        wanted = configured_backend()
        if not _installed(wanted):
            for backend in KERAS_BACKENDS:
                if _installed(backend):
                    os.environ["KERAS_BACKEND"] = backend
                    break
    try:
        return importlib.import_module("keras")
    except ImportError as exc:
        if not _installed("keras"):
            raise RwinitError("keras is not installed; pip install rwinit[keras] (Keras 3 "
                              "with JAX as its backend)") from None
        raise RwinitError(
            f"keras is installed but its backend {configured_backend()!r} cannot be imported "
            f"({exc}); pip install jax (what rwinit[keras] brings) and set KERAS_BACKEND=jax, "
            f"or install the backend you want (jax, torch or tensorflow)") from None


def keras_config(nonlinearity: str, width: int, *, gain: float | None = None,
                 depth: int | None = None, model: str = "network",
                 seed: int | None = None) -> dict[str, Any]:
    """The serialized ``VarianceScaling`` initializer for g* of ``nonlinearity`` at ``width``."""
    g = resolve_gain(nonlinearity, check_width(width), gain, depth=depth, model=model)
    return {
        "module": "keras.initializers",
        "class_name": "VarianceScaling",
        "config": {"scale": g * g, "mode": "fan_in", "distribution": "untruncated_normal",
                   "seed": seed},
        "registered_name": None,
    }


def keras_initializer(nonlinearity: str, width: int, **options: Any) -> Any:
    """``keras.initializers.VarianceScaling`` built from :func:`keras_config`."""
    keras = keras_module()
    return keras.initializers.VarianceScaling(**keras_config(nonlinearity, width,
                                                             **options)["config"])


def activation_label(fn: Any) -> str | None:
    """The rwinit label of a Keras activation function (``keras.activations.elu``, a
    ``functools.partial`` of one), or None if it is not one we know. Keras' own defaults
    apply: ``leaky_relu`` has slope 0.2, ``gelu`` is the exact (erf) form."""
    kwargs: dict[str, Any] = {}
    if isinstance(fn, functools.partial):
        kwargs, fn = dict(fn.keywords), fn.func
    label = _ACTIVATION_LABELS.get(getattr(fn, "__name__", ""))
    if label == "leaky_relu":
        return get_nonlinearity("leaky_relu", float(kwargs.get("negative_slope", 0.2))).label
    if label == "elu":
        return get_nonlinearity("elu", float(kwargs.get("alpha", 1.0))).label
    if label == "gelu" and kwargs.get("approximate"):
        return "gelu"  # the tanh form differs from the erf form by < 1e-3
    return label


def _layer_activation(layer: Any, keras: Any) -> str | None:
    """The label of an activation *layer* (Activation, ReLU, LeakyReLU, ELU, Softmax)."""
    L = keras.layers
    if isinstance(layer, L.Activation):
        return activation_label(layer.activation)
    if isinstance(layer, L.LeakyReLU):
        return get_nonlinearity("leaky_relu", float(layer.negative_slope)).label
    if hasattr(L, "ELU") and isinstance(layer, L.ELU):
        return get_nonlinearity("elu", float(layer.alpha)).label
    if isinstance(layer, L.ReLU):
        cfg = layer.get_config()
        slope = float(cfg.get("negative_slope") or 0.0)
        if cfg.get("max_value") is None and not cfg.get("threshold"):
            return "relu" if slope == 0 else get_nonlinearity("leaky_relu", slope).label
        if cfg.get("max_value") == 6 and not cfg.get("threshold") and slope == 0:
            return "relu6"
        return None
    if isinstance(layer, L.PReLU) and layer.weights:
        # the slope as initialised (it is learnt later)
        slopes = np.asarray(keras.ops.convert_to_numpy(layer.weights[0]), dtype=float).ravel()
        if slopes.size and np.all(slopes == slopes[0]):
            slope = float(slopes[0])
            return "relu" if slope == 0 else get_nonlinearity("leaky_relu", slope).label
        return None
    if isinstance(layer, L.Softmax):
        return "linear"
    return None


def _norm_kind(layer: Any, keras: Any) -> str:
    """``"batch"`` (per unit over the batch), ``"rms"`` or ``"layer"`` (per sample)."""
    if isinstance(layer, keras.layers.BatchNormalization):
        return "batch"
    rms = getattr(keras.layers, "RMSNormalization", None)
    if (rms is not None and isinstance(layer, rms)) or getattr(layer, "rms_scaling", False):
        return "rms"
    return "layer"


def _flat_layers(model: Any, keras: Any) -> list[Any]:
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):  # a nested Sequential or functional model
            out += _flat_layers(layer, keras)
        elif not isinstance(layer, keras.layers.InputLayer):
            out.append(layer)
    return out


#: Keras pooling layers that the reader looks through between a layer and its activation,
#: as it does reshapes (with the note :data:`rwinit.adapters._plan.POOLING_NOTE`).
_POOLING = ("AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
            "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
            "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "GlobalMaxPooling1D",
            "GlobalMaxPooling2D", "GlobalMaxPooling3D")


def _depthwise(keras: Any) -> tuple:
    L = keras.layers
    return tuple(getattr(L, n) for n in ("DepthwiseConv1D", "DepthwiseConv2D") if hasattr(L, n))


def _types(keras: Any) -> tuple[tuple, tuple, tuple, tuple]:
    L = keras.layers
    weights = (L.Dense, L.Conv1D, L.Conv2D, L.Conv3D, *_depthwise(keras))
    norms = tuple(getattr(L, n) for n in ("BatchNormalization", "LayerNormalization",
                                          "GroupNormalization", "RMSNormalization")
                  if hasattr(L, n))
    dropout = tuple(getattr(L, n) for n in ("Dropout", "GaussianDropout", "AlphaDropout",
                                            "SpatialDropout1D", "SpatialDropout2D",
                                            "SpatialDropout3D", "GaussianNoise")
                    if hasattr(L, n))
    pooling = tuple(getattr(L, n) for n in _POOLING if hasattr(L, n))
    return weights, norms, dropout, pooling


def read_model(net: Any) -> tuple[list[Any], list[str | None], dict[str, Any], list[str]]:
    """The weight layers of a Keras model (forward order), the activation label after
    each (None where not known), the normalisation layer after each, and notes."""
    keras = keras_module()
    weights, norms, dropout, pooling = _types(keras)
    layers = _flat_layers(net, keras)
    found, labels, norm_of, notes = [], [], {}, []
    for i, layer in enumerate(layers):
        if not isinstance(layer, weights):
            continue
        found.append(layer)
        own = activation_label(layer.activation)
        if own != "linear":
            labels.append(own)
            continue
        label: str | None = "linear"
        for nxt in layers[i + 1:]:
            if isinstance(nxt, norms):
                norm_of[layer.name] = nxt
                continue
            if isinstance(nxt, dropout):
                notes.append(f"dropout after layer {layer.name} is taken as the identity "
                             "(inference); in training it scales |δ| by about 1/√(1−p) there")
                continue
            if isinstance(nxt, weights):
                break
            if isinstance(nxt, keras.layers.Flatten | keras.layers.Reshape):
                continue
            if isinstance(nxt, pooling):
                notes.append(f"{type(nxt).__name__} after layer {layer.name} (before its "
                             f"activation or the next layer) is looked through: "
                             f"{POOLING_NOTE}")
                continue
            label = _layer_activation(nxt, keras)
            break
        labels.append(label)
    return found, labels, norm_of, notes


def _kernel_shape(layer: Any) -> tuple[int, ...]:
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        raise RwinitError(f"layer {layer.name} has no weights yet: build the model first "
                          "(keras.Input in a Sequential, model.build(input_shape), or call "
                          "it on a batch)")
    return tuple(int(s) for s in kernel.shape)


def init_model(net: Any, nonlinearity: str | None = None, *,
               activations: Sequence[str] | None = None, gain: GainSpec = None,
               per_layer: bool = False, model: str = "network", seed: int = 0,
               ci_halfwidth: float | None = None, cache: bool = True,
               input_mean: float = 0.0, input_var: float = 1.0, sample: Any = None,
               zero_bias: bool = True) -> InitReport:
    """Initialize a built Keras model with its network's own gains (std g_d/√fan_in).

    Parameters
    ----------
    net : keras.Model
        A built ``Sequential`` or functional model (its ``layers`` taken as the forward
        order, nested models flattened) of ``Dense``, ``Conv1D/2D/3D`` and
        ``DepthwiseConv1D/2D`` layers.
    nonlinearity : str, optional
        For layers whose activation cannot be read; the last weight layer is linear.
    activations : sequence of str, optional
        One per weight layer in forward order; overrides what is read.
    gain, per_layer, model, seed, ci_halfwidth, cache, input_mean, input_var, sample
        As in :func:`rwinit.adapters.torch.init_module`; ``seed`` also draws the weights.
    zero_bias : bool
        Set biases (and a normalisation layer's shift) to 0.

    Returns
    -------
    InitReport
        The per-layer record (see :class:`rwinit.adapters.torch.init_module`).
    """
    keras = keras_module()
    layers, read, norm_of, notes = read_model(net)
    if not layers:
        raise RwinitError(f"{type(net).__name__} has no Dense or Conv layer to initialize")
    names = [layer.name for layer in layers]
    if activations is not None:
        labels = check_activations(activations, names)
    else:
        unknown = [n for n, lab in zip(names, read, strict=True) if lab is None]
        if unknown and nonlinearity is None:
            raise RwinitError(f"cannot read the activation after layer(s) {', '.join(unknown)}; "
                              f"pass activations=[...] with one nonlinearity per layer in "
                              f"forward order ({', '.join(names)}), or nonlinearity=")
        labels = [lab if lab is not None else
                  ("linear" if i == len(names) - 1 else get_nonlinearity(nonlinearity).label)
                  for i, lab in enumerate(read)]
    specs, depthwise_types = [], _depthwise(keras)
    for layer, label, got in zip(layers, labels, read, strict=True):
        shape = _kernel_shape(layer)
        # a depthwise kernel (∏window, channels, multiplier) sums ∏window inputs per output
        depthwise = isinstance(layer, depthwise_types)
        fan_in = int((1 if depthwise else shape[-2]) * math.prod(shape[:-2]))
        fan_out = int(shape[-1] * math.prod(shape[:-2]))
        kind = "dense" if len(shape) == 2 else "conv"
        norm = norm_of.get(layer.name)
        specs.append(LayerSpec(layer.name, fan_in, fan_out, label, got == label, kind,
                               type(norm).__name__ if norm is not None else None,
                               _norm_kind(norm, keras) if norm is not None else None))
        if kind == "conv":
            per = "∏window (one input channel per output)" if depthwise else \
                "in_channels·∏window"
            notes.append(f"layer {layer.name} ({type(layer).__name__}) is treated as a dense "
                         f"layer of fan-in {fan_in} = {per} (weight sharing across positions "
                         "is ignored)")
    if sample is not None:
        sample = np.asarray(sample, dtype=float).reshape(len(sample), -1)
    report = plan(specs, gain=gain, model=model, per_layer=per_layer, seed=seed,
                  ci_halfwidth=ci_halfwidth, cache=cache, input_mean=input_mean,
                  input_var=input_var, sample=sample, approximations=notes)
    rng = np.random.default_rng(seed)
    for layer, rec in zip(layers, report, strict=True):
        shape = _kernel_shape(layer)
        layer.kernel.assign(rng.normal(0.0, rec.std, size=shape).astype(layer.kernel.dtype))
        if zero_bias and getattr(layer, "bias", None) is not None:
            layer.bias.assign(np.zeros(tuple(layer.bias.shape), dtype=layer.bias.dtype))
        norm = norm_of.get(layer.name)
        if norm is not None and rec.norm_scale is not None:
            gamma = getattr(norm, "gamma", None)
            if gamma is not None:
                gamma.assign(np.full(tuple(gamma.shape), rec.norm_scale, dtype=gamma.dtype))
            beta = getattr(norm, "beta", None)
            if zero_bias and beta is not None:
                beta.assign(np.zeros(tuple(beta.shape), dtype=beta.dtype))
    return report


__all__ = ["KERAS_BACKENDS", "activation_label", "configured_backend", "init_model",
           "keras_config", "keras_initializer", "keras_module", "read_model"]
