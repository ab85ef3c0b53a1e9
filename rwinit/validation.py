"""Checks of user input shared by the public API and the CLI.

Each check raises :class:`rwinit.errors.RwinitError` with one sentence that names the
problem and the accepted values, and returns the cleaned value.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterable
from numbers import Integral, Real
from pathlib import Path

from .errors import RwinitError

MODELS: tuple[str, ...] = ("paper", "network")


#: The largest whole number a count may be: the kernels index with signed 64-bit integers.
LARGEST_COUNT: int = 2**63 - 1


def check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is a whole number >= ``minimum`` (and at most
    :data:`LARGEST_COUNT`, beyond which no array can be indexed)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        if isinstance(value, Real) and float(value).is_integer():
            value = int(value)
        else:
            raise RwinitError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    if value < minimum:
        raise RwinitError(f"{name} must be a whole number >= {minimum}, got {value}")
    if value > LARGEST_COUNT:
        raise RwinitError(f"{name} must be a whole number between {minimum} and "
                          f"{LARGEST_COUNT:,} (2^63 - 1), got {value:.3g}")
    return int(value)


def parse_whole_number(text: object, name: str) -> int:
    """``int(text)``, also for a whole number written as a float (``"1e3"``, ``"256.0"``);
    RwinitError naming ``name`` for anything else (``"2.5"``, ``"abc"``, ``"inf"``)."""
    try:
        return int(text)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        pass
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value.is_integer()):
        raise RwinitError(f"{name} must be a whole number, got {text!r}")
    return int(value)


def check_width(width: object) -> int:
    """Width N of every layer: a whole number >= 1."""
    return check_positive_int(width, "width")


def check_depth(depth: object) -> int:
    """Depth D of the network: a whole number >= 1."""
    return check_positive_int(depth, "depth")


def check_gain(gain: object, name: str = "gain") -> float:
    """A gain g: a finite real number > 0."""
    try:
        g = float(gain)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RwinitError(f"{name} must be a finite number > 0, got {gain!r}") from None
    if not math.isfinite(g) or g <= 0.0:
        raise RwinitError(f"{name} must be a finite number > 0, got {gain!r}")
    return g


def check_nonnegative(value: object, name: str) -> float:
    """A finite real number >= 0 (e.g. a bias standard deviation)."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RwinitError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if not math.isfinite(x) or x < 0.0:
        raise RwinitError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def check_choice(value: object, name: str, choices: Iterable[str]) -> str:
    """One of a fixed set of names."""
    options = tuple(choices)
    if value not in options:
        raise RwinitError(f"unknown {name} {value!r}; accepted values: {', '.join(options)}")
    return str(value)


def check_model(model: object) -> str:
    """Propagation model: ``paper`` (fresh backward matrix) or ``network`` (true backprop)."""
    return check_choice(model, "model", MODELS)


#: Largest Monte Carlo sample count accepted: beyond it a run takes days at any width.
SAMPLES_LIMIT: int = 10**9


def check_samples(samples: object) -> int:
    """Number of Monte Carlo samples: a whole number in [2, :data:`SAMPLES_LIMIT`].

    Two are needed for a standard error; more than :data:`SAMPLES_LIMIT` would run for
    days (docs/design.md §Input validation and resources).
    """
    message = f"samples must be a whole number between 2 and {SAMPLES_LIMIT:,}, got {samples!r}"
    try:
        m = check_positive_int(samples, "samples", minimum=2)
    except RwinitError:
        raise RwinitError(message) from None
    if m > SAMPLES_LIMIT:
        raise RwinitError(message)
    return m


def check_threads(threads: object) -> int | None:
    """Worker threads: ``None`` (all cores) or a whole number >= 1 (0 is refused, not
    silently read as "all cores")."""
    if threads is None:
        return None
    return check_positive_int(threads, "threads")


def check_range(value: object, name: str, low: float, high: float, *,
                low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number in the interval from ``low`` to ``high`` (open ends as asked)."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RwinitError(f"{name} must be a number in {interval}, got {value!r}") from None
    ok = (math.isfinite(x) and (x > low if low_open else x >= low)
          and (x < high if high_open else x <= high))
    if not ok:
        raise RwinitError(f"{name} must be a number in {interval}, got {value!r}")
    return x


# --- resources -------------------------------------------------------------------------

#: Fraction of the machine's physical memory one run may plan to use.
MEMORY_FRACTION: float = 0.8


def physical_memory() -> int:
    """Bytes of physical memory of this machine (0 if the OS does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 0


def memory_limit() -> int:
    """Bytes a run may plan to use: :data:`MEMORY_FRACTION` of the physical memory."""
    total = physical_memory()
    return int(MEMORY_FRACTION * total) if total else 2**62


def format_bytes(n: float) -> str:
    """``1536`` → ``"1.5 KiB"``; powers of 1024 up to TiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def check_memory(need: int, what: str, advice: str) -> int:
    """Refuse a run that would need more than :func:`memory_limit` bytes.

    The message names the need, the limit and what to change (``advice``).
    """
    limit = memory_limit()
    if need > limit:
        raise RwinitError(
            f"{what} would need about {format_bytes(need)}, more than the limit of "
            f"{format_bytes(limit)} ({MEMORY_FRACTION:.0%} of this machine's memory); {advice}"
        )
    return need


# --- output files ----------------------------------------------------------------------


def check_output_file(path: str | os.PathLike, what: str,
                      suffixes: Iterable[str] | None = None) -> Path:
    """Check, before any work, that ``path`` can be written as a regular file.

    Refused: a suffix not in ``suffixes`` (e.g. ``.json``, ``.csv``), a path that is a
    directory or a special file (a device such as ``/dev/full``, which an atomic rename
    would replace), a parent that is a file, and a folder where a file cannot be created
    or written (read-only, full). The probe writes and removes a temporary file in the
    target's folder (or, if that is still to be created, its first existing ancestor), as
    the atomic writer will (``rwinit/atomic.py``).
    """
    target = Path(path)
    if target.is_dir():
        raise RwinitError(f"{what} {target} is a directory; give a file name")
    if target.exists() and not target.is_file():
        raise RwinitError(f"{what} {target} is not a regular file (a device or a pipe); "
                          "give a file name")
    if suffixes is not None:
        accepted = tuple(suffixes)
        if target.suffix.lower() not in accepted:
            got = repr(target.suffix) if target.suffix else "no suffix"
            raise RwinitError(f"{what} {target} must end in {' or '.join(accepted)} "
                              f"(the suffix sets the format), got {got}")
    folder = target.parent if str(target.parent) else Path(".")
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # missing folders are created at write time: probe the first
    if not folder.is_dir():
        raise RwinitError(f"cannot write {what} {target}: {folder} is not a directory")
    probe_folder(folder, f"cannot write {what} {target}", prefix=f".{target.name}.")
    return target


def probe_folder(folder: Path, failure: str, *, prefix: str = ".rwinit.",
                 size: int = 4096) -> None:
    """Write, sync and remove ``size`` bytes in ``folder``, as the atomic writer will.

    Raises :class:`RwinitError` ``"{failure}: {reason}"`` where a file cannot be created or
    written there (read-only, full disk).
    """
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".probe")
    except OSError as exc:
        raise RwinitError(f"{failure}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"\0" * size)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise RwinitError(f"{failure}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
