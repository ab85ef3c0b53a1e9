"""The grid of a gain table: parsing its axes and seeding each grid point.

A grid is the Cartesian product nonlinearities × widths × depths × models × weights
(at one bias std). Each grid point gets its own seed, derived from the table's base
seed and the point's key alone (:func:`row_seed`), so a row's value does not depend on
which other rows exist, on their order, or on which executor computed it.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import RwinitError
from ..nonlinearities import get_nonlinearity
from ..validation import (
    MODELS,
    check_choice,
    check_depth,
    check_nonnegative,
    check_width,
    parse_whole_number,
)
from ..weights import WEIGHT_DISTRIBUTIONS
from .schema import RowKey

#: Weight distributions a table can hold (sparse needs a per-row sparsity, not stored).
TABLE_WEIGHTS: tuple[str, ...] = tuple(w for w in WEIGHT_DISTRIBUTIONS if w != "sparse")


def _split(text: str) -> list[str]:
    items = [t.strip() for t in str(text).split(",")]
    if not all(items):
        raise RwinitError(f"empty item in list {text!r}")
    return items


def parse_widths(spec: str | Iterable[int]) -> list[int]:
    """Widths from a list and/or ranges, sorted and without repeats.

    ``spec`` is a comma-separated list whose items are widths (``64``) or ranges
    ``A:B:logK`` (K widths spaced evenly in ln N from A to B, rounded, both ends
    included) or ``A:B:linK`` (K evenly spaced), e.g. ``2,3,8:1024:log20``.
    """
    if not isinstance(spec, str):
        return sorted({check_width(w) for w in spec})
    widths: set[int] = set()
    for item in _split(spec):
        parts = item.split(":")
        if len(parts) == 1:
            widths.add(check_width(parse_whole_number(item, "width")))
            continue
        if len(parts) != 3 or not (parts[2].startswith("log") or parts[2].startswith("lin")):
            raise RwinitError(f"width range {item!r} must look like A:B:logK or A:B:linK")
        a = check_width(parse_whole_number(parts[0], "width"))
        b = check_width(parse_whole_number(parts[1], "width"))
        k = parse_whole_number(parts[2][3:], "number of widths")
        if b < a or k < 2:
            raise RwinitError(f"width range {item!r} needs A <= B and K >= 2")
        if k > b - a + 1:  # checked before any array of K points is made
            raise RwinitError(f"width range {item!r} asks for {k:,} widths but {a}..{b} holds "
                              f"only {b - a + 1} distinct widths; use K <= {b - a + 1}")
        points = (np.geomspace(a, b, k) if parts[2].startswith("log")
                  else np.linspace(a, b, k))
        widths.update(int(round(float(x))) for x in points)
    return sorted(widths)


def parse_depths(spec: str | Iterable[int | None]) -> list[int | None]:
    """Depths from a comma list of whole numbers and/or ``stationary`` (None)."""
    items: Iterable[Any] = _split(spec) if isinstance(spec, str) else spec
    depths: list[int | None] = []
    for d in items:
        value = None if d in (None, "stationary") else check_depth(parse_whole_number(d, "depth"))
        if value not in depths:
            depths.append(value)
    return depths


def parse_names(spec: str | Iterable[str], name: str, choices: Sequence[str]) -> list[str]:
    """A comma list (or ``both``/``all``) of names from ``choices``, without repeats."""
    items = _split(spec) if isinstance(spec, str) else list(spec)
    if items in (["both"], ["all"]):
        return list(choices)
    out: list[str] = []
    for item in items:
        value = check_choice(item, name, choices)
        if value not in out:
            out.append(value)
    return out


def parse_nonlinearities(spec: str | Iterable[str]) -> list[str]:
    """Nonlinearity labels (``tanh``, ``leaky_relu:0.01``), checked against the registry."""
    items = _split(spec) if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for item in items:
        label = get_nonlinearity(item).label
        if label not in out:
            out.append(label)
    return out


def make_grid(
    nonlinearities: str | Iterable[str],
    widths: str | Iterable[int],
    depths: str | Iterable[int | None] = (None,),
    models: str | Iterable[str] = ("network",),
    weights: str | Iterable[str] = ("gaussian",),
    bias_std: float = 0.0,
) -> list[RowKey]:
    """Every grid point, as row keys, in a fixed order (nonlinearity-major)."""
    b = check_nonnegative(bias_std, "bias_std")
    axes = (
        parse_nonlinearities(nonlinearities),
        parse_widths(widths),
        parse_depths(depths),
        parse_names(models, "model", MODELS),
        parse_names(weights, "weights", TABLE_WEIGHTS),
    )
    for axis, name in zip(axes, ("nonlinearities", "widths", "depths", "models", "weights"),
                          strict=True):
        if not axis:
            raise RwinitError(f"no {name} given")
    return [(nl, n, d, m, w, b) for nl, n, d, m, w in itertools.product(*axes)]


def row_seed(seed: int, key: RowKey) -> int:
    """The seed of one grid point: 63 bits of SHA-256 of the base seed and the key.

    A pure function of ``(seed, key)``: the same on every machine, in every process and
    whatever order rows run in, which is what makes tables executor-independent.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise RwinitError(f"seed must be a whole number >= 0, got {seed!r}")
    nl, width, depth, model, weights, bias = key
    text = f"{seed}|{nl}|{width}|{'stationary' if depth is None else depth}|{model}|" \
           f"{weights}|{float(bias)!r}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


__all__ = ["TABLE_WEIGHTS", "make_grid", "parse_depths", "parse_names", "parse_nonlinearities",
           "parse_widths", "row_seed"]
