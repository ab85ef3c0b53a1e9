"""Options and output helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import RwinitError
from ..validation import MODELS, check_samples, check_threads, parse_whole_number


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """``--help`` shows every option's default: "(default: X)" after its help text.

    Unlike :class:`argparse.ArgumentDefaultsHelpFormatter` it leaves out defaults that
    say nothing (``None``, ``False`` of a flag), keeps help that already names its
    default, and also covers options registered without a help text.
    """

    @staticmethod
    def _says_something(action: argparse.Action) -> bool:
        return (bool(action.option_strings) and action.default is not None
                and action.default is not False and action.default is not argparse.SUPPRESS
                and not isinstance(action, argparse._VersionAction | argparse._HelpAction))

    def _format_action(self, action: argparse.Action) -> str:
        if action.help is None and self._says_something(action):
            action = copy.copy(action)
            action.help = "default: %(default)s"
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if self._says_something(action) and "default" not in text.lower():
            text += " (default: %(default)s)"
        return text


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def unknown_option_message(parser: argparse.ArgumentParser, args: Sequence[str]) -> str | None:
    """The error for the first option in ``args`` that ``parser`` does not know, or None.

    A long option may be abbreviated as argparse allows (a unique prefix); anything else
    is named, with the closest valid option when one is close ("did you mean
    --nonlinearity?"). Checked before argparse parses, so that a misspelled option is
    reported as such and not as "the following arguments are required".
    """
    known = parser._option_string_actions  # noqa: SLF001 - argparse has no public view
    longs = sorted(o for o in known if o.startswith("--"))
    for token in args:
        if token == "--":
            return None
        if not token.startswith("-") or token == "-" or _is_number(token):
            continue  # a positional, stdin, or a negative value such as -1, -1e3, -inf
        if token.startswith("--"):
            name = token.split("=", 1)[0]
            if name in known or len([o for o in longs if o.startswith(name)]) >= 1:
                continue  # exact, or a prefix argparse resolves (or calls ambiguous)
            close = difflib.get_close_matches(name, longs, n=1, cutoff=0.6)
        else:
            if token[:2] in known:
                continue
            name = token[:2]
            close = []
        hint = f"; did you mean {close[0]}?" if close else f"; see {parser.prog} --help"
        return f"unrecognized option {name}{hint}"
    return None


def _real_number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None


def _whole_number(text: str, name: str) -> int:
    try:
        return parse_whole_number(text, name)
    except RwinitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def int_arg(name: str):
    """argparse type: a whole number, ``1e3`` included (range checks happen in the
    library, one message each)."""
    return lambda text: _whole_number(text, name)


def float_arg(name: str):
    """argparse type: a float."""
    return lambda text: _real_number(text, name)


def add_walk_options(parser: argparse.ArgumentParser, default_samples: int | None) -> None:
    """The options ``gain`` and ``walk`` share: what network, which model, how many samples."""
    from ..weights import WEIGHT_DISTRIBUTIONS  # imports Numba: only for these commands

    parser.add_argument("--nonlinearity", "-f", required=True, metavar="NAME",
                        help="registered nonlinearity, e.g. tanh, relu, leaky_relu:0.2")
    parser.add_argument("--width", "-N", required=True, type=int_arg("width"), metavar="N",
                        help="width of every layer")
    variant = parser.add_mutually_exclusive_group()
    variant.add_argument("--depth", "-D", type=int_arg("depth"), metavar="D",
                         help="depth-D variant: the whole walk of a depth-D network")
    variant.add_argument("--stationary", action="store_true",
                         help="stationary variant: per-layer drift at steady state (default)")
    parser.add_argument("--model", default="network", metavar="|".join(MODELS),
                        help="propagation model: network = true backprop, paper = fresh "
                        "backward matrix")
    parser.add_argument("--weights", default="gaussian", metavar="DIST",
                        help=f"weight distribution: {', '.join(WEIGHT_DISTRIBUTIONS)}")
    parser.add_argument("--sparsity", type=int_arg("sparsity"), metavar="K",
                        help="non-zero weights per unit (only with --weights sparse)")
    parser.add_argument("--bias-std", type=float_arg("bias-std"), default=0.0, metavar="S",
                        help="standard deviation of the biases")
    samples_help = ("Monte Carlo samples" if default_samples is not None else
                    "Monte Carlo samples per evaluation (default: from a pilot run, to "
                    "reach --ci-halfwidth)")
    parser.add_argument("--samples", "-M", type=int_arg("samples"), default=default_samples,
                        metavar="M", help=samples_help)
    parser.add_argument("--seed", type=int_arg("seed"), default=0, metavar="S",
                        help="random seed; the result depends on it alone")
    parser.add_argument("--threads", type=int_arg("threads"), metavar="T",
                        help="worker threads (default: all cores)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def check_walk_options(args: argparse.Namespace) -> None:
    """Checks of the shared walk options the library would not make before work starts."""
    check_threads(args.threads)
    if args.samples is not None:
        check_samples(args.samples)


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
