"""Gain tables: the schema, file formats, grids, computing runs and lookups.

Modules of this package, one job each:

``schema``
    Columns, types, ranges, provenance record and checksum of a table.
``io``
    Reading and writing tables as CSV, JSON or NPZ (atomically).
``grid``
    Parsing the grid axes and each grid point's seed.
``table``
    :class:`GainTable`: a validated table with lookup and ln N interpolation.
``run``
    Computing a table on a process pool, a Dask cluster or in-process, resumably
    (imported on first use: it pulls in the solver).

New table formats or lookups belong in their own module here, re-exported below.
"""

from __future__ import annotations

from typing import Any

from .grid import make_grid, parse_depths, parse_widths, row_seed
from .io import FORMATS, check_writable, read_table, table_format, write_table
from .table import GainTable, TableGain, TableMissError, new_provenance, normalise_nonlinearity

_LAZY = {"build_table": "run", "compute_row": "run", "make_executor": "run",
         "table_rows_equal": "run", "InlineExecutor": "run"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FORMATS", "GainTable", "InlineExecutor", "TableGain", "TableMissError",
           "build_table", "check_writable", "compute_row", "make_executor", "make_grid",
           "new_provenance", "normalise_nonlinearity", "parse_depths", "parse_widths",
           "read_table", "row_seed", "table_format", "table_rows_equal", "write_table"]
