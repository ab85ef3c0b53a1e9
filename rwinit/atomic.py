"""Atomic file writes: a reader, or a run killed mid-write, sees the old file or the new one.

The content goes to a temporary file in the target's directory, is flushed to disk, and
is moved over the target with :func:`os.replace` (atomic on POSIX and Windows within one
file system). Every file rwinit writes — gain tables, training histories, figures and
their CSV data — goes through here, so nothing a user saved is ever half-written.

Temporaries are named ``.TARGET.PID.XXXXXXXX.tmp``. On any exception (a full disk, a
signal turned into an exception by :mod:`rwinit.signals`) the temporary is removed; a
process killed outright (SIGKILL) cannot remove its own, so each write first removes the
temporaries of the *same target* whose owning process is gone (docs/design.md,
§ Tables and provenance). Temporaries of live processes, and of other targets, are left
alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def _pid_alive(pid: int) -> bool:
    """True if a process ``pid`` exists (ours to signal or not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True
    return True


def _temp_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(name)}\.(\d+)\.[A-Za-z0-9_]+\.tmp$")


def clean_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of ``path`` left by processes that no longer exist.

    Only names of the form ``.NAME.PID.XXXX.tmp`` (this module's own) for this target's
    ``NAME`` are considered, and only those whose ``PID`` is not a running process.

    Returns
    -------
    list of Path
        The files removed.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    pattern = _temp_pattern(target.name)
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = pattern.match(name)
        if match and not _pid_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(folder / name)
                removed.append(folder / name)
    return removed


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then move it onto ``path``.

    A new file gets the permissions ``open()`` would give it (0o666 less the umask); a
    replaced file keeps its own. On any error (including ``KeyboardInterrupt``) the
    temporary file is removed and the target is left untouched; the error (an
    :class:`OSError` such as ``ENOSPC`` for a full disk) propagates to the caller.
    Stale temporaries of the same target, from killed processes, are removed first;
    missing folders of ``path`` are created.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)  # what check_output_file promises
    clean_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.{os.getpid()}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if target.exists():
            with contextlib.suppress(OSError):
                os.chmod(tmp, target.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    data = text.encode("utf-8")
    atomic_write(path, lambda f: f.write(data))


__all__ = ["atomic_write", "atomic_write_text", "clean_stale_temporaries"]
