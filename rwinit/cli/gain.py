"""``rwinit gain``: the unbiased gain g* for a nonlinearity and width."""

from __future__ import annotations

import argparse

from ..solver import METHODS, optimal_gain
from ._common import add_walk_options, check_walk_options, emit_json, float_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gain",
        help="solve for the unbiased gain g*",
        description="Solve for the gain g that makes the walk of ln|δ| driftless.",
    )
    add_walk_options(p, default_samples=None)
    p.add_argument("--method", default="auto", metavar="|".join(METHODS),
                   help="auto picks exact (linear; relu with --model paper), homogeneous "
                   "(relu, leaky_relu) or root; paper-formula: the paper's approximation")
    p.add_argument("--ci-halfwidth", type=float_arg("ci-halfwidth"), metavar="H",
                   help="target 95%% CI half-width when --samples is not given "
                   "(default: 0.005)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_walk_options(args)
    result = optimal_gain(
        args.nonlinearity, args.width, args.depth, model=args.model, weights=args.weights,
        bias_std=args.bias_std, sparsity=args.sparsity, samples=args.samples,
        ci_halfwidth=args.ci_halfwidth, seed=args.seed, method=args.method,
        threads=args.threads, progress=not args.quiet,
    )
    if args.json:
        emit_json(result.to_dict())
        return 0
    variant = "stationary" if result.depth is None else f"depth D={result.depth}"
    print(f"g* = {result.g:.6f}  ({result.nonlinearity}, N={result.width}, {variant}, "
          f"{result.model} model, {result.weights} weights)")
    if result.se > 0:
        print(f"     standard error {result.se:.2g}, {100 * result.confidence:.0f}% CI "
              f"[{result.ci_low:.6f}, {result.ci_high:.6f}]")
    plural = "" if result.evaluations == 1 else "s"
    print(f"     method {result.method}; {result.samples} samples, {result.evaluations} "
          f"evaluation{plural} of m(g), {result.layers} layer-samples, {result.seconds:.2f} s")
    if result.control_variates:
        print(f"     control variates: variance {result.variance_reduction:.1f}x smaller "
              f"(the CI would have needed {result.samples_without_cv} samples without them)")
    if result.warning:
        print(f"     warning: {result.warning}")
    print(f"     weights: std = g*/sqrt(fan_in) = {result.g:.6f}/sqrt({result.width})")
    return 0
