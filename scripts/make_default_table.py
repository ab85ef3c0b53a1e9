"""Generate the gain table that ships with rwinit (rwinit/data/default_gains.csv).

The ten nonlinearities of ``TABLE_NONLINEARITIES`` (linear … softplus), both propagation
models, Gaussian weights, no bias, the stationary variant, over log-spaced widths from 2
to 4096. The solve target is a 95% CI half-width of 0.01 in g (recorded in the file, as
is this command line); linear and ReLU (paper model) are exact, linear/ReLU/leaky ReLU
(network model) need one Monte Carlo pass, the rest a root solve.

The file is rewritten atomically after every row and the run resumes from it, so it
can be interrupted and started again without losing or redoing rows::

    python scripts/make_default_table.py            # two worker processes
    python scripts/make_default_table.py --workers 4 --out /tmp/gains.csv
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path

from rwinit.nonlinearities import TABLE_NONLINEARITIES
from rwinit.tables.grid import make_grid
from rwinit.tables.run import build_table

#: Widths of the shipped table: dense where g* changes fast (small N), sparse above.
WIDTHS: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256, 512, 1024, 4096)

#: Target 95% confidence half-width of each g*.
CI_HALFWIDTH: float = 0.01

SEED: int = 20141222  # arXiv:1412.6558 was first posted in December 2014

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "rwinit" / "data" / "default_gains.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="Numba threads per row")
    args = parser.parse_args(argv)
    argv_text = shlex.join(sys.argv[1:] if argv is None else argv)
    command = f"python scripts/make_default_table.py {argv_text}".strip()
    grid = make_grid(TABLE_NONLINEARITIES, WIDTHS, ("stationary",), ("network", "paper"),
                     ("gaussian",))
    # the cheapest and most used widths first (around 128; N = 2 and 4096 cost the most),
    # for every nonlinearity at once, so that a run stopped early still covers a middle
    # range of widths of all of them. Rows do not depend on order (each has its own seed)
    # and the file lists them in grid order whatever the order they ran in.
    def cost_order(key):
        return abs(math.log2(key[1]) - 7.5), key[1]

    t0 = time.perf_counter()
    table = build_table(grid, args.out, seed=SEED, ci_halfwidth=CI_HALFWIDTH,
                        workers=args.workers, threads=args.threads, resume=True,
                        progress=True, command=command, run_order=cost_order)
    seconds = sum(r["seconds"] for r in table.rows)
    print(f"{len(table)} rows in {args.out}; this run {time.perf_counter() - t0:.0f} s wall, "
          f"{seconds:.0f} s of row time in all", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
