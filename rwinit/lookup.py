"""``rwinit.gain``: g* from the shipped table, instantly, or computed when it has none.

The package ships ``rwinit/data/default_gains.csv`` (made by
``scripts/make_default_table.py``; its command line and settings are in the file): every
built-in nonlinearity, stationary variant, both models, Gaussian weights, no bias, widths
2 to 4096. :func:`gain` answers from it, interpolating in ln N between widths
(:meth:`rwinit.tables.GainTable.lookup`), and falls back to :func:`rwinit.optimal_gain`
— with a :class:`TableFallbackWarning` and ``source="computed"`` on the result — for
anything the table does not cover (another depth, weight distribution or bias, a width
outside 2..4096, a registered nonlinearity of your own).
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

#: File name of the shipped table inside ``rwinit/data``.
DEFAULT_TABLE_NAME: str = "default_gains.csv"


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
        None for the stationary variant (what the shipped table holds), or D.
    model, weights, bias_std
        As in :func:`rwinit.optimal_gain`.
    table : GainTable or path, optional
        The table to read (default: the shipped one).
    compute : bool
        If the table does not cover the request, solve for g* (default) rather than
        raise.
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
        When g* was computed rather than read from the table.

    Examples
    --------
    >>> import rwinit
    >>> r = rwinit.gain("tanh", 256)  # doctest: +SKIP
    >>> r.source, round(r.g, 2)  # doctest: +SKIP
    ('interpolated', 1.05)
    """
    get_nonlinearity(nonlinearity)  # an unknown name is an error, not a table miss
    try:
        tab = table if isinstance(table, GainTable) else (
            default_table() if table is None else GainTable.load(table))
        return tab.lookup(nonlinearity, width, depth, model=model, weights=weights,
                          bias_std=bias_std)
    except TableMissError as exc:
        if not compute:
            raise
        reason = str(exc)
    warnings.warn(f"computing g* (may take a while): {reason}", TableFallbackWarning,
                  stacklevel=2)
    r = optimal_gain(nonlinearity, width, depth, model=model, weights=weights,
                     bias_std=bias_std, **solver_options)
    return TableGain(nonlinearity=r.nonlinearity, width=r.width, depth=r.depth, model=r.model,
                     weights=r.weights, bias_std=r.bias_std, g=r.g, se=r.se, ci_low=r.ci_low,
                     ci_high=r.ci_high, confidence=r.confidence, source="computed")


def resolve_gain(nonlinearity: str, width: int, gain_value: float | None = None,
                 **lookup: Any) -> float:
    """``gain_value`` if given (checked), else g* from :func:`gain`."""
    from .validation import check_gain

    if gain_value is not None:
        return check_gain(gain_value)
    return gain(nonlinearity, width, **lookup).g


__all__ = ["DEFAULT_TABLE_NAME", "TableFallbackWarning", "default_table",
           "gain", "resolve_gain"]
