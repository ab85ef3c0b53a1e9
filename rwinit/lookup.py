"""``rwinit.gain``: g* from the shipped table, instantly, or computed when it has none.

The package ships ``rwinit/data/default_gains.csv`` (made by
``scripts/make_default_table.py``; its command line and settings are in the file): the
ten nonlinearities of ``TABLE_NONLINEARITIES``, stationary variant, both models, Gaussian
weights, no bias, widths 2 to 4096; and ``rwinit/data/depth_gains.csv``
(``scripts/make_depth_table.py``): the depth-D variant on a widths × depths grid, network
model. :func:`gain` answers from
them, interpolating in ln N between widths (:meth:`rwinit.tables.GainTable.lookup`) and
in ln D between depths (:class:`rwinit.tables.depth.DepthTable`), and falls back to
:func:`rwinit.optimal_gain` — with a :class:`TableFallbackWarning` and
``source="computed"`` on the result — for anything the tables do not cover (another
weight distribution or bias, a width or depth outside the grid, relu6 … mish, a
registered nonlinearity of your own). A computed answer is kept in rwinit's disk cache
(:mod:`rwinit.cache`, keyed by every input that determines it), so it is computed once:
the next process reads it at once, still with a warning that says where it came from.

The nonlinearity is parsed once, here: the :class:`~rwinit.nonlinearities.Nonlinearity`
object, not its name, goes on to the tables and the solver.
"""

from __future__ import annotations

import functools
import os
import warnings
from importlib import resources
from typing import Any

from .nonlinearities import get_nonlinearity
from .solver import optimal_gain
from .tables import GainTable, TableGain, TableMissError
from .tables.depth import DepthTable

#: File name of the shipped table inside ``rwinit/data``.
DEFAULT_TABLE_NAME: str = "default_gains.csv"

#: File name of the shipped depth-aware table inside ``rwinit/data``.
DEPTH_TABLE_NAME: str = "depth_gains.csv"


class TableFallbackWarning(UserWarning):
    """:func:`rwinit.gain` computed g* because the table did not cover the request."""


@functools.lru_cache(maxsize=1)
def default_table() -> GainTable:
    """The table shipped with rwinit (loaded and validated once).

    Raises
    ------
    RwinitError
        If the shipped file is missing or fails validation.
    """
    ref = resources.files("rwinit") / "data" / DEFAULT_TABLE_NAME
    if not ref.is_file():
        raise TableMissError(f"the shipped gain table rwinit/data/{DEFAULT_TABLE_NAME} is "
                             "missing; regenerate it with scripts/make_default_table.py")
    with resources.as_file(ref) as path:
        return GainTable.load(path)


@functools.lru_cache(maxsize=1)
def depth_table() -> DepthTable:
    """The shipped depth-aware table, with the stationary table as its D → ∞ column.

    Raises
    ------
    TableMissError
        If the shipped file is missing (then depth-D gains are computed).
    """
    ref = resources.files("rwinit") / "data" / DEPTH_TABLE_NAME
    if not ref.is_file():
        raise TableMissError(f"the shipped depth table rwinit/data/{DEPTH_TABLE_NAME} is "
                             "missing; regenerate it with scripts/make_depth_table.py")
    with resources.as_file(ref) as path:
        return DepthTable(GainTable.load(path), stationary=default_table())


def gain(
    nonlinearity: str,
    width: int,
    depth: int | None = None,
    *,
    model: str = "network",
    weights: str = "gaussian",
    bias_std: float = 0.0,
    table: GainTable | str | os.PathLike | None = None,
    compute: bool = True,
    cache: bool = True,
    **solver_options: Any,
) -> TableGain:
    """The unbiased gain g* for a nonlinearity and width, from a table when it can.

    Parameters
    ----------
    nonlinearity : str
        A registered name, e.g. ``"tanh"`` or ``"leaky_relu:0.2"``.
    width : int
        N (the fan-in of the layers).
    depth : int or None
        None for the stationary variant, or D for the depth-D variant (the shipped depth
        table: network model, D up to 1000, then towards the stationary value in 1/D).
    model, weights, bias_std
        As in :func:`rwinit.optimal_gain`.
    table : GainTable, DepthTable or path, optional
        The table to read (default: the shipped ones).
    compute : bool
        If the table does not cover the request, solve for g* (default) rather than
        raise.
    cache : bool
        Read and write computed answers in the disk cache (default); False recomputes.
    **solver_options
        Passed to :func:`rwinit.optimal_gain` when computing (``ci_halfwidth``, ``seed``,
        ``samples``, ``threads``, ``progress``).

    Returns
    -------
    TableGain
        ``float(result)`` is g*; ``result.source`` is ``table``, ``interpolated`` or
        ``computed``, and the weight std is ``result.std(fan_in)`` = g / sqrt(fan_in).

    Raises
    ------
    RwinitError
        The table records that no gain exists at this grid point (e.g. tanh at N = 4 in
        the network model, where the drift is negative for every g); or the table does
        not cover the request and ``compute`` is False; or computing failed.

    Warns
    -----
    TableFallbackWarning
        When g* was computed rather than read from the table (now, or by an earlier call
        whose answer the disk cache kept: the message says which).

    Examples
    --------
    >>> import rwinit
    >>> r = rwinit.gain("tanh", 256)  # doctest: +SKIP
    >>> r.source, round(r.g, 2)  # doctest: +SKIP
    ('interpolated', 1.05)
    """
    nl = get_nonlinearity(nonlinearity)  # parsed once; an unknown name is an error, not a miss
    try:
        if table is None:
            tab = default_table() if depth is None else depth_table()
        elif isinstance(table, GainTable | DepthTable):
            tab = table
        else:
            tab = GainTable.load(table)
        kw = dict(model=model, weights=weights, bias_std=bias_std)
        if depth is not None and isinstance(tab, GainTable):
            try:  # a row at this very depth first, then interpolation across depths
                return tab.lookup(nl, width, depth, **kw)
            except TableMissError:
                tab = DepthTable(tab)
        return tab.lookup(nl, width, depth, **kw)
    except TableMissError as exc:
        if not compute:
            raise
        reason = str(exc)
    return _computed(nl, width, depth, model, weights, bias_std, reason, cache,
                     solver_options)


def _computed(nl: Any, width: Any, depth: Any, model: Any, weights: Any, bias_std: Any,
              reason: str, cache: bool, solver_options: dict[str, Any]) -> TableGain:
    """g* from :func:`rwinit.optimal_gain`, through the disk cache where the inputs allow
    (plain JSON values: a seed given as a Generator is not cached)."""
    from .cache import cached
    from .network import nonlinearity_key

    def solve() -> dict[str, Any]:
        warnings.warn(f"computing g* (may take a while; kept in rwinit's cache for next "
                      f"time): {reason}", TableFallbackWarning, stacklevel=5)
        r = optimal_gain(nl, width, depth, model=model, weights=weights,
                         bias_std=bias_std, **solver_options)
        return TableGain(nonlinearity=r.nonlinearity, width=r.width, depth=r.depth,
                         model=r.model, weights=r.weights, bias_std=r.bias_std, g=r.g,
                         se=r.se, ci_low=r.ci_low, ci_high=r.ci_high,
                         confidence=r.confidence, source="computed").to_dict()

    # what determines the answer: threads and progress bars do not
    options = {k: v for k, v in solver_options.items() if k not in ("threads", "progress")}
    inputs = {"nonlinearity": nonlinearity_key(nl), "width": width, "depth": depth,
              "model": model, "weights": weights, "bias_std": bias_std, "options": options}
    plain = all(v is None or type(v) in (int, float, str, bool)
                for v in (width, depth, model, weights, bias_std, *options.values()))
    answer, hit = cached("gain", inputs, solve, enabled=cache and plain,
                         accept=lambda a: TableGain.from_dict(a).source == "computed")
    if hit:
        warnings.warn(f"g* computed by an earlier call, read from rwinit's cache: {reason}",
                      TableFallbackWarning, stacklevel=3)
    return TableGain.from_dict(answer)


def resolve_gain(nonlinearity: str, width: int, gain_value: float | None = None,
                 **lookup: Any) -> float:
    """``gain_value`` if given (checked), else g* from :func:`gain`."""
    from .validation import check_gain

    if gain_value is not None:
        return check_gain(gain_value)
    return gain(nonlinearity, width, **lookup).g


__all__ = ["DEFAULT_TABLE_NAME", "DEPTH_TABLE_NAME", "TableFallbackWarning", "default_table",
           "depth_table", "gain", "resolve_gain"]
