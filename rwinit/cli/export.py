"""``rwinit export``: print a snippet that applies g* in PyTorch, JAX, Keras, or as JSON."""

from __future__ import annotations

import argparse
import sys
import warnings

from ..adapters.snippets import EXPORT_FORMATS, snippet
from ..errors import RwinitError
from ..lookup import TableFallbackWarning, gain
from ..nonlinearities import get_nonlinearity
from ..tables import TableGain
from ..validation import check_depth, check_gain, check_model, check_width
from ._common import float_arg, int_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="print code that initializes with g* in torch, jax or keras (or JSON)",
        description="Print a paste-ready snippet applying the unbiased gain: weights "
                    "N(0, (g*/sqrt(fan_in))^2), zero biases. g* comes from the shipped "
                    "table (or --table), computed if the table lacks it, or --gain.",
    )
    p.add_argument("--format", required=True, metavar="|".join(EXPORT_FORMATS),
                   help="the framework of the snippet, or json")
    p.add_argument("--nonlinearity", "-f", required=True, metavar="NAME",
                   help="registered nonlinearity, e.g. tanh, relu")
    p.add_argument("--width", "-N", required=True, type=int_arg("width"), metavar="N",
                   help="width (fan-in) of the layers")
    p.add_argument("--depth", "-D", type=int_arg("depth"), metavar="D",
                   help="depth-D variant (default: stationary)")
    p.add_argument("--model", default="network", metavar="paper|network",
                   help="propagation model")
    p.add_argument("--table", metavar="FILE",
                   help="gain table to read (default: the shipped table)")
    p.add_argument("--gain", "-g", type=float_arg("gain"), metavar="G",
                   help="use this gain instead of looking one up (not with --table)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.format not in EXPORT_FORMATS:
        snippet(args.format, None)  # raises the one-line error
    N = check_width(args.width)
    model = check_model(args.model)
    if args.depth is not None:
        check_depth(args.depth)
    if args.gain is not None and args.table is not None:
        raise RwinitError("--gain and --table conflict: --gain uses the gain given, --table "
                          "looks one up; give one of them")
    if args.gain is not None:
        g = check_gain(args.gain)
        result = TableGain(nonlinearity=get_nonlinearity(args.nonlinearity).label, width=N,
                           depth=args.depth, model=model, weights="gaussian", bias_std=0.0,
                           g=g, se=0.0, ci_low=g, ci_high=g, confidence=1.0,
                           source="given")
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TableFallbackWarning)
            result = gain(args.nonlinearity, N, args.depth, model=model, table=args.table)
        for w in caught:
            print(f"rwinit export: note: {w.message}", file=sys.stderr)
    sys.stdout.write(snippet(args.format, result))
    return 0
