"""One writer per table file: an advisory lock on a sidecar ``.NAME.lock`` file.

A table is rewritten by atomic rename after every row, so the table file's inode
changes and cannot itself carry a lock. The lock is therefore an exclusive, non-blocking
:func:`fcntl.flock` on a sidecar file ``.NAME.lock`` beside ``NAME`` (docs/design.md,
§ Tables and provenance). A writer holds it from before it looks at the table (the
exists / resume check) until its last write, so two runs on one file cannot both pass
the check, and a second writer is refused at once with one line naming the first
writer's pid.

The sidecar holds the owner's pid and is removed on release. Removal is race-free: a
writer that has locked the sidecar checks that the path still names the file it
locked (same device and inode); if a releasing writer unlinked it meanwhile, it
retries on the new file. ``flock`` locks are released by the kernel when the process
dies, so a killed writer never leaves the table locked; a stale sidecar is reused.

On platforms without :mod:`fcntl` (Windows) the lock is a no-op.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType

from ..errors import RwinitError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class TableLockedError(RwinitError):
    """Another process is writing the table."""


def lock_path(path: str | os.PathLike) -> Path:
    """The sidecar lock file of the table ``path``: ``.NAME.lock`` in its directory."""
    target = Path(path)
    return target.with_name(f".{target.name}.lock")


class TableLock:
    """An exclusive advisory lock on the table ``path`` (a context manager).

    Raises
    ------
    TableLockedError
        (an :class:`RwinitError`) when another process holds the lock.
    RwinitError
        When the lock file cannot be created (e.g. a read-only directory).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.sidecar = lock_path(path)
        self._fd: int | None = None

    def acquire(self) -> TableLock:
        if fcntl is None:  # pragma: no cover
            return self
        for _ in range(100):
            try:
                fd = os.open(self.sidecar, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise RwinitError(f"cannot lock table {os.fspath(self.path)!r}: "
                                  f"{exc.strerror} ({os.fspath(self.sidecar)!r})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                owner = _read_owner(fd)
                os.close(fd)
                who = f"process {owner}" if owner else "another process"
                raise TableLockedError(
                    f"{os.fspath(self.path)!r} is being written by {who} (lock "
                    f"{os.fspath(self.sidecar)!r}); wait for it to finish, then use "
                    "--resume") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.sidecar).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # released and unlinked by its previous owner: lock the new one
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return self
        raise RwinitError(f"cannot lock table {os.fspath(self.path)!r}: "
                          "its lock file keeps changing")  # pragma: no cover

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.unlink(self.sidecar)  # while still holding it: see the module docstring
        with contextlib.suppress(OSError):
            os.close(fd)  # closing releases the flock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> TableLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _read_owner(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text.isdigit() else None
    except (OSError, ValueError):
        return None


__all__ = ["TableLock", "TableLockedError", "lock_path"]
