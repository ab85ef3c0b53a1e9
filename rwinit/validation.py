"""Checks of user input shared by the public API and the CLI.

Each check raises :class:`rwinit.errors.RwinitError` with one sentence that names the
problem and the accepted values, and returns the cleaned value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real

from .errors import RwinitError

MODELS: tuple[str, ...] = ("paper", "network")


def check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is a whole number >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        if isinstance(value, Real) and float(value).is_integer():
            value = int(value)
        else:
            raise RwinitError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    if value < minimum:
        raise RwinitError(f"{name} must be a whole number >= {minimum}, got {value}")
    return int(value)


def check_width(width: object) -> int:
    """Width N of every layer: a whole number >= 1."""
    return check_positive_int(width, "width")


def check_depth(depth: object) -> int:
    """Depth D of the network: a whole number >= 1."""
    return check_positive_int(depth, "depth")


def check_samples(samples: object) -> int:
    """Number of Monte Carlo samples: a whole number >= 2 (a standard error needs two)."""
    return check_positive_int(samples, "samples", minimum=2)


def check_gain(gain: object, name: str = "gain") -> float:
    """A gain g: a finite real number > 0."""
    try:
        g = float(gain)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RwinitError(f"{name} must be a finite number > 0, got {gain!r}") from None
    if not math.isfinite(g) or g <= 0.0:
        raise RwinitError(f"{name} must be a finite number > 0, got {gain!r}")
    return g


def check_nonnegative(value: object, name: str) -> float:
    """A finite real number >= 0 (e.g. a bias standard deviation)."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RwinitError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if not math.isfinite(x) or x < 0.0:
        raise RwinitError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def check_choice(value: object, name: str, choices: Iterable[str]) -> str:
    """One of a fixed set of names."""
    options = tuple(choices)
    if value not in options:
        raise RwinitError(f"unknown {name} {value!r}; accepted values: {', '.join(options)}")
    return str(value)


def check_model(model: object) -> str:
    """Propagation model: ``paper`` (fresh backward matrix) or ``network`` (true backprop)."""
    return check_choice(model, "model", MODELS)
