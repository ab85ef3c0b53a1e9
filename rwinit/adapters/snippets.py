"""Paste-ready code that applies an unbiased gain in PyTorch, JAX or Keras (``rwinit export``).

Each snippet is self-contained (it needs only the framework, not rwinit) and states g*,
where it came from, and the law it draws from: N(0, g²/fan_in) (DESIGN.md section 4).
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import RwinitError
from ..tables import TableGain
from .jax import variance_scaling_args

#: Formats ``rwinit export`` writes.
EXPORT_FORMATS: tuple[str, ...] = ("torch", "jax", "keras", "json")


def _header(r: TableGain) -> str:
    variant = "stationary" if r.depth is None else f"depth D={r.depth}"
    se = f", SE {r.se:.2g}" if r.se > 0 else ""
    return (f"# rwinit: g* = {r.g:.6f} for {r.nonlinearity}, N={r.width} ({variant}, "
            f"{r.model} model, {r.weights} weights; {r.source}{se})\n"
            f"# weights ~ N(0, (g*/sqrt(fan_in))^2), biases 0 "
            f"(Sussillo & Abbott, arXiv:1412.6558)\n")


def _torch(r: TableGain) -> str:
    return _header(r) + f'''import math

import torch
from torch import nn

GAIN = {r.g!r}


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
'''


def _jax(r: TableGain) -> str:
    a = variance_scaling_args(r.g)
    return _header(r) + f'''import jax

GAIN = {r.g!r}
# kernels are (fan_in, fan_out); "normal" is JAX's untruncated normal
kernel_init = jax.nn.initializers.variance_scaling(GAIN**2, {a["mode"]!r}, {a["distribution"]!r})
# e.g. flax.linen.Dense({r.width}, kernel_init=kernel_init)
'''


def _keras(r: TableGain) -> str:
    return _header(r) + f'''import keras

GAIN = {r.g!r}
initializer = keras.initializers.VarianceScaling(
    scale=GAIN**2, mode="fan_in", distribution="untruncated_normal"
)
# e.g. keras.layers.Dense({r.width}, activation="{r.nonlinearity.partition(":")[0]}",
#                         kernel_initializer=initializer, bias_initializer="zeros")
'''


def _json(r: TableGain) -> str:
    doc: dict[str, Any] = r.to_dict()
    doc["std"] = r.g / math.sqrt(r.width)
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


__all__ = ["EXPORT_FORMATS", "snippet"]
