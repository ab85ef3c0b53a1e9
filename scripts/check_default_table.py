"""Recompute a sample of the shipped gain table with the current engine and check agreement.

rwinit/data/default_gains.csv was computed by the first release's engine (scalar kernel,
Brent solver, no control variates). This script re-solves a sample of its Monte Carlo
rows (exact rows are skipped: they do not depend on the engine) with independent seeds
and checks each new g* against the table's within the combined standard error,

    |g_new − g_table| <= k · √(SE_new² + SE_table²),   k = 4 by default,

(4 SE keeps the family-wise false-alarm rate near 0.1% per ten rows). It prints one line
per row and exits with status 1 if any row disagrees. The table itself is not rewritten.

Run: ``python scripts/check_default_table.py`` (20 rows, widths up to 128, a few minutes);
``--rows N``, ``--max-width W``, ``--quick`` (6 rows, widths up to 16).
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import time
from pathlib import Path

TABLE = Path(__file__).resolve().parents[1] / "rwinit" / "data" / "default_gains.csv"


def monte_carlo_rows(path: Path = TABLE, max_width: int = 128) -> list[dict]:
    """The table's rows solved by Monte Carlo (not ``exact``), up to ``max_width``."""
    with open(path, newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    return [r for r in rows if r["status"] == "ok" and r["method"] != "exact"
            and int(r["width"]) <= max_width]


def check_rows(rows: list[dict], k: float = 4.0, seed: int = 1, verbose: bool = True):
    """Re-solve each row; return [(row, new GainResult, z-score)]."""
    from rwinit import optimal_gain

    out = []
    for i, row in enumerate(rows):
        depth = None if row["depth"] == "stationary" else int(row["depth"])
        t0 = time.perf_counter()
        new = optimal_gain(row["nonlinearity"], int(row["width"]), depth, model=row["model"],
                           weights=row["weights"], bias_std=float(row["bias_std"]),
                           ci_halfwidth=float(row["ci_high"]) - float(row["g"]),
                           seed=seed + i)
        g_old, se_old = float(row["g"]), float(row["se"])
        z = (new.g - g_old) / math.hypot(new.se, se_old)
        out.append((row, new, z))
        if verbose:
            print(f"{row['nonlinearity']:>12} N={row['width']:>4} {row['model']:<7} "
                  f"table {g_old:.5f} ± {se_old:.5f}   new {new.g:.5f} ± {new.se:.5f} "
                  f"({new.method}, {new.samples} samples, VR {new.variance_reduction:.1f}x, "
                  f"{time.perf_counter() - t0:.1f} s)   z = {z:+.2f}"
                  f"{'' if abs(z) <= k else '   DISAGREES'}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20, help="rows to re-solve (default 20)")
    ap.add_argument("--max-width", type=int, default=128, help="widest row considered")
    ap.add_argument("--k", type=float, default=4.0, help="tolerance in combined SEs")
    ap.add_argument("--seed", type=int, default=1, help="seed of the row sample and solves")
    ap.add_argument("--quick", action="store_true", help="6 rows, widths up to 16")
    opts = ap.parse_args(argv)
    n, wmax = (6, 16) if opts.quick else (opts.rows, opts.max_width)
    rows = monte_carlo_rows(max_width=wmax)
    sample = random.Random(opts.seed).sample(rows, min(n, len(rows)))
    results = check_rows(sample, opts.k, opts.seed)
    bad = [r for r in results if not abs(r[2]) <= opts.k]
    zs = [r[2] for r in results]
    print(f"{len(results)} rows: mean z {sum(zs) / len(zs):+.2f}, max |z| "
          f"{max(abs(z) for z in zs):.2f}; {len(bad)} outside {opts.k:g} combined SE")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
