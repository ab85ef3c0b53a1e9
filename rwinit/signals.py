"""Ending cleanly on SIGINT and SIGTERM, and worker processes that never outlive their parent.

The contract (docs/design.md, § Input validation and resources): every ``rwinit``
command, sent SIGINT or SIGTERM (by a terminal, or by ``kill`` to its pid alone), ends
within about two seconds, keeps every result it finished, stops its worker processes
and exits with status 128 + signal number (130 for SIGINT, 143 for SIGTERM).

:func:`install` (called once by :func:`rwinit.cli.main`) sets two things up:

* A Python handler for both signals that raises :class:`Interrupted` (a
  :class:`KeyboardInterrupt`) in the main thread, so every ``try/finally`` and
  ``except KeyboardInterrupt`` on the way out runs: a table run cancels its pending
  rows, terminates its workers and has already saved its finished rows; an atomic
  write in progress removes its temporary file.
* A watchdog thread woken at once by :func:`signal.set_wakeup_fd` (the wake-up byte is
  written by the C-level handler, even while the main thread is inside a long Numba
  kernel or a thread-pool join). If the process is still alive :data:`GRACE` seconds
  after the signal, or at a second signal, it kills this process's
  multiprocessing children and ends the process with ``os._exit(128 + signum)``.
  Finished results are never held only in memory (tables are written row by row), so
  this hard stop loses only work in progress.

Worker processes (:func:`worker_init`, the initializer of rwinit's process pools) ignore
SIGINT (their parent decides), and ask the kernel to SIGKILL them when their parent
dies (Linux ``prctl(PR_SET_PDEATHSIG)``), with a thread polling the parent pid as a
fallback elsewhere: a SIGKILLed ``rwinit table`` leaves no worker behind, and hence no
multiprocessing resource tracker either (it exits when the last process holding its
pipe is gone).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import select
import signal
import sys
import threading
import time

#: Seconds between a signal and the watchdog's hard stop.
GRACE: float = 1.5

#: Signals handled by :func:`install`.
SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)

_PR_SET_PDEATHSIG = 1

_state: dict[str, object] = {"installed": False, "signum": None}


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by SIGINT or SIGTERM; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status(exc: BaseException | None = None) -> int:
    """128 + the signal number of ``exc`` (an :class:`Interrupted`), else 130 (SIGINT)."""
    signum = getattr(exc, "signum", None) or _state["signum"] or signal.SIGINT
    return 128 + int(signum)  # type: ignore[call-overload]


def report(command: str, exc: BaseException) -> int:
    """Print one line for an interrupted ``command`` and return its exit status.

    Notes added to the exception (:meth:`BaseException.add_note`, e.g. how many table
    rows were kept) are appended to the line.
    """
    _state["reported"] = True  # the watchdog, if it must still stop us, stays silent
    signum = getattr(exc, "signum", None) or _state["signum"] or signal.SIGINT
    notes = "; ".join(getattr(exc, "__notes__", ()))
    name = signal.Signals(int(signum)).name  # type: ignore[call-overload]
    print(f"rwinit {command}: interrupted ({name})" + (f"; {notes}" if notes else ""),
          file=sys.stderr)
    return exit_status(exc)


def _handler(signum: int, frame: object) -> None:
    if _state["signum"] is None:
        _state["signum"] = signum
        raise Interrupted(signum)
    # a second signal: the watchdog ends the process now; raising again here could
    # break the clean-up that the first one started


def kill_children() -> None:
    """SIGKILL every live multiprocessing child of this process (best effort)."""
    with contextlib.suppress(Exception):
        for child in multiprocessing.active_children():
            with contextlib.suppress(Exception):
                child.kill()


def _watchdog(read_fd: int, grace: float) -> None:
    first: float | None = None
    signum = signal.SIGINT
    while True:
        timeout = None if first is None else max(0.0, first + grace - time.monotonic())
        try:
            ready, _, _ = select.select([read_fd], [], [], timeout)
        except (OSError, ValueError):  # pragma: no cover - the fd was closed
            return
        if ready:
            try:
                data = os.read(read_fd, 64)
            except BlockingIOError:
                continue
            except OSError:  # pragma: no cover
                return
            numbers = [b for b in data if b in SIGNALS]
            if not numbers:
                continue
            if first is None:
                first, signum = time.monotonic(), numbers[0]
                if len(numbers) == 1:
                    continue
        elif first is None:
            continue
        # the grace period is over, or a second signal came: stop now
        kill_children()
        if not _state.get("reported"):
            with contextlib.suppress(Exception):
                sys.stderr.write(f"rwinit: interrupted ({signal.Signals(signum).name}); "
                                 "stopped, work in progress discarded\n")
                sys.stderr.flush()
        os._exit(128 + int(signum))


def install(grace: float = GRACE) -> bool:
    """Install the handlers and the watchdog (main thread only; once per process).

    Returns
    -------
    bool
        True if installed now; False if already installed or not in the main thread.
    """
    if _state["installed"] or threading.current_thread() is not threading.main_thread():
        return False
    for signum in SIGNALS:
        signal.signal(signum, _handler)
    _state["installed"] = True
    if sys.platform == "win32":  # pragma: no cover - wake-up fds must be sockets there
        return True
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    threading.Thread(target=_watchdog, args=(read_fd, grace), name="rwinit-signal-watchdog",
                     daemon=True).start()
    return True


# --- worker processes ------------------------------------------------------------------


def _die_with_parent_linux() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover
        return False


def _watch_parent(parent: int, period: float) -> None:
    while True:
        time.sleep(period)
        if os.getppid() != parent:
            os._exit(1)


def worker_init(parent_pid: int) -> None:
    """Initializer of rwinit's worker processes: never outlive ``parent_pid``.

    Ignores SIGINT (the parent stops its workers), sets ``PR_SET_PDEATHSIG`` to SIGKILL
    on Linux, and polls the parent pid every 0.5 s as a fallback; exits at once if the
    parent is already gone. Creates no semaphore a kill could leak.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent_linux()
    with contextlib.suppress(ImportError):
        # tqdm's default lock is a multiprocessing RLock, registered with the parent's
        # resource tracker; a worker terminated mid-row could not unregister it, and the
        # tracker would warn of a leaked semaphore. Workers draw no bars: a thread lock.
        from tqdm import tqdm

        tqdm.set_lock(threading.RLock())
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid, 0.5), daemon=True,
                     name="rwinit-parent-watch").start()


__all__ = ["GRACE", "Interrupted", "exit_status", "install", "kill_children", "report",
           "worker_init"]
