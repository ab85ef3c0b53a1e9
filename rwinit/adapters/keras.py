"""Keras adapter: a ``VarianceScaling`` initializer with std g*/sqrt(fan_in).

``keras.initializers.VarianceScaling(scale=g**2, mode="fan_in",
distribution="untruncated_normal")`` draws N(0, g²/fan_in) (DESIGN.md section 4; Keras'
plain ``"normal"`` would be *truncated*). :func:`keras_config` needs no Keras: it is
the serialized form ``keras.initializers.deserialize`` accepts; :func:`keras_initializer`
builds the object when Keras is installed.
"""

from __future__ import annotations

from typing import Any

from ..lookup import resolve_gain
from ..validation import check_width
from . import require


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
    keras = require("keras", "keras")
    return keras.initializers.VarianceScaling(**keras_config(nonlinearity, width,
                                                             **options)["config"])


__all__ = ["keras_config", "keras_initializer"]
