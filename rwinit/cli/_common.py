"""Options and output helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from ..errors import RwinitError
from ..validation import MODELS


def _number(text: str, kind: type, name: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None


def int_arg(name: str):
    """argparse type: an integer (range checks happen in the library, one message each)."""
    return lambda text: _number(text, int, name)


def float_arg(name: str):
    """argparse type: a float."""
    return lambda text: _number(text, float, name)


def add_walk_options(parser: argparse.ArgumentParser, default_samples: int | None) -> None:
    """The options ``gain`` and ``walk`` share: what network, which model, how many samples."""
    from ..weights import WEIGHT_DISTRIBUTIONS  # imports Numba: only for these commands

    parser.add_argument("--nonlinearity", "-f", required=True, metavar="NAME",
                        help="registered nonlinearity, e.g. tanh, relu, leaky_relu:0.2")
    parser.add_argument("--width", "-N", required=True, type=int_arg("width"), metavar="N")
    variant = parser.add_mutually_exclusive_group()
    variant.add_argument("--depth", "-D", type=int_arg("depth"), metavar="D",
                         help="depth-D variant: the whole walk of a depth-D network")
    variant.add_argument("--stationary", action="store_true",
                         help="stationary variant: per-layer drift at steady state (default)")
    parser.add_argument("--model", default="network", metavar="|".join(MODELS),
                        help="propagation model (default: network = true backprop)")
    parser.add_argument("--weights", default="gaussian", metavar="DIST",
                        help=f"weight distribution: {', '.join(WEIGHT_DISTRIBUTIONS)}")
    parser.add_argument("--sparsity", type=int_arg("sparsity"), metavar="K",
                        help="non-zero weights per unit (sparse weights)")
    parser.add_argument("--bias-std", type=float_arg("bias-std"), default=0.0, metavar="S")
    parser.add_argument("--samples", "-M", type=int_arg("samples"), default=default_samples,
                        metavar="M")
    parser.add_argument("--seed", type=int_arg("seed"), default=0, metavar="S")
    parser.add_argument("--threads", type=int_arg("threads"), metavar="T")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def emit_json(obj: Any) -> None:
    """Exactly one JSON object on stdout (NaN and inf written as null)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v

    json.dump(clean(obj), sys.stdout, allow_nan=False)
    sys.stdout.write("\n")


def require(condition: bool, message: str) -> None:
    """Raise :class:`RwinitError` with ``message`` unless ``condition``."""
    if not condition:
        raise RwinitError(message)
