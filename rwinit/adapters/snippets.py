"""Paste-ready code that applies an unbiased gain in PyTorch, JAX or Keras (``rwinit export``).

Each snippet is self-contained (it needs only the framework, not rwinit), states g*, where
it came from and the law it draws from — N(0, g²/fan_in) (docs/design.md §Using a gain) —
and defines ``ACTIVATION``, the nonlinearity g* is for *with its parameter*
(``elu:0.5`` → ``nn.ELU(alpha=0.5)``, ``functools.partial(jax.nn.elu, alpha=0.5)``,
``functools.partial(keras.activations.elu, alpha=0.5)``; GELU is the exact erf form in all
three). Run as a script, it initializes one layer of width N and prints the weights'
standard deviation beside its target g*/√N.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import RwinitError
from ..nonlinearities import BUILTIN_NONLINEARITIES, get_nonlinearity
from ..tables import TableGain
from .jax import variance_scaling_args

#: Formats ``rwinit export`` writes.
EXPORT_FORMATS: tuple[str, ...] = ("torch", "jax", "keras", "json")

#: Each built-in nonlinearity in each framework; ``{p}`` is its parameter.
ACTIVATION_CODE: dict[str, dict[str, str]] = {
    "torch": {
        "linear": "nn.Identity()", "relu": "nn.ReLU()",
        "leaky_relu": "nn.LeakyReLU(negative_slope={p!r})", "tanh": "nn.Tanh()",
        "sigmoid": "nn.Sigmoid()", "elu": "nn.ELU(alpha={p!r})", "selu": "nn.SELU()",
        "gelu": "nn.GELU()", "silu": "nn.SiLU()", "softplus": "nn.Softplus()",
        "relu6": "nn.ReLU6()", "hardtanh": "nn.Hardtanh()", "hardsigmoid": "nn.Hardsigmoid()",
        "hardswish": "nn.Hardswish()", "mish": "nn.Mish()",
    },
    "jax": {
        "linear": "lambda x: x", "relu": "jax.nn.relu",
        "leaky_relu": "functools.partial(jax.nn.leaky_relu, negative_slope={p!r})",
        "tanh": "jax.numpy.tanh", "sigmoid": "jax.nn.sigmoid",
        "elu": "functools.partial(jax.nn.elu, alpha={p!r})", "selu": "jax.nn.selu",
        "gelu": "functools.partial(jax.nn.gelu, approximate=False)", "silu": "jax.nn.silu",
        "softplus": "jax.nn.softplus", "relu6": "jax.nn.relu6", "hardtanh": "jax.nn.hard_tanh",
        "hardsigmoid": "jax.nn.hard_sigmoid", "hardswish": "jax.nn.hard_swish",
        "mish": "jax.nn.mish",
    },
    "keras": {
        "linear": '"linear"', "relu": '"relu"',
        "leaky_relu": "functools.partial(keras.activations.leaky_relu, negative_slope={p!r})",
        "tanh": '"tanh"', "sigmoid": '"sigmoid"',
        "elu": "functools.partial(keras.activations.elu, alpha={p!r})", "selu": '"selu"',
        "gelu": "functools.partial(keras.activations.gelu, approximate=False)",
        "silu": '"silu"', "softplus": '"softplus"', "relu6": '"relu6"',
        "hardtanh": '"hard_tanh"', "hardsigmoid": '"hard_sigmoid"', "hardswish": '"hard_silu"',
        "mish": '"mish"',
    },
}

#: What a snippet uses for a nonlinearity registered by the user (no framework code known).
_CUSTOM = {"torch": "nn.Identity()", "jax": "lambda x: x", "keras": '"linear"'}


def activation_code(framework: str, nonlinearity: str) -> str:
    """Code for ``nonlinearity`` (with its parameter) in ``framework``, plus a comment
    when rwinit does not know the framework's form of a user-registered one."""
    nl = get_nonlinearity(nonlinearity)
    if nl.name not in BUILTIN_NONLINEARITIES:
        return (f"{_CUSTOM[framework]}  # replace with your {nl.label!r}: rwinit cannot "
                "write it for you")
    return ACTIVATION_CODE[framework][nl.name].format(p=nl.param)


def _header(r: TableGain) -> str:
    variant = "stationary" if r.depth is None else f"depth D={r.depth}"
    se = f", SE {r.se:.2g}" if r.se > 0 else ""
    return (f"# rwinit: g* = {r.g:.6f} for {r.nonlinearity}, N={r.width} ({variant}, "
            f"{r.model} model, {r.weights} weights; {r.source}{se})\n"
            f"# weights ~ N(0, (g*/sqrt(fan_in))^2), biases 0 "
            f"(Sussillo & Abbott, arXiv:1412.6558)\n")


def _check(framework: str) -> str:
    return ('    print(f"weight std {std:.6f}, target {GAIN / math.sqrt(N):.6f}")\n'
            f'    print(f"{framework} activation applied, output shape {{tuple(out.shape)}}")\n')


def _torch(r: TableGain) -> str:
    return _header(r) + f'''import math

import torch
from torch import nn

GAIN = {r.g!r}
N = {r.width}  # the width g* is for
ACTIVATION = {activation_code("torch", r.nonlinearity)}


def rwinit_(layer: nn.Linear, gain: float = GAIN) -> nn.Linear:
    """Normal weights with std gain / sqrt(fan_in) (fan_in = weight.shape[1]), zero bias."""
    with torch.no_grad():
        layer.weight.normal_(0.0, gain / math.sqrt(layer.weight.shape[1]))
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


# for m in model.modules():
#     if isinstance(m, nn.Linear):
#         rwinit_(m)

if __name__ == "__main__":
    layer = rwinit_(nn.Linear(N, N))
    out = ACTIVATION(layer(torch.randn(4, N)))
    std = layer.weight.std().item()
''' + _check("torch")


def _jax(r: TableGain) -> str:
    a = variance_scaling_args(r.g)
    return _header(r) + f'''import functools  # noqa: F401 - used by some activations
import math

import jax

GAIN = {r.g!r}
N = {r.width}  # the width g* is for
ACTIVATION = {activation_code("jax", r.nonlinearity)}
# kernels are (fan_in, fan_out); "normal" is JAX's untruncated normal
kernel_init = jax.nn.initializers.variance_scaling(GAIN**2, {a["mode"]!r}, {a["distribution"]!r})
# e.g. flax.linen.Dense(N, kernel_init=kernel_init), then ACTIVATION

if __name__ == "__main__":
    w = kernel_init(jax.random.PRNGKey(0), (N, N))
    out = ACTIVATION(jax.random.normal(jax.random.PRNGKey(1), (4, N)) @ w)
    std = float(w.std())
''' + _check("jax")


def _keras(r: TableGain) -> str:
    return _header(r) + f'''import functools  # noqa: F401 - used by some activations
import math
import os

# Keras 3 needs a backend: pip install keras jax (or set KERAS_BACKEND to torch/tensorflow)
os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402

GAIN = {r.g!r}
N = {r.width}  # the width g* is for
ACTIVATION = {activation_code("keras", r.nonlinearity)}
initializer = keras.initializers.VarianceScaling(
    scale=GAIN**2, mode="fan_in", distribution="untruncated_normal"
)


def dense(units: int) -> keras.layers.Dense:
    """A Dense layer with the rwinit initializer, zero biases and the activation."""
    return keras.layers.Dense(units, activation=ACTIVATION, kernel_initializer=initializer,
                              bias_initializer="zeros")


if __name__ == "__main__":
    layer = dense(N)
    out = layer(keras.random.normal((4, N), seed=1))
    std = float(keras.ops.std(layer.kernel))
''' + _check("keras")


def _json(r: TableGain) -> str:
    doc: dict[str, Any] = r.to_dict()
    nl = get_nonlinearity(r.nonlinearity)
    doc["std"] = r.g / math.sqrt(r.width)
    doc["activation"] = {"name": nl.name, "param": nl.param, "label": nl.label,
                         **{fw: activation_code(fw, nl.label) for fw in ACTIVATION_CODE}}
    doc["jax"] = {"variance_scaling": variance_scaling_args(r.g)}
    doc["keras"] = {"class_name": "VarianceScaling",
                    "config": {"scale": r.g * r.g, "mode": "fan_in",
                               "distribution": "untruncated_normal", "seed": None}}
    doc["torch"] = {"init": "normal_", "mean": 0.0, "std": doc["std"],
                    "fan_in": "weight.shape[1]"}
    return json.dumps(doc, indent=1) + "\n"


def snippet(fmt: str, result: TableGain) -> str:
    """The code (or JSON) for ``fmt`` in :data:`EXPORT_FORMATS` applying ``result.g``."""
    makers = {"torch": _torch, "jax": _jax, "keras": _keras, "json": _json}
    if fmt not in makers:
        raise RwinitError(f"unknown export format {fmt!r}; accepted values: "
                          f"{', '.join(EXPORT_FORMATS)}")
    return makers[fmt](result)


__all__ = ["ACTIVATION_CODE", "EXPORT_FORMATS", "activation_code", "snippet"]
