"""``rwinit table``: compute g* over a grid and write it as a CSV, JSON or NPZ table."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys

from ..nonlinearities import available_nonlinearities
from ..tables.grid import make_grid
from ..tables.io import FORMATS, check_writable
from ..tables.run import DASK_WORKER_WAIT, build_table
from ..validation import MODELS
from ._common import float_arg, int_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "table",
        help="compute a table of g* over nonlinearities, widths, depths and models",
        description="Compute the unbiased gain g* at every point of a grid and write it, "
                    "row by row and atomically, to --out (.csv, .json or .npz, by "
                    "extension). Rows run on a local process pool, or on a Dask "
                    "cluster with --scheduler; results do not depend on which.",
    )
    p.add_argument("--nonlinearities", "-f", default="relu,tanh", metavar="LIST",
                   help=f"comma list or 'all' ({', '.join(available_nonlinearities())})")
    p.add_argument("--widths", "-N", required=True, metavar="SPEC",
                   help="comma list of widths and/or ranges A:B:logK / A:B:linK, "
                        "e.g. 2,3,8:1024:log20")
    p.add_argument("--depths", "-D", default="stationary", metavar="LIST",
                   help="comma list of depths and/or 'stationary' (default)")
    p.add_argument("--model", default="network", metavar="LIST",
                   help=f"comma list of {', '.join(MODELS)}, or 'both' (default network)")
    p.add_argument("--weights", default="gaussian", metavar="LIST",
                   help="comma list of weight distributions (default gaussian)")
    p.add_argument("--bias-std", type=float_arg("bias-std"), default=0.0, metavar="S")
    p.add_argument("--samples", "-M", type=int_arg("samples"), metavar="M",
                   help="Monte Carlo samples per evaluation (default: adaptive)")
    p.add_argument("--ci-halfwidth", type=float_arg("ci-halfwidth"), metavar="H",
                   help="target 95%% CI half-width when --samples is not given (0.005)")
    p.add_argument("--seed", type=int_arg("seed"), default=0, metavar="S",
                   help="base seed; each row's seed is derived from it and the row")
    p.add_argument("--out", "-o", required=True, metavar="FILE",
                   help=f"output table ({', '.join('.' + f for f in FORMATS)})")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the table in --out, computing only missing rows")
    again.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int_arg("workers"), metavar="W",
                       help="local worker processes (default: CPUs; 0: this process)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run rows on the Dask distributed cluster at ADDRESS")
    p.add_argument("--worker-wait", type=float_arg("worker-wait"),
                   default=DASK_WORKER_WAIT, metavar="SECONDS",
                   help="with --scheduler: how long to wait for the cluster to have a "
                        f"worker (default {DASK_WORKER_WAIT:g})")
    p.add_argument("--threads", type=int_arg("threads"), metavar="T",
                   help="Numba threads per row (default: Numba's)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate everything (arguments, --out, --scheduler) before any file is created,
    then build the table under its lock (:func:`rwinit.tables.run.build_table`)."""
    check_writable(args.out)  # before any computing: one line, exit 2
    names = "all" if args.nonlinearities == "all" else args.nonlinearities
    nonlinearities = available_nonlinearities() if names == "all" else names
    grid = make_grid(nonlinearities, args.widths, args.depths, args.model, args.weights,
                     args.bias_std)
    command = _command_line(args)
    if args.scheduler is not None:
        _quiet_distributed()
    table = build_table(
        grid, args.out, seed=args.seed, samples=args.samples, ci_halfwidth=args.ci_halfwidth,
        workers=args.workers, scheduler=args.scheduler, threads=args.threads,
        resume=args.resume, overwrite=args.overwrite, progress=not args.quiet,
        command=command, worker_wait=args.worker_wait,
    )
    failed = sum(r["status"] != "ok" for r in table.rows)
    note = f" ({failed} without a gain: see their message column)" if failed else ""
    print(f"wrote {len(table)} rows to {args.out}{note}", file=sys.stderr)
    return 0


def _quiet_distributed() -> None:
    """Silence Dask distributed's own log lines (reconnect attempts, a lost scheduler):
    the run reports every failure in one line of its own (:mod:`rwinit.tables.run`)."""
    try:
        import distributed  # noqa: F401 - importing it configures its loggers
    except ImportError:
        return
    for name in list(logging.root.manager.loggerDict):
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _command_line(args: argparse.Namespace) -> str:
    """The command, rebuilt from the parsed options (the same however it was invoked)."""
    words = ["rwinit", "table"]
    for option in ("nonlinearities", "widths", "depths", "model", "weights", "bias_std",
                   "samples", "ci_halfwidth", "seed", "out", "workers", "scheduler",
                   "threads"):
        value = getattr(args, option)
        if value is not None:
            words += ["--" + option.replace("_", "-"), str(value)]
    words += [f"--{flag}" for flag in ("resume", "overwrite", "quiet") if getattr(args, flag)]
    return shlex.join(words)
