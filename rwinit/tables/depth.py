"""Depth-aware gain tables: g*(N, D) interpolated in (1/N, ln D), with its standard error.

A depth table is an ordinary :class:`~rwinit.tables.table.GainTable` (same schema, same
provenance and checksum) whose rows cover a grid of widths × finite depths, plus the
stationary variant (D → ∞). :class:`DepthTable` looks a depth-D unbiased gain up
(docs/design.md, § Tables and provenance; the depth-D variant of Sussillo & Abbott,
arXiv:1412.6558, §3):

* at each of the two grid depths D_0 <= D <= D_1 around D, g is interpolated in 1/N
  between the grid widths N_0 < N < N_1 around N, giving g_0 ± SE_0 and g_1 ± SE_1::

      s = (1/N_0 − 1/N) / (1/N_0 − 1/N_1),   g = (1 − s) g(N_0) + s g(N_1);

  the finite-width correction of g* is ~1/N (exp(1/(2N)) for linear layers, paper
  eq. 11), and at small depths, where g* moves most, 1/N interpolation was measured to
  be 2–4× closer to direct solves than ln N (tanh, N = 16–256, D = 4);
* then in ln D::

      t = (ln D − ln D_0) / (ln D_1 − ln D_0),   g = (1 − t) g_0 + t g_1,

  with SE = √(Σ_i w_i² SE_i²) over the (up to four) rows and their weights w_i;
* beyond the deepest finite depth D_max (if D_max >= :data:`STATIONARY_FROM_DEPTH`), in
  1/D between D_max and the stationary row (1/D = 0): the forward transient adds a
  finite total bias to the walk, so the depth-D gain approaches the stationary one as
  ~1/D. The stationary column may come from
  another table (the shipped stationary table, ``stationary=``) so that it is not
  computed twice.

The SE is that of the interpolant from independent row estimates; it does not include
the interpolation error, which ``scripts/make_depth_table.py --check`` measures against
direct solves. Only complete columns are used: a (nonlinearity, depth) whose rows do not
cover every grid width of that nonlinearity (a generation that stopped early) is treated
as missing, so :func:`rwinit.gain` falls back to computing rather than interpolating
across a gap.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from scipy import special

from ..validation import check_depth, check_model, check_nonnegative, check_width
from .table import (
    GainTable,
    TableGain,
    TableMissError,
    check_neighbours,
    failed_row_error,
    normalise_nonlinearity,
)

#: The 1/D extension towards the stationary column starts only from a complete column at
#: least this deep (where the 1/D form of the transient holds; a table whose deep
#: columns are still missing then falls back to computing instead).
STATIONARY_FROM_DEPTH: int = 500


class DepthTable:
    """Look up g*(N, D) in a gain table with a width × depth grid (see module docstring)."""

    def __init__(self, table: GainTable, stationary: GainTable | None = None) -> None:
        self.table = table
        self.stationary = stationary
        self._columns: dict[tuple, list[int | None]] = {}
        widths: dict[tuple, set[int]] = {}
        by_depth: dict[tuple, dict[int | None, set[int]]] = {}
        for r in table.rows:
            key = (r["nonlinearity"], r["model"], r["weights"], r["bias_std"])
            widths.setdefault(key, set()).add(r["width"])
            by_depth.setdefault(key, {}).setdefault(r["depth"], set()).add(r["width"])
        for key, depths in by_depth.items():
            complete = [d for d, ws in depths.items() if ws == widths[key]]
            self._columns[key] = sorted(d for d in complete if d is not None) + (
                [None] if None in complete else [])
        self._own_stationary = {r["nonlinearity"] for r in table.rows if r["depth"] is None}
        if stationary is not None:  # the stationary column from another table
            for r in stationary.rows:
                key = (r["nonlinearity"], r["model"], r["weights"], r["bias_std"])
                column = self._columns.get(key)
                if r["depth"] is None and column is not None and None not in column:
                    column.append(None)

    @classmethod
    def load(cls, path: str | os.PathLike, stationary: GainTable | None = None) -> DepthTable:
        """Load and validate a table file (:meth:`GainTable.load`)."""
        return cls(GainTable.load(path), stationary)

    def _rows(self, nl: str, depth: int | None, model: str, weights: str,
               bias: float) -> list[dict[str, Any]]:
        """The rows of one column, by width (the stationary one possibly from the other
        table)."""
        source = self.table
        if depth is None and nl not in self._own_stationary and self.stationary is not None:
            source = self.stationary
        rows = [r for r in source.rows if r["nonlinearity"] == nl and r["depth"] == depth
                and r["model"] == model and r["weights"] == weights
                and r["bias_std"] == bias]
        return sorted(rows, key=lambda r: r["width"])

    def _column(self, nl: str, N: int, depth: int | None, model: str, weights: str,
                bias: float) -> list[tuple[float, dict[str, Any]]]:
        """[(weight, row), …]: g at width N in this column, interpolated in 1/N."""
        rows = self._rows(nl, depth, model, weights, bias)
        grid = [r["width"] for r in rows]
        key = (nl, N, depth, model, weights, bias)
        if not rows or not grid[0] <= N <= grid[-1]:
            have = f"{grid[0]}..{grid[-1]}" if rows else "none"
            # no depth in the message: this column's depth need not be the one asked for
            bias_text = f", bias_std {bias:g}" if bias else ""
            raise TableMissError(f"width {N} is outside the table's widths ({have}) for "
                                 f"{nl}, {model} model, {weights} weights{bias_text}")
        i = int(np.searchsorted(grid, N))
        if grid[i] == N:
            if rows[i]["status"] != "ok":
                raise failed_row_error(key, rows[i])
            return [(1.0, rows[i])]
        lo, hi = rows[i - 1], rows[i]
        check_neighbours(key, (lo, hi))
        s = (1 / lo["width"] - 1 / N) / (1 / lo["width"] - 1 / hi["width"])
        return [(1.0 - s, lo), (s, hi)]

    def depths(self, nonlinearity: str, model: str = "network", weights: str = "gaussian",
               bias_std: float = 0.0) -> tuple[int | None, ...]:
        """The complete depth columns for one nonlinearity (None = stationary)."""
        key = (normalise_nonlinearity(nonlinearity), model, weights, float(bias_std))
        return tuple(self._columns.get(key, ()))

    def lookup(self, nonlinearity: Any, width: int, depth: int | None, *,
               model: str = "network", weights: str = "gaussian",
               bias_std: float = 0.0) -> TableGain:
        """g* at (N, D): a grid row, or interpolated as in the module docstring.

        Raises
        ------
        TableMissError
            The table lacks the nonlinearity, variant or a complete depth column around
            ``depth``, or ``width`` is outside its widths.
        RwinitError
            A grid row used records that no unbiased gain exists there.
        """
        nl = normalise_nonlinearity(nonlinearity)
        N = check_width(width)
        model = check_model(model)
        bias = check_nonnegative(bias_std, "bias_std")
        columns = self._columns.get((nl, model, weights, bias), [])
        finite = [d for d in columns if d is not None]
        where = f"{nl}, {model} model, {weights} weights"
        if depth is None:
            if None not in columns:
                raise TableMissError(f"the depth table has no stationary column for {where}")
            return _combine(self._column(nl, N, None, model, weights, bias), nl, N, None,
                            model, weights, bias)
        D = check_depth(depth)
        if not finite:
            raise TableMissError(f"the depth table has no complete depth column for {where}")
        if D in finite:
            pair, t = (D, D), 0.0
        elif finite[0] < D < finite[-1]:
            i = next(k for k, d in enumerate(finite) if d > D)
            d0, d1 = finite[i - 1], finite[i]
            pair, t = (d0, d1), (math.log(D) - math.log(d0)) / (math.log(d1) - math.log(d0))
        elif D > finite[-1] >= STATIONARY_FROM_DEPTH and None in columns:
            d0 = finite[-1]
            pair, t = (d0, None), 1.0 - d0 / D  # linear in 1/D from 1/d0 to 0
        else:
            span = f"{finite[0]}..{finite[-1]}" + (", stationary" if None in columns else "")
            raise TableMissError(f"depth {D} is outside the depth table's depths ({span}) "
                                 f"for {where}")
        terms = [(w, r) for w, r in self._column(nl, N, pair[0], model, weights, bias)]
        if pair[1] != pair[0]:
            terms = [((1 - t) * w, r) for w, r in terms] + [
                (t * w, r) for w, r in self._column(nl, N, pair[1], model, weights, bias)]
        return _combine(terms, nl, N, D, model, weights, bias)


def _combine(terms: list[tuple[float, dict[str, Any]]], nl: str, N: int, D: int | None,
             model: str, weights: str, bias: float) -> TableGain:
    """Σ w_i g_i with SE √(Σ w_i² SE_i²); ``table`` when one grid row carries it all."""
    terms = [(w, r) for w, r in terms if w != 0.0] or terms[:1]
    g = sum(w * r["g"] for w, r in terms)
    se = math.sqrt(sum((w * r["se"]) ** 2 for w, r in terms))
    confidence = min(r["confidence"] for _, r in terms)
    exact = len(terms) == 1
    if exact:
        r = terms[0][1]
        lo, hi = r["ci_low"], r["ci_high"]
    else:
        z = float(special.ndtri(0.5 + confidence / 2))
        lo, hi = g - z * se, g + z * se
    return TableGain(nonlinearity=nl, width=N, depth=D, model=model, weights=weights,
                     bias_std=bias, g=g, se=se, ci_low=lo, ci_high=hi, confidence=confidence,
                     source="table" if exact else "interpolated",
                     neighbours=tuple(sorted({r["width"] for _, r in terms})))


__all__ = ["STATIONARY_FROM_DEPTH", "DepthTable"]
