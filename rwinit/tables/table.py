"""Gain tables: load, validate, save, look up and interpolate g* over widths.

A :class:`GainTable` holds the rows of :mod:`rwinit.tables.schema` (one unbiased gain
per grid point) and their provenance. :meth:`GainTable.lookup` returns g* at a width
of the grid, or between two widths of the grid by linear interpolation in ln N:

.. math::

    t = \\frac{\\ln N - \\ln N_0}{\\ln N_1 - \\ln N_0},\\qquad
    g(N) = (1 - t)\\, g_0 + t\\, g_1,\\qquad
    \\mathrm{SE}(N) = \\sqrt{(1 - t)^2 \\mathrm{SE}_0^2 + t^2 \\mathrm{SE}_1^2},

with N_0 < N < N_1 the neighbouring widths. g* varies smoothly in ln N (its
finite-width correction is ~1/N, e.g. exp(1/(2N)) for linear, Sussillo & Abbott,
arXiv:1412.6558, §3), so the interpolant is close to g* between grid points; the SE is
that of the interpolant from two independent estimates and does not include the
interpolation error. The interpolant always lies between g_0 and g_1.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special

from ..errors import RwinitError
from ..nonlinearities import get_nonlinearity
from ..validation import check_model, check_nonnegative, check_width
from .io import read_table, write_table
from .schema import (
    SCHEMA_NAME,
    SCHEMA_VERSION,
    check_row,
    coerce_row,
    describe_key,
    row_key,
    seal,
)


class TableMissError(RwinitError):
    """The table does not cover the requested point (a width outside its range, a
    nonlinearity or variant it lacks, or a neighbour whose solve failed)."""


@dataclass(frozen=True)
class TableGain:
    """An unbiased gain read from a table (or computed where the table had none).

    Attributes
    ----------
    g, se, ci_low, ci_high : float
        g*, its standard error and confidence interval at level ``confidence``.
    source : str
        ``table`` (a grid point), ``interpolated`` (between two widths of the grid) or
        ``computed`` (solved by :func:`rwinit.optimal_gain`: the table had no answer).
    neighbours : tuple of int
        The grid widths used: one for ``table``, two for ``interpolated``, none else.
    """

    nonlinearity: str
    width: int
    depth: int | None
    model: str
    weights: str
    bias_std: float
    g: float
    se: float
    ci_low: float
    ci_high: float
    confidence: float
    source: str
    neighbours: tuple[int, ...] = ()

    def __float__(self) -> float:
        return self.g

    def std(self, fan_in: int | None = None) -> float:
        """Weight standard deviation g / sqrt(fan_in) (fan_in defaults to the width)."""
        return self.g / math.sqrt(check_width(self.width if fan_in is None else fan_in))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary."""
        out = asdict(self)
        out["neighbours"] = list(self.neighbours)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableGain:
        """Rebuild from :meth:`to_dict`; a gain that is not finite and positive is refused."""
        out = cls(**{**d, "neighbours": tuple(int(n) for n in d.get("neighbours", ()))})
        if not (isinstance(out.g, float) and math.isfinite(out.g) and out.g > 0):
            raise RwinitError(f"malformed table gain: g = {out.g!r}")
        return out


def normalise_nonlinearity(name: str) -> str:
    """The label a table stores for ``name`` (``leaky_relu`` -> ``leaky_relu:0.01``);
    names that are not registered are returned unchanged."""
    try:
        return get_nonlinearity(name).label
    except RwinitError:
        return str(name)


def new_provenance(settings: Mapping[str, Any], command: str | None) -> dict[str, Any]:
    """A fresh provenance record (row count and checksum are filled in when saving)."""
    from .. import __version__

    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "rwinit_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "settings": dict(settings),
    }


def failed_row_error(key: Any, row: Mapping[str, Any]) -> RwinitError:
    """The error for a grid row that records a failed solve, in the solver's wording
    ("no unbiased gain for ...: why"), so that every route says the same."""
    message = row["message"]
    if message.startswith("no unbiased gain for"):  # already the solver's sentence
        return RwinitError(f"{message} (a failed solve recorded in the gain table for "
                           f"{describe_key(key)})")
    return RwinitError(f"no unbiased gain for {describe_key(key)} (a failed solve "
                       f"recorded in the gain table): {message}")


def check_neighbours(key: Any, rows: Iterable[Mapping[str, Any]]) -> None:
    """Raise :class:`TableMissError` if a row to interpolate between records no gain."""
    for r in rows:
        if r["status"] != "ok":
            raise TableMissError(f"cannot interpolate {describe_key(key)}: the table "
                                 f"has no gain at neighbouring width {r['width']} "
                                 f"({r['message']})")


class GainTable:
    """A validated table of unbiased gains.

    Parameters
    ----------
    rows : iterable of mapping
        Rows with the columns of :data:`rwinit.tables.schema.COLUMNS`.
    provenance : mapping, optional
        File-level provenance; ``n_rows``, ``rows_sha256`` and the file checksum
        ``sha256`` are recomputed (:func:`rwinit.tables.schema.seal`).

    Examples
    --------
    >>> table = GainTable.load("gains.csv")  # doctest: +SKIP
    >>> table.lookup("tanh", 300).g  # doctest: +SKIP
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]],
                 provenance: Mapping[str, Any] | None = None) -> None:
        clean = [coerce_row(r, i) for i, r in enumerate(rows)]
        seen = set()
        for i, row in enumerate(clean):
            check_row(row, i)
            if row_key(row) in seen:
                raise RwinitError(f"table row {i}: duplicate grid point "
                                  f"({describe_key(row_key(row))})")
            seen.add(row_key(row))
        self._rows = clean
        prov = dict(provenance) if provenance else new_provenance({}, None)
        self._provenance = seal(prov, clean)

    # --- files ---------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike) -> GainTable:
        """Read a CSV, JSON or NPZ table, rejecting any that fails its schema or checksum."""
        rows, provenance = read_table(path)
        return cls(rows, provenance)

    def save(self, path: str | os.PathLike) -> None:
        """Write the table atomically, in the format of the extension of ``path``."""
        write_table(path, self._rows, self._provenance)

    # --- contents ------------------------------------------------------------------

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Copies of the rows."""
        return [dict(r) for r in self._rows]

    @property
    def provenance(self) -> dict[str, Any]:
        """A copy of the provenance record."""
        return dict(self._provenance)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"GainTable({len(self)} rows, nonlinearities {', '.join(self.nonlinearities())})"

    def nonlinearities(self) -> tuple[str, ...]:
        """The nonlinearity labels in the table, in order of first appearance."""
        return tuple(dict.fromkeys(r["nonlinearity"] for r in self._rows))

    def _select(self, nl: str, depth: int | None, model: str, weights: str,
                bias: float) -> list[dict[str, Any]]:
        rows = [r for r in self._rows if r["nonlinearity"] == nl]
        if not rows:
            raise TableMissError(f"nonlinearity {nl!r} is not in the table; it has "
                                 f"{', '.join(self.nonlinearities()) or 'no rows'}")
        for column, value in (("depth", depth), ("model", model), ("weights", weights),
                              ("bias_std", bias)):
            kept = [r for r in rows if r[column] == value]
            if not kept:
                have = sorted({"stationary" if r[column] is None else str(r[column])
                               for r in rows})
                shown = "stationary" if value is None else value
                raise TableMissError(f"the table has no {nl} rows with {column} {shown!r} "
                                     f"(it has {', '.join(have)})")
            rows = kept
        return sorted(rows, key=lambda r: r["width"])

    def widths(self, nonlinearity: str, depth: int | None = None, model: str = "network",
               weights: str = "gaussian", bias_std: float = 0.0) -> tuple[int, ...]:
        """The grid widths for one nonlinearity and variant."""
        rows = self._select(normalise_nonlinearity(nonlinearity), depth, model, weights,
                            float(bias_std))
        return tuple(r["width"] for r in rows)

    def lookup(self, nonlinearity: str, width: int, depth: int | None = None, *,
               model: str = "network", weights: str = "gaussian",
               bias_std: float = 0.0) -> TableGain:
        """g* at ``width``: a grid row, or interpolated in ln N between two grid rows.

        Parameters
        ----------
        nonlinearity : str
            A name (``tanh``) or label (``leaky_relu:0.2``).
        width : int
            N.
        depth : int or None
            D, or None for the stationary variant.
        model, weights, bias_std
            As in :func:`rwinit.optimal_gain`.

        Raises
        ------
        TableMissError
            (an :class:`RwinitError`) the table lacks the nonlinearity or variant, the
            width is outside the table's widths, or a neighbouring row's solve failed.
        RwinitError
            The grid row at ``width`` records a failed solve (e.g. no root).
        """
        nl = normalise_nonlinearity(nonlinearity)
        N = check_width(width)
        model = check_model(model)
        bias = check_nonnegative(bias_std, "bias_std")
        rows = self._select(nl, depth, model, weights, bias)
        key = (nl, N, depth, model, weights, bias)
        grid = [r["width"] for r in rows]
        if not grid[0] <= N <= grid[-1]:
            raise TableMissError(f"width {N} is outside the table's widths "
                                 f"{grid[0]}..{grid[-1]} for {describe_key(key)}")
        i = int(np.searchsorted(grid, N))
        common = dict(nonlinearity=nl, width=N, depth=depth, model=model, weights=weights,
                      bias_std=bias)
        if grid[i] == N:
            row = rows[i]
            if row["status"] != "ok":
                raise failed_row_error(key, row)
            return TableGain(g=row["g"], se=row["se"], ci_low=row["ci_low"],
                             ci_high=row["ci_high"], confidence=row["confidence"],
                             source="table", neighbours=(N,), **common)
        lo, hi = rows[i - 1], rows[i]
        check_neighbours(key, (lo, hi))
        t = (math.log(N) - math.log(lo["width"])) / (math.log(hi["width"]) - math.log(lo["width"]))
        g = (1 - t) * lo["g"] + t * hi["g"]
        se = math.hypot((1 - t) * lo["se"], t * hi["se"])
        confidence = min(lo["confidence"], hi["confidence"])
        z = float(special.ndtri(0.5 + confidence / 2))  # the normal quantile
        return TableGain(g=g, se=se, ci_low=g - z * se, ci_high=g + z * se,
                         confidence=confidence, source="interpolated",
                         neighbours=(lo["width"], hi["width"]), **common)


__all__ = ["GainTable", "TableGain", "TableMissError", "new_provenance",
           "normalise_nonlinearity"]
