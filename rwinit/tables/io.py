"""Reading and writing gain tables as CSV, JSON or NPZ, chosen by file extension.

Every write is atomic (:func:`rwinit.atomic.atomic_write`): a reader, or a run killed
mid-write, sees either the old file or the new one, never half of one.

Layouts (the rows and provenance of :mod:`rwinit.tables.schema`):

``.csv``
    One comment line ``# rwinit.gain-table {provenance JSON}``, then a header and one
    line per row; floats in shortest round-trip form, depth ``stationary`` or D.
``.json``
    ``{"provenance": {...}, "rows": [{...}, ...]}``; NaN as ``null``, depth ``null``
    for stationary.
``.npz``
    One array per column (depth 0 for stationary) and ``__provenance__``, a 0-d string
    array holding the provenance JSON; read with ``allow_pickle=False``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..atomic import atomic_write
from ..errors import RwinitError
from .schema import COLUMNS, SCHEMA_NAME, validate

#: Supported file extensions.
FORMATS: tuple[str, ...] = ("csv", "json", "npz")

_PROVENANCE_KEY = "__provenance__"


def table_format(path: str | os.PathLike) -> str:
    """The format of ``path`` from its extension.

    Raises
    ------
    RwinitError
        For any other extension.
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise RwinitError(f"unknown table format {Path(path).suffix or '(no extension)'!r} "
                          f"for {os.fspath(path)!r}; use one of "
                          f"{', '.join('.' + f for f in FORMATS)}")
    return suffix


def check_writable(path: str | os.PathLike) -> Path:
    """Fail now, before any computing, if a table cannot be written to ``path``.

    Checks the extension, that the directory exists, and that a file can be created
    in it (by creating and removing a temporary file).
    """
    target = Path(path)
    if target.is_dir():
        raise RwinitError(f"cannot write table {os.fspath(path)!r}: it is a directory")
    table_format(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise RwinitError(f"cannot write table {os.fspath(path)!r}: "
                          f"directory {os.fspath(folder)!r} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise RwinitError(f"cannot write table {os.fspath(path)!r}: {exc.strerror}") from None
    if target.exists() and not os.access(target, os.W_OK):
        raise RwinitError(f"cannot write table {os.fspath(path)!r}: permission denied")
    return target


# --- writers ---------------------------------------------------------------------------


def _csv_value(column: str, v: Any) -> str:
    if column == "depth":
        return "stationary" if v is None else str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else repr(v)
    return str(v)


def _write_csv(f: IO[bytes], rows: Sequence[Mapping], provenance: Mapping) -> None:
    text = io.StringIO(newline="")
    text.write(f"# {SCHEMA_NAME} {json.dumps(provenance, separators=(',', ':'))}\n")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_csv_value(c, row[c]) for c in COLUMNS])
    f.write(text.getvalue().encode())


def _json_value(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


def _write_json(f: IO[bytes], rows: Sequence[Mapping], provenance: Mapping) -> None:
    doc = {"provenance": provenance,
           "rows": [{c: _json_value(row[c]) for c in COLUMNS} for row in rows]}
    f.write(json.dumps(doc, indent=1, allow_nan=False).encode())
    f.write(b"\n")


def _write_npz(f: IO[bytes], rows: Sequence[Mapping], provenance: Mapping) -> None:
    arrays: dict[str, np.ndarray] = {}
    for column, kind in COLUMNS.items():
        values = [row[column] for row in rows]
        if kind == "str":
            arrays[column] = np.array(values, dtype=str) if values else np.array([], dtype="<U1")
        elif kind == "depth":
            arrays[column] = np.array([0 if v is None else v for v in values], dtype=np.int64)
        elif kind == "int":
            arrays[column] = np.array(values, dtype=np.int64)
        else:
            arrays[column] = np.array(values, dtype=np.float64)
    arrays[_PROVENANCE_KEY] = np.array(json.dumps(provenance))
    np.savez(f, **arrays)


_WRITERS = {"csv": _write_csv, "json": _write_json, "npz": _write_npz}


def write_table(path: str | os.PathLike, rows: Sequence[Mapping], provenance: Mapping) -> None:
    """Write ``rows`` and ``provenance`` to ``path`` atomically, in the extension's format."""
    writer = _WRITERS[table_format(path)]
    atomic_write(path, lambda f: writer(f, rows, provenance))


# --- readers ---------------------------------------------------------------------------


def _read_csv(path: Path) -> tuple[list[dict], Any]:
    with open(path, encoding="utf-8", newline="") as f:
        first = f.readline()
        prefix = f"# {SCHEMA_NAME} "
        if not first.startswith(prefix):
            raise RwinitError(f"{os.fspath(path)!r}: no '{prefix.strip()}' provenance line; "
                              "not an rwinit gain table")
        provenance = json.loads(first[len(prefix):])
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise RwinitError(f"{os.fspath(path)!r}: no header line")
        rows = []
        for i, values in enumerate(reader):
            if len(values) != len(header):
                raise RwinitError(f"table row {i}: {len(values)} fields, header has "
                                  f"{len(header)}")
            rows.append(dict(zip(header, values, strict=True)))
    return rows, provenance


def _read_json(path: Path) -> tuple[list[dict], Any]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise RwinitError(f"{os.fspath(path)!r}: not an rwinit gain table "
                          "(no 'rows' list)")
    if not all(isinstance(r, dict) for r in doc["rows"]):
        raise RwinitError(f"{os.fspath(path)!r}: every row must be an object")
    return doc["rows"], doc.get("provenance")


def _read_npz(path: Path) -> tuple[list[dict], Any]:
    with np.load(path, allow_pickle=False) as data:
        if _PROVENANCE_KEY not in data.files:
            raise RwinitError(f"{os.fspath(path)!r}: no provenance; not an rwinit gain table")
        provenance = json.loads(str(data[_PROVENANCE_KEY][()]))
        columns = {name: data[name] for name in data.files if name != _PROVENANCE_KEY}
    lengths = {len(a) for a in columns.values() if a.ndim == 1}
    if len(lengths) > 1 or any(a.ndim != 1 for a in columns.values()):
        raise RwinitError(f"{os.fspath(path)!r}: columns of unequal length")
    n = lengths.pop() if lengths else 0
    return [{name: a[i] for name, a in columns.items()} for i in range(n)], provenance


_READERS = {"csv": _read_csv, "json": _read_json, "npz": _read_npz}


def read_table(path: str | os.PathLike) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Read and validate a table file: ``(rows, provenance)``.

    Raises
    ------
    RwinitError
        An unknown extension, an unreadable file, or one that fails
        :func:`rwinit.tables.schema.validate` (schema, types, ranges, checksum).
    """
    fmt = table_format(path)
    p = Path(path)
    try:
        rows, provenance = _READERS[fmt](p)
    except RwinitError as exc:
        raise RwinitError(f"cannot read table {os.fspath(path)!r}: {exc}") from None
    except FileNotFoundError:
        raise RwinitError(f"cannot read table {os.fspath(path)!r}: no such file") from None
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile,
            UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise RwinitError(f"cannot read table {os.fspath(path)!r}: corrupted or not a "
                          f"{fmt.upper()} gain table ({reason})") from None
    try:
        clean = validate(rows, provenance, source=os.fspath(path))
    except RwinitError as exc:
        raise RwinitError(f"rejected table {os.fspath(path)!r}: {exc}") from None
    return clean, dict(provenance)


__all__ = ["FORMATS", "atomic_write", "check_writable", "read_table", "table_format",
           "write_table"]
