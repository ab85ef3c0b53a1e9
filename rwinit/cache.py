"""A disk cache of computed answers, so a script that builds the same network pays once.

Entries live in the user's cache directory: ``$RWINIT_CACHE_DIR`` if set, else
``$XDG_CACHE_HOME/rwinit``, else ``~/.cache/rwinit``. An entry's key is the SHA-256 of
every input that determines the answer (for network gains: the :class:`rwinit.network.
Network` key, the propagation model, the method, the seed, the CI target and the sample
count) together with the rwinit version, so a new release never reads an old answer.

Each entry is one JSON file ``<kind>-<key>.json`` holding the key, the inputs, the
answer and a SHA-256 checksum of the answer. It is written with :mod:`rwinit.atomic`
(temporary file, then :func:`os.replace`), so a reader sees a whole entry or none, and
two processes computing the same key at once both write a valid, identical answer; the
last rename wins. An entry that cannot be read, whose key or checksum does not match,
or whose answer the caller rejects, is treated as missing: the answer is recomputed and
the entry rewritten — a corrupt entry is never trusted. A cache directory that cannot be
written (read-only home) only costs the caching, with a :class:`CacheWarning`.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .errors import RwinitError

#: Name written in, and required of, every cache entry.
CACHE_SCHEMA: str = "rwinit.cache"

#: Version of the entry layout.
CACHE_SCHEMA_VERSION: int = 1


class CacheWarning(UserWarning):
    """The cache could not be read or written; the answer was computed anyway."""


def cache_dir() -> Path:
    """The cache directory (not created): ``$RWINIT_CACHE_DIR``, ``$XDG_CACHE_HOME/rwinit``
    or ``~/.cache/rwinit``."""
    explicit = os.environ.get("RWINIT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "rwinit"


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def cache_key(kind: str, inputs: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``kind``, the JSON-serialisable ``inputs`` and the rwinit version."""
    from . import __version__

    if not kind.isidentifier():
        raise RwinitError(f"a cache kind must be an identifier, got {kind!r}")
    text = _canonical({"kind": kind, "inputs": dict(inputs), "rwinit": __version__})
    return hashlib.sha256(text.encode()).hexdigest()


def entry_path(kind: str, key: str) -> Path:
    """Where the entry of ``kind`` and ``key`` lives."""
    return cache_dir() / f"{kind}-{key}.json"


def load(kind: str, key: str) -> dict[str, Any] | None:
    """The cached answer of ``key``, or None when there is none or it is not sound
    (unreadable, not JSON, another key, a checksum mismatch)."""
    path = entry_path(kind, key)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(entry, dict) or entry.get("schema") != CACHE_SCHEMA:
        return None
    if entry.get("schema_version") != CACHE_SCHEMA_VERSION or entry.get("key") != key:
        return None
    answer = entry.get("answer")
    if not isinstance(answer, dict):
        return None
    try:
        checksum = hashlib.sha256(_canonical(answer).encode()).hexdigest()
    except ValueError:
        return None
    if checksum != entry.get("answer_sha256"):
        return None
    return answer


def store(kind: str, key: str, inputs: Mapping[str, Any], answer: Mapping[str, Any]) -> bool:
    """Write an entry atomically; False (with a :class:`CacheWarning`) if it cannot."""
    from . import __version__

    answer = dict(answer)
    text = _canonical(answer)  # NaN/inf are not JSON: the caller writes them as None
    entry = {"schema": CACHE_SCHEMA, "schema_version": CACHE_SCHEMA_VERSION, "key": key,
             "rwinit_version": __version__, "inputs": dict(inputs), "answer": answer,
             "answer_sha256": hashlib.sha256(text.encode()).hexdigest()}
    path = entry_path(kind, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(entry, sort_keys=True, indent=1) + "\n")
    except OSError as exc:
        warnings.warn(f"cannot write the rwinit cache at {path.parent}: {exc}", CacheWarning,
                      stacklevel=3)
        return False
    return True


def cached(
    kind: str,
    inputs: Mapping[str, Any],
    compute: Callable[[], dict[str, Any]],
    *,
    enabled: bool = True,
    accept: Callable[[dict[str, Any]], bool] | None = None,
) -> tuple[dict[str, Any], bool]:
    """The answer for ``inputs``, from the cache or from ``compute()`` (then stored).

    Parameters
    ----------
    kind : str
        What is cached (``"network_gains"``); part of the key and of the file name.
    inputs : mapping
        Every input that determines the answer (JSON-serialisable).
    compute : callable
        Returns the answer as a JSON-serialisable dictionary.
    enabled : bool
        False bypasses the cache entirely (neither read nor written).
    accept : callable, optional
        Extra check of a cached answer (e.g. that it parses); an answer it rejects, or
        raises on, is recomputed and rewritten.

    Returns
    -------
    (answer, hit)
        ``hit`` is True when the answer came from the cache.
    """
    if not enabled:
        return compute(), False
    key = cache_key(kind, inputs)
    answer = load(kind, key)
    if answer is not None:
        try:
            ok = accept is None or bool(accept(answer))
        except Exception:  # a malformed entry must never escape as an error
            ok = False
        if ok:
            return answer, True
    answer = compute()
    store(kind, key, inputs, answer)
    return answer, False


def clear(kind: str | None = None) -> int:
    """Delete the cache's entries (of one ``kind``, or all); returns how many."""
    folder = cache_dir()
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.glob(f"{kind or '*'}-*.json"):
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed


__all__ = ["CACHE_SCHEMA", "CACHE_SCHEMA_VERSION", "CacheWarning", "cache_dir", "cache_key",
           "cached", "clear", "entry_path", "load", "store"]
