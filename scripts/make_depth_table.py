"""Generate the depth-aware gain table that ships with rwinit (rwinit/data/depth_gains.csv).

The depth-D unbiased gain g*(N, D) (docs/design.md, § The solver; Sussillo & Abbott,
arXiv:1412.6558, §3) of the ten nonlinearities of ``TABLE_NONLINEARITIES``, network model (true
back-propagation), Gaussian weights, no bias, on a grid of widths × finite depths up to
1000. The stationary column (D → ∞) is the shipped stationary table
(rwinit/data/default_gains.csv), which :class:`rwinit.tables.depth.DepthTable` joins in,
so it is not computed twice. The file records this command line and the solver settings.

Rows run through the table runner (:func:`rwinit.tables.run.build_table`): the file is
rewritten atomically after every row and a run resumes from it, so it can be stopped and
started again. Rows run by depth, shallow first, so that a run stopped early leaves
complete depth columns (a column missing any width is not used by lookups)::

    nice -n 10 python scripts/make_depth_table.py                 # two worker processes
    python scripts/make_depth_table.py --check 40                 # interpolation error

``--check K`` draws K random off-grid (N, D) points inside the grid, solves each directly
(:func:`rwinit.optimal_gain`) and prints the interpolation error in units of the
combined SE, |g_table − g_direct| / √(SE_table² + SE_direct²).
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from rwinit.nonlinearities import TABLE_NONLINEARITIES
from rwinit.tables.grid import make_grid
from rwinit.tables.run import build_table

#: Widths: a factor √2 apart up to 128, where g* changes fastest (its finite-width
#: correction is ~1/N; lookups interpolate in 1/N), then a factor 2.
WIDTHS: tuple[int, ...] = (8, 11, 16, 23, 32, 45, 64, 91, 128, 256, 512, 1024)

#: Finite depths: a factor ~1.5 apart up to 64, where the forward transient moves g*
#: most (lookups interpolate in ln D), sparser above; beyond 1000, lookups go to the
#: stationary column in 1/D.
DEPTHS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 100, 200, 500, 1000)

#: Target 95% confidence half-width of each g*.
CI_HALFWIDTH: float = 0.01

SEED: int = 20141223

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "rwinit" / "data" / "depth_gains.csv"


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.split(","))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="Numba threads per row")
    parser.add_argument("--widths", type=_ints, default=WIDTHS)
    parser.add_argument("--depths", type=_ints, default=DEPTHS)
    parser.add_argument("--nonlinearities", default=",".join(TABLE_NONLINEARITIES))
    parser.add_argument("--ci-halfwidth", type=float, default=CI_HALFWIDTH)
    parser.add_argument("--check", type=int, default=0, metavar="K",
                        help="measure the interpolation error at K random off-grid points "
                             "of the existing table instead of generating")
    parser.add_argument("--check-seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.check:
        return check(args)
    argv_text = shlex.join(sys.argv[1:] if argv is None else argv)
    command = f"python scripts/make_depth_table.py {argv_text}".strip()
    grid = make_grid(args.nonlinearities, args.widths, args.depths, ("network",),
                     ("gaussian",))

    def cost_order(key):
        nl, width, depth = key[0], key[1], key[2]
        return depth, width, nl  # shallow columns complete first

    t0 = time.perf_counter()
    table = build_table(grid, args.out, seed=SEED, ci_halfwidth=args.ci_halfwidth,
                        workers=args.workers, threads=args.threads, resume=True,
                        progress=True, command=command, run_order=cost_order)
    seconds = sum(r["seconds"] for r in table.rows)
    print(f"{len(table)} rows in {args.out}; this run {time.perf_counter() - t0:.0f} s wall, "
          f"{seconds:.0f} s of row time in all", file=sys.stderr)
    return 0


def check(args: argparse.Namespace) -> int:
    """Interpolation error at random off-grid points, in combined SE (see module doc)."""
    from rwinit.errors import RwinitError
    from rwinit.lookup import default_table
    from rwinit.solver import optimal_gain
    from rwinit.tables.depth import DepthTable
    from rwinit.tables.table import TableMissError

    table = DepthTable.load(args.out, stationary=default_table())
    rng = np.random.default_rng(args.check_seed)
    nls = args.nonlinearities.split(",")
    ratios, rel = [], []
    t0 = time.perf_counter()
    print(f"{'f':>10} {'N':>5} {'D':>5} {'table':>9} {'±SE':>7} {'direct':>9} {'±SE':>7} "
          f"{'|Δ|/SE':>7}")
    spans = {}
    for nl in nls:
        finite = [d for d in table.depths(nl) if d is not None]
        if len(finite) >= 2:  # complete columns only (a run may still be going)
            spans[nl] = (finite[0], finite[-1])
    if not spans:
        print("no nonlinearity has two complete depth columns yet")
        return 1
    nls = sorted(spans)
    print(f"complete depth ranges: {spans}")
    while len(ratios) < args.check:
        nl = str(rng.choice(nls))
        lw = rng.uniform(math.log(min(args.widths)), math.log(max(args.widths)))
        ld = rng.uniform(math.log(spans[nl][0]), math.log(spans[nl][1]))
        N, D = round(math.exp(lw)), round(math.exp(ld))
        if N in args.widths or D in args.depths:
            continue
        try:
            t = table.lookup(nl, N, D)
        except TableMissError:
            continue
        try:
            d = optimal_gain(nl, N, D, ci_halfwidth=args.ci_halfwidth / 2,
                             seed=int(rng.integers(2**31)))
        except RwinitError:  # no root at this point (the table's neighbours had one)
            continue
        combined = math.hypot(t.se, d.se)
        # exact rows (linear) have no SE: only their relative error is counted
        ratio = abs(t.g - d.g) / combined if combined > 0 else math.nan
        ratios.append(ratio)
        rel.append(abs(t.g - d.g) / d.g)
        print(f"{nl:>10} {N:>5} {D:>5} {t.g:>9.5f} {t.se:>7.4f} {d.g:>9.5f} {d.se:>7.4f} "
              f"{ratio:>7.2f}", flush=True)
    r = np.array(ratios)
    r = r[np.isfinite(r)]
    print(f"{len(ratios)} points ({r.size} with an SE) in {time.perf_counter() - t0:.0f} s: "
          f"|Δ|/SE median "
          f"{np.median(r):.2f}, 90% {np.quantile(r, 0.9):.2f}, max {r.max():.2f}; "
          f"within 3 SE: {(r <= 3).mean():.0%}; relative |Δ|/g median "
          f"{np.median(rel):.2e}, max {max(rel):.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
