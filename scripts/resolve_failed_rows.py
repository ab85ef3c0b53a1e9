"""Re-solve the failed rows of a gain table with the current solver, in place.

A row records ``status="failed"`` with the solver's message when no unbiased gain exists
(e.g. stationary tanh at N <= 8). Rows made by an older solver keep that solver's
wording; this script re-solves each failed row with its own recorded row seed and the
table's settings, replaces the row (whether it now succeeds or fails again, with today's
message), appends its command line to the provenance's ``resumed`` list and writes the
file atomically with a fresh checksum. Rows that succeeded are left untouched.

Usage::

    python scripts/resolve_failed_rows.py rwinit/data/default_gains.csv
"""

from __future__ import annotations

import argparse
import sys

from rwinit.tables import GainTable
from rwinit.tables.run import compute_row
from rwinit.tables.schema import row_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", help="a gain table file (.csv, .json or .npz)")
    args = parser.parse_args(argv)
    table = GainTable.load(args.table)
    settings = table.provenance["settings"]
    rows = table.rows
    redone = 0
    for i, row in enumerate(rows):
        if row["status"] == "ok":
            continue
        new = compute_row(row_key(row), settings["seed"], settings["samples"],
                          settings["ci_halfwidth"], settings["confidence"])
        print(f"{row['nonlinearity']:>10} N={row['width']:<5} {row['model']:8} "
              f"{new['status']}: {new['message'] or new['g']}", flush=True)
        rows[i] = new
        redone += 1
    provenance = dict(table.provenance)
    provenance["resumed"] = [*provenance.get("resumed", []),
                             "python scripts/resolve_failed_rows.py " + args.table]
    GainTable(rows, provenance).save(args.table)
    print(f"re-solved {redone} failed rows of {args.table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
