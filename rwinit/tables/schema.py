"""The schema of a gain table: its columns, their types and ranges, and its provenance.

A gain table is a list of rows, one per grid point (nonlinearity, width, depth variant,
propagation model, weight distribution, bias std), each holding the unbiased gain g*
of :func:`rwinit.optimal_gain` with its standard error and cost (docs/design.md,
§ Tables and provenance), plus one file-level provenance record:

``schema``, ``schema_version``
    :data:`SCHEMA_NAME` and :data:`SCHEMA_VERSION`; a loader accepts only these.
``rwinit_version``, ``python``, ``numpy``, ``created``, ``command``
    Who made the file, when, and with which command line.
``settings``
    The solver settings shared by every row (base seed, samples, ci_halfwidth, …).
``n_rows``, ``rows_sha256``
    The row count and a SHA-256 checksum of the rows in the canonical form of
    :func:`canonical_rows`, which is the same for every file format; a corrupted or
    hand-edited file fails it and is rejected, never silently used.
``sha256``
    A SHA-256 checksum of the whole file: the provenance record (every field but this
    one, as sorted-key JSON) followed by the canonical rows (:func:`file_checksum`).
    Editing the header, e.g. its seed, makes the file fail it: a table cannot pass
    for one made with other settings, and ``--resume`` cannot mix rows of two seeds.
    Files written before this field existed (rwinit 0.1.0, such as early copies of
    the shipped default table) carry only ``rows_sha256``: they are read, with their
    rows checked (:func:`is_legacy` tells them apart), but ``--resume`` refuses to
    extend them (docs/design.md, § Tables and provenance).

A row whose solve failed (for instance no root: for tanh at N = 4 the drift m(g) is
negative for every g in the network model) is kept, with ``status = "failed"``, NaN
gains and the solver's message, so the table records the fact and a resumed run does
not retry it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import RwinitError
from ..validation import MODELS
from ..weights import WEIGHT_DISTRIBUTIONS

#: Name written in, and required of, every table file.
SCHEMA_NAME: str = "rwinit.gain-table"

#: Version of the row layout; bump it when columns change meaning.
SCHEMA_VERSION: int = 1

#: Column name -> type ("str", "int", "depth", "float"), in file order.
COLUMNS: dict[str, str] = {
    "nonlinearity": "str",
    "width": "int",
    "depth": "depth",  # a whole number D >= 1, or None (on disk "stationary" / 0) for stationary
    "model": "str",
    "weights": "str",
    "bias_std": "float",
    "g": "float",
    "se": "float",
    "ci_low": "float",
    "ci_high": "float",
    "confidence": "float",
    "method": "str",
    "samples": "int",
    "evaluations": "int",
    "layers": "int",
    "dead": "int",
    "seed": "int",
    "seconds": "float",
    "status": "str",
    "message": "str",
}

#: Columns that identify a grid point; no two rows of a table share them.
KEY_COLUMNS: tuple[str, ...] = ("nonlinearity", "width", "depth", "model", "weights", "bias_std")

#: ``status`` values: a solved row, or one whose solve raised (message kept).
STATUSES: tuple[str, ...] = ("ok", "failed")

#: ``method`` of a failed row.
FAILED_METHOD: str = "none"

RowKey = tuple[str, int, int | None, str, str, float]


def row_key(row: Mapping[str, Any]) -> RowKey:
    """The grid point of a row: ``(nonlinearity, width, depth, model, weights, bias_std)``."""
    return tuple(row[c] for c in KEY_COLUMNS)  # type: ignore[return-value]


def describe_key(key: RowKey) -> str:
    """A short human description of a grid point, for messages."""
    nl, width, depth, model, weights, bias = key
    variant = "stationary" if depth is None else f"depth {depth}"
    bias_text = f", bias_std {bias:g}" if bias else ""
    return f"{nl}, N={width}, {variant}, {model} model, {weights} weights{bias_text}"


def _bad(index: int, column: str, value: Any, need: str) -> RwinitError:
    return RwinitError(f"table row {index}: column {column!r} must be {need}, got {value!r}")


def coerce_row(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Convert one raw row (strings from CSV, JSON scalars, NumPy scalars) to Python types.

    Raises
    ------
    RwinitError
        A missing column, an extra column or a value of the wrong type.
    """
    missing = [c for c in COLUMNS if c not in raw]
    if missing:
        raise RwinitError(f"table row {index}: missing column(s) {', '.join(missing)}")
    extra = [c for c in raw if c not in COLUMNS]
    if extra:
        raise RwinitError(f"table row {index}: unknown column(s) {', '.join(map(str, extra))}")
    row: dict[str, Any] = {}
    for column, kind in COLUMNS.items():
        value = raw[column]
        if hasattr(value, "item") and not isinstance(value, str):
            value = value.item()  # NumPy scalar
        if kind == "str":
            if not isinstance(value, str):
                raise _bad(index, column, value, "text")
            row[column] = str(value)  # not numpy.str_
        elif kind == "int":
            row[column] = _to_int(value, index, column)
        elif kind == "depth":
            if value is None or value == "stationary" or value == 0 or value == "0":
                row[column] = None
            else:
                row[column] = _to_int(value, index, column)
        else:
            row[column] = _to_float(value, index, column)
    return row


def _to_int(value: Any, index: int, column: str) -> int:
    if isinstance(value, bool):
        raise _bad(index, column, value, "a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise _bad(index, column, value, "a whole number")


def _to_float(value: Any, index: int, column: str) -> float:
    if value is None:
        return math.nan  # JSON writes NaN as null
    if isinstance(value, bool):
        raise _bad(index, column, value, "a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(index, column, value, "a number") from None


def check_row(row: Mapping[str, Any], index: int) -> None:
    """Check the ranges of one coerced row.

    Raises
    ------
    RwinitError
        A value out of range: width < 1, unknown model, a solved row without a finite
        positive g inside its interval, a negative standard error, …
    """
    if not row["nonlinearity"]:
        raise _bad(index, "nonlinearity", row["nonlinearity"], "a name")
    if row["width"] < 1:
        raise _bad(index, "width", row["width"], "a whole number >= 1")
    if row["depth"] is not None and row["depth"] < 1:
        raise _bad(index, "depth", row["depth"], "a whole number >= 1 or 'stationary'")
    if row["model"] not in MODELS:
        raise _bad(index, "model", row["model"], f"one of {', '.join(MODELS)}")
    if row["weights"] not in WEIGHT_DISTRIBUTIONS:
        raise _bad(index, "weights", row["weights"], f"one of {', '.join(WEIGHT_DISTRIBUTIONS)}")
    if not (math.isfinite(row["bias_std"]) and row["bias_std"] >= 0):
        raise _bad(index, "bias_std", row["bias_std"], "a finite number >= 0")
    for column in ("samples", "evaluations", "layers", "dead", "seed"):
        if row[column] < 0:
            raise _bad(index, column, row[column], "a whole number >= 0")
    if not (math.isfinite(row["seconds"]) and row["seconds"] >= 0):
        raise _bad(index, "seconds", row["seconds"], "a finite number >= 0")
    if not 0.0 < row["confidence"] < 1.0:
        raise _bad(index, "confidence", row["confidence"], "in (0, 1)")
    if row["status"] not in STATUSES:
        raise _bad(index, "status", row["status"], f"one of {', '.join(STATUSES)}")
    if row["status"] == "ok":
        g, se, lo, hi = row["g"], row["se"], row["ci_low"], row["ci_high"]
        if not (math.isfinite(g) and g > 0):
            raise _bad(index, "g", g, "a finite number > 0")
        if not (math.isfinite(se) and se >= 0):
            raise _bad(index, "se", se, "a finite number >= 0")
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= g <= hi):
            raise _bad(index, "ci_low/ci_high", (lo, hi), f"an interval around g={g!r}")
    elif row["method"] != FAILED_METHOD or not all(
        math.isnan(row[c]) for c in ("g", "se", "ci_low", "ci_high")
    ):
        raise RwinitError(f"table row {index}: a failed row must have method "
                          f"{FAILED_METHOD!r} and NaN g, se, ci_low, ci_high")


def canonical_rows(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """The rows as canonical bytes: one JSON array per row, in :data:`COLUMNS` order.

    Floats are written by ``repr`` (shortest round-trip form) and NaN as ``null``, so
    the bytes, and hence the checksum, are the same whichever format stored the rows.
    """
    lines = []
    for row in rows:
        values = []
        for column in COLUMNS:
            v = row[column]
            values.append(None if isinstance(v, float) and math.isnan(v) else v)
        lines.append(json.dumps(values, allow_nan=False, separators=(",", ":")))
    return "\n".join(lines).encode()


def rows_checksum(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 (hex) of :func:`canonical_rows`."""
    return hashlib.sha256(canonical_rows(rows)).hexdigest()


#: Provenance fields the file checksum does not cover (itself).
_UNCHECKED: tuple[str, ...] = ("sha256",)


def file_checksum(provenance: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 (hex) of the provenance (sorted-key JSON, without ``sha256``), a newline
    and :func:`canonical_rows`: the checksum of the whole file, header included."""
    header = {k: v for k, v in provenance.items() if k not in _UNCHECKED}
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode() + b"\n" + canonical_rows(rows)).hexdigest()


def seal(provenance: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The provenance with ``n_rows``, ``rows_sha256`` and ``sha256`` set for ``rows``."""
    prov = {k: v for k, v in provenance.items() if k not in _UNCHECKED}
    prov["n_rows"] = len(rows)
    prov["rows_sha256"] = rows_checksum(rows)
    prov["sha256"] = file_checksum(prov, rows)
    return prov


def validate(rows: list[Mapping[str, Any]], provenance: Mapping[str, Any],
             source: str = "table") -> list[dict[str, Any]]:
    """Coerce and check every row and the provenance; return the coerced rows.

    Raises
    ------
    RwinitError
        Wrong schema name or version, a bad row, a duplicate grid point, or a row count
        or checksum that does not match the provenance.
    """
    if not isinstance(provenance, Mapping):
        raise RwinitError(f"{source}: no provenance record; not an rwinit gain table")
    if provenance.get("schema") != SCHEMA_NAME:
        raise RwinitError(f"{source}: schema {provenance.get('schema')!r} is not "
                          f"{SCHEMA_NAME!r}; not an rwinit gain table")
    if provenance.get("schema_version") != SCHEMA_VERSION:
        raise RwinitError(f"{source}: schema version {provenance.get('schema_version')!r} "
                          f"is not supported (this rwinit reads version {SCHEMA_VERSION})")
    clean = [coerce_row(raw, i) for i, raw in enumerate(rows)]
    seen: set[RowKey] = set()
    for i, row in enumerate(clean):
        check_row(row, i)
        key = row_key(row)
        if key in seen:
            raise RwinitError(f"table row {i}: duplicate grid point ({describe_key(key)})")
        seen.add(key)
    if provenance.get("n_rows") != len(clean):
        raise RwinitError(f"{source}: {len(clean)} rows but the provenance records "
                          f"{provenance.get('n_rows')!r}; the file is truncated or edited")
    if provenance.get("rows_sha256") != rows_checksum(clean):
        raise RwinitError(f"{source}: the rows do not match their checksum; "
                          "the file is corrupted or was edited by hand")
    if "sha256" in provenance and provenance["sha256"] != file_checksum(provenance, clean):
        raise RwinitError(f"{source}: the provenance header does not match the file "
                          "checksum (sha256); the header (e.g. its seed or settings) is "
                          "corrupted or was edited by hand")
    return clean


def is_legacy(provenance: Mapping[str, Any]) -> bool:
    """True for a file whose checksum covers only its rows (no ``sha256``)."""
    return "sha256" not in provenance


__all__ = [
    "COLUMNS",
    "KEY_COLUMNS",
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "STATUSES",
    "canonical_rows",
    "check_row",
    "coerce_row",
    "describe_key",
    "file_checksum",
    "is_legacy",
    "row_key",
    "rows_checksum",
    "seal",
    "validate",
]
