"""``rwinit walk``: per-layer statistics of the log-norm walk at a given gain."""

from __future__ import annotations

import argparse
import csv
import sys

from ..errors import RwinitError
from ..walk import SAMPLERS, simulate_walk
from ._common import add_walk_options, check_walk_options, emit_json, float_arg, int_arg

_COLUMNS = ("layer", "log_z_mean", "log_z_mean_se", "log_z_var", "log_z_var_se",
            "walk_mean", "walk_mean_se", "walk_var", "walk_var_se")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "walk",
        help="per-layer mean and variance of the log-norm walk",
        description="Sample the walk of ln|δ| at gain g and print per-layer statistics.",
    )
    add_walk_options(p, default_samples=1000)
    p.add_argument("--gain", "-g", required=True, type=float_arg("gain"), metavar="G",
                   help="the gain g; weights have std g/sqrt(N)")
    p.add_argument("--sampler", default="auto", metavar="|".join(SAMPLERS),
                   help="auto: rotational (O(N) per layer) for gaussian weights, explicit "
                   "matrices otherwise")
    p.add_argument("--format", choices=("table", "csv", "json"),
                   help="output format (default: table)")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("--every", type=int_arg("every"), metavar="K",
                   help="table format: print every K-th layer (default: about 40 rows)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.every is not None and args.every < 1:
        raise RwinitError(f"every must be a whole number >= 1, got {args.every}")
    if args.json and args.format not in (None, "json"):
        raise RwinitError(f"--json and --format {args.format} conflict: give one of them")
    if args.every is not None and (args.json or args.format not in (None, "table")):
        raise RwinitError("--every applies only to --format table")
    check_walk_options(args)
    result = simulate_walk(
        args.nonlinearity, args.width, args.depth, gain=args.gain, model=args.model,
        weights=args.weights, sampler=args.sampler, samples=args.samples, seed=args.seed,
        bias_std=args.bias_std, sparsity=args.sparsity, threads=args.threads,
        progress=not args.quiet,
    )
    if result.samples_used < 2:
        # no mean or variance exists: say so rather than print a table of NaN
        raise RwinitError(
            f"only {result.samples_used} of {result.samples} walks survived ({result.dead} "
            f"died, {result.overflowed} overflowed) at g={result.gain:g}: no statistics; "
            "use a larger width, a smaller depth or another gain"
        )
    fmt = "json" if args.json else (args.format or "table")
    if fmt == "json":
        emit_json(result.to_dict())
        return 0
    rows = result.per_layer_rows()
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return 0
    variant = "stationary" if result.depth is None else f"depth D={result.depth}"
    print(f"# walk of ln|δ|: {result.nonlinearity}, N={result.width}, g={result.gain:g}, "
          f"{variant}, {result.model} model, {result.weights} weights ({result.sampler})")
    print(f"# {result.samples} samples, {result.samples_used} used, {result.dead} dead, "
          f"{result.overflowed} overflowed, {result.seconds:.2f} s")
    print(f"# per-layer drift E[ln z] = {result.drift:+.5f} ± {result.drift_se:.5f} (SE)")
    if result.controls:
        print(f"# with control variates ({', '.join(result.controls)}): "
              f"{result.drift_cv:+.5f} ± {result.drift_cv_se:.5f} (SE), variance "
              f"{result.variance_reduction:.1f}x smaller")
    print(f"{'layer':>6} {'E ln z':>10} {'±SE':>8} {'Var ln z':>10} {'±SE':>8} "
          f"{'E walk':>10} {'±SE':>8} {'Var walk':>10} {'±SE':>8}")
    every = args.every or max(1, -(-len(rows) // 40))
    shown = rows[every - 1::every]
    if shown[-1] is not rows[-1]:
        shown.append(rows[-1])
    for r in shown:
        print(f"{r['layer']:>6d} {r['log_z_mean']:>10.5f} {r['log_z_mean_se']:>8.5f} "
              f"{r['log_z_var']:>10.5f} {r['log_z_var_se']:>8.5f} {r['walk_mean']:>10.5f} "
              f"{r['walk_mean_se']:>8.5f} {r['walk_var']:>10.5f} {r['walk_var_se']:>8.5f}")
    return 0
