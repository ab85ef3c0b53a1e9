"""Computing a gain table: one solve per grid point, on any executor, without losing rows.

Rows are independent tasks submitted to a :class:`concurrent.futures.Executor`: a local
process pool by default, a Dask distributed cluster (``Client.get_executor()``) when a
scheduler address is given, or this process (``workers=0``). Each row's seed is
:func:`rwinit.tables.grid.row_seed` of the base seed and the row's key, so the table is
the same whichever executor ran it and in whatever order rows finished.

After every finished row the whole table is rewritten atomically (rows in grid order),
so a run that is interrupted, or killed, keeps every row it finished, and ``resume``
continues from the file, computing only the rows it lacks (docs/design.md, § Tables and
provenance).

Robustness (docs/design.md, § Input validation and resources):

* every argument, the output path and the scheduler address are checked before any
  file is created; an unreachable scheduler fails within
  :data:`SCHEDULER_PROBE_TIMEOUT` seconds, a cluster without workers after
  ``worker_wait`` seconds (:data:`DASK_WORKER_WAIT`);
* one writer per file: :class:`rwinit.tables.lock.TableLock` is held from the
  exists/resume check to the last write, so a second writer is refused (exit 2) rather
  than overwriting the first one's rows, and of two simultaneous fresh starts exactly one
  proceeds; ``resume`` keeps every row of the file, including rows outside this run's
  grid;
* a row whose solve is refused (:class:`RwinitError`, e.g. too much memory) or runs out
  of memory becomes a failed row with its message; it does not stop the run;
* a lost worker process or Dask scheduler, a full disk, or SIGINT/SIGTERM stop the run
  with the finished rows saved; pending rows are cancelled and worker processes
  terminated (they also die with the parent: :func:`rwinit.signals.worker_init`).
"""

from __future__ import annotations

import contextlib
import gc
import math
import multiprocessing
import os
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from .. import _config
from ..errors import RwinitError
from ..progress import progress_bar
from ..signals import worker_init
from ..solver import optimal_gain
from ..validation import check_positive_int, check_samples
from .grid import row_seed
from .io import check_writable, read_table
from .lock import TableLock
from .schema import FAILED_METHOD, RowKey, is_legacy, row_key
from .table import GainTable, new_provenance

#: Provenance settings that must agree for ``resume`` to extend a file.
RESUME_SETTINGS: tuple[str, ...] = ("seed", "samples", "ci_halfwidth", "confidence")

#: Seconds to wait for a Dask scheduler that accepted the TCP connection to answer.
DASK_CONNECT_TIMEOUT: float = 30.0

#: Seconds to wait for a TCP connection to the scheduler before calling it unreachable.
SCHEDULER_PROBE_TIMEOUT: float = 5.0

#: Default seconds to wait for a Dask cluster to have at least one worker.
DASK_WORKER_WAIT: float = 30.0

_ADDRESS = re.compile(r"^(?:(?P<scheme>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+)"
                      r":(?P<port>\d{1,5})/?$")


def compute_row(key: RowKey, seed: int, samples: int | None, ci_halfwidth: float | None,
                confidence: float, threads: int | None = None) -> dict[str, Any]:
    """Solve one grid point; a failed or refused solve becomes a row with ``status="failed"``.

    A module-level function so that process pools and Dask can ship it by reference.
    """
    nl, width, depth, model, weights, bias = key
    seed_r = row_seed(seed, key)
    t0 = time.perf_counter()
    row: dict[str, Any] = dict(nonlinearity=nl, width=width, depth=depth, model=model,
                               weights=weights, bias_std=bias, confidence=confidence,
                               seed=seed_r)
    try:
        r = optimal_gain(nl, width, depth, model=model, weights=weights, bias_std=bias,
                         samples=samples, ci_halfwidth=ci_halfwidth, seed=seed_r,
                         confidence=confidence, threads=threads)
    except (RwinitError, MemoryError) as exc:
        message = str(exc) if isinstance(exc, RwinitError) else "out of memory"
        row.update(g=math.nan, se=math.nan, ci_low=math.nan, ci_high=math.nan,
                   method=FAILED_METHOD, samples=0, evaluations=0, layers=0, dead=0,
                   status="failed", message=message.replace("\n", " "))
    else:
        row.update(g=float(r.g), se=float(r.se), ci_low=float(r.ci_low),
                   ci_high=float(r.ci_high), method=r.method, samples=int(r.samples),
                   evaluations=int(r.evaluations), layers=int(r.layers), dead=int(r.dead),
                   status="ok", message="")
    row["seconds"] = round(time.perf_counter() - t0, 3)
    return row


class InlineExecutor(futures.Executor):
    """Runs each task at submission, in this process (``workers=0``): the same interface,
    no parallelism — for small tables, debugging and tests."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> futures.Future:
        future: futures.Future = futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - delivered through the future
            future.set_exception(exc)
        return future


def check_scheduler(address: str, probe: bool = True) -> str:
    """Check a Dask scheduler address (``[tcp://]HOST:PORT``) and that it accepts a TCP
    connection within :data:`SCHEDULER_PROBE_TIMEOUT` seconds.

    Returns
    -------
    str
        The address, with ``tcp://`` added when it had no scheme.

    Raises
    ------
    RwinitError
        An ill-formed address, or nothing listening there.
    """
    text = str(address).strip()
    if text.startswith("inproc://"):
        return text
    match = _ADDRESS.match(text)
    port = int(match["port"]) if match else 0
    if not match or not 1 <= port <= 65535:
        raise RwinitError(f"scheduler address {address!r} is not of the form "
                          "[tcp://]HOST:PORT (e.g. tcp://127.0.0.1:8786)")
    scheme = match["scheme"] or "tcp"
    if scheme not in ("tcp", "tls", "ws", "wss"):
        raise RwinitError(f"scheduler address {address!r}: unknown protocol {scheme!r}; "
                          "accepted: tcp, tls, ws, wss")
    host = match["host"].strip("[]")
    if probe:
        try:
            with socket.create_connection((host, port), timeout=SCHEDULER_PROBE_TIMEOUT):
                pass
        except OSError as exc:
            reason = exc.strerror or str(exc) or "timed out"
            raise RwinitError(f"cannot connect to Dask scheduler {address!r}: "
                              f"{reason}") from None
    return f"{scheme}://{match['host']}:{port}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _check_handshake(scheduler: str, address: str) -> None:
    """Open one Dask comm to ``address`` (it exchanges handshakes) within
    :data:`SCHEDULER_PROBE_TIMEOUT` seconds, so that a service that is not a Dask
    scheduler is refused in one line, before a ``Client`` (whose clean-up would wait
    60 s) exists."""
    import asyncio

    from distributed.comm import connect

    async def probe() -> None:
        comm = await asyncio.wait_for(connect(address, timeout=SCHEDULER_PROBE_TIMEOUT),
                                      2 * SCHEDULER_PROBE_TIMEOUT)
        await comm.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # MemoryError on garbage, timeouts, comm errors
        why = ("it does not speak the Dask protocol" if isinstance(exc, MemoryError)
               else _first_line(exc))
        raise RwinitError(f"cannot connect to Dask scheduler {scheduler!r}: no Dask "
                          f"scheduler answers there ({why})") from None


def make_executor(workers: int | None = None, scheduler: str | None = None,
                  worker_wait: float = DASK_WORKER_WAIT,
                  ) -> tuple[futures.Executor, Callable[[], None]]:
    """An executor and a function that releases it (and stops its workers).

    Parameters
    ----------
    workers : int, optional
        Local worker processes (default: the number of CPUs); 0 runs rows in this process.
    scheduler : str, optional
        Address of a running Dask distributed scheduler (``tcp://host:8786``); rows then
        run on its workers through ``Client.get_executor()``.
    worker_wait : float
        Seconds to wait for the Dask cluster to have a worker before giving up.
    """
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise RwinitError("--scheduler needs Dask distributed; "
                              "pip install rwinit[dask]") from None
        address = check_scheduler(scheduler)
        if not address.startswith("inproc://"):
            _check_handshake(scheduler, address)
        try:
            client = Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
        except Exception as exc:  # distributed raises many kinds; all mean "no scheduler"
            raise RwinitError(f"cannot connect to Dask scheduler {scheduler!r}: "
                              f"{_first_line(exc)}") from None
        try:
            client.wait_for_workers(1, timeout=worker_wait)
        except (OSError, TimeoutError):
            client.close()
            raise RwinitError(f"the Dask cluster at {scheduler!r} has no workers after "
                              f"{worker_wait:g} s; start some (dask worker {address}) "
                              "or wait longer (--worker-wait)") from None
        executor = client.get_executor(pure=False)

        def close() -> None:
            executor.shutdown(wait=False)
            client.close(timeout=2)

        return executor, close
    if workers == 0:
        return InlineExecutor(), lambda: None
    n = (os.cpu_count() or 1) if workers is None else check_positive_int(workers, "workers")
    # spawn, not fork: Numba's threading layer is not fork-safe
    pool = futures.ProcessPoolExecutor(max_workers=n,
                                       mp_context=multiprocessing.get_context("spawn"),
                                       initializer=worker_init, initargs=(os.getpid(),))
    return pool, lambda: pool.shutdown(wait=True)


def stop_executor(executor: futures.Executor, close: Callable[[], None],
                  pending: Sequence[futures.Future] = ()) -> None:
    """Stop ``executor`` now: cancel what has not started and terminate worker processes
    (a process pool's running rows are lost; finished rows were saved already)."""
    if isinstance(executor, futures.ProcessPoolExecutor):
        # no Future.cancel() here: the pool's manager thread fails every pending future
        # itself when its workers die, and raises (InvalidStateError) on cancelled ones
        processes = list((getattr(executor, "_processes", None) or {}).values())
        for p in processes:
            p.terminate()
        deadline = time.monotonic() + 1.0
        for p in processes:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
        # with its workers gone the pool's manager thread ends at once; joining it lets
        # the pool's queues be freed, so their semaphores are released, not reported as
        # leaked by multiprocessing's resource tracker
        executor.shutdown(wait=True)
        gc.collect()
        return
    for fut in pending:
        fut.cancel()
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # executors without cancel_futures (Dask's)
        executor.shutdown(wait=False)
    close()


def _settings(seed: int, samples: int | None, ci_halfwidth: float | None,
              confidence: float) -> dict[str, Any]:
    if samples is None and ci_halfwidth is None:
        ci_halfwidth = _config.DEFAULT_CI_HALFWIDTH
    return {"seed": seed, "samples": samples, "ci_halfwidth": ci_halfwidth,
            "confidence": confidence,
            "row_seed": "sha256('seed|nonlinearity|width|depth|model|weights|bias_std') "
                        "first 8 bytes >> 1 (rwinit.tables.grid.row_seed)"}


def check_run_settings(seed: int, samples: int | None, ci_halfwidth: float | None,
                       confidence: float, workers: int | None, threads: int | None,
                       worker_wait: float) -> None:
    """Refuse bad run settings with the messages :func:`rwinit.optimal_gain` gives.

    Raises
    ------
    RwinitError
        seed < 0, samples < 2, ci_halfwidth not finite > 0, confidence outside (0, 1),
        workers < 0, threads < 1, worker_wait not finite > 0.
    """
    check_positive_int(seed, "seed", minimum=0)
    if samples is not None:
        check_samples(samples)  # the message of rwinit gain, limit included
    if ci_halfwidth is not None and not (isinstance(ci_halfwidth, (int, float))
                                         and math.isfinite(ci_halfwidth) and ci_halfwidth > 0):
        raise RwinitError(f"ci_halfwidth must be a finite number > 0, got {ci_halfwidth!r}")
    if not (isinstance(confidence, (int, float)) and 0.0 < confidence < 1.0):
        raise RwinitError(f"confidence must be in (0, 1), got {confidence!r}")
    if workers is not None:
        check_positive_int(workers, "workers", minimum=0)
    if threads is not None:
        check_positive_int(threads, "threads")
    if not (isinstance(worker_wait, (int, float)) and math.isfinite(worker_wait)
            and worker_wait > 0):
        raise RwinitError(f"worker_wait must be a finite number of seconds > 0, "
                          f"got {worker_wait!r}")


def build_table(
    grid: Sequence[RowKey],
    out: str | os.PathLike,
    *,
    seed: int = 0,
    samples: int | None = None,
    ci_halfwidth: float | None = None,
    confidence: float = _config.CONFIDENCE,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: futures.Executor | None = None,
    threads: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    command: str | None = None,
    run_order: Callable[[RowKey], Any] | None = None,
    worker_wait: float = DASK_WORKER_WAIT,
) -> GainTable:
    """Compute g* at every grid point and write the table to ``out`` row by row.

    Parameters
    ----------
    grid : sequence of row keys
        From :func:`rwinit.tables.grid.make_grid`.
    out : path
        ``.csv``, ``.json`` or ``.npz``; checked for writability before any computing,
        and locked (:class:`rwinit.tables.lock.TableLock`) for the whole run.
    seed, samples, ci_halfwidth, confidence
        Solver settings shared by every row (see :func:`rwinit.optimal_gain`); each
        row's own seed is derived from ``seed`` and its key.
    workers, scheduler, executor
        Where rows run: ``executor`` if given, else a Dask cluster at ``scheduler``,
        else ``workers`` local processes (0: this process).
    threads : int, optional
        Numba threads per row (results do not depend on it).
    resume : bool
        Continue the table in ``out`` (same settings), computing only missing rows;
        the file's rows outside this grid are kept.
    overwrite : bool
        Replace an existing ``out`` instead of refusing.
    progress : bool
        A progress bar (rows done, time left) on stderr.
    command : str, optional
        The command line, recorded in the provenance.
    run_order : callable, optional
        Sort key for the order rows are *submitted* in (e.g. cheapest first); the file
        always lists rows in grid order.
    worker_wait : float
        Seconds to wait for a Dask cluster to have a worker.

    Returns
    -------
    GainTable
        The finished table (also in ``out``).

    Raises
    ------
    RwinitError
        Bad settings, an unwritable ``out``, another process writing ``out``, an
        existing ``out`` without ``resume``/``overwrite``, a resume with other settings,
        an unreachable scheduler or one without workers (all before any file is
        created); a lost scheduler or worker process, or a failed write (e.g. a full
        disk) during the run, with the finished rows kept in ``out``.
    KeyboardInterrupt
        (SIGINT, or SIGTERM through :mod:`rwinit.signals`) with the finished rows kept
        and the workers stopped; a note on the exception says how many rows were kept.
    """
    check_run_settings(seed, samples, ci_halfwidth, confidence, workers, threads,
                       worker_wait)
    if scheduler is not None and executor is None:
        check_scheduler(scheduler, probe=False)
    path = check_writable(out)
    with TableLock(path):
        return _build_locked(grid, path, out, seed=seed, samples=samples,
                             ci_halfwidth=ci_halfwidth, confidence=confidence,
                             workers=workers, scheduler=scheduler, executor=executor,
                             threads=threads, resume=resume, overwrite=overwrite,
                             progress=progress, command=command, run_order=run_order,
                             worker_wait=worker_wait)


def _build_locked(grid: Sequence[RowKey], path: Path, out: str | os.PathLike, *, seed: int,
                  samples: int | None, ci_halfwidth: float | None, confidence: float,
                  workers: int | None, scheduler: str | None,
                  executor: futures.Executor | None, threads: int | None, resume: bool,
                  overwrite: bool, progress: bool, command: str | None,
                  run_order: Callable[[RowKey], Any] | None,
                  worker_wait: float) -> GainTable:
    name = os.fspath(out)
    settings = _settings(seed, samples, ci_halfwidth, confidence)
    done: dict[RowKey, dict[str, Any]] = {}
    provenance = new_provenance(settings, command)
    if path.exists() and resume:
        rows, old = read_table(path)
        if is_legacy(old):
            raise RwinitError(
                f"cannot resume {name!r}: its checksum does not cover its header (written "
                "by rwinit 0.1.0); re-save it with GainTable.load(path).save(path) after "
                "checking its settings, or start a new table")
        for key in RESUME_SETTINGS:
            if old.get("settings", {}).get(key) != settings[key]:
                raise RwinitError(
                    f"cannot resume {name!r}: it was made with {key}="
                    f"{old.get('settings', {}).get(key)!r}, this run asks for "
                    f"{settings[key]!r}")
        done = {row_key(r): r for r in rows}
        provenance = {**old, "resumed": [*old.get("resumed", []), command]}
    elif path.exists() and not overwrite:
        raise RwinitError(f"{name!r} exists; use --resume to continue it or "
                          "--overwrite to replace it")
    order = list(dict.fromkeys(grid))
    in_grid = set(order)
    extra = [k for k in done if k not in in_grid]
    todo = [k for k in order if k not in done]
    if run_order is not None:
        todo.sort(key=run_order)
    saved = {"rows": len(done)}

    def save() -> None:
        rows = [done[k] for k in order + extra if k in done]
        table = GainTable(rows, {**provenance, "updated": _now()})
        try:
            table.save(path)
        except OSError as exc:
            raise RwinitError(
                f"cannot write table {name!r}: {exc.strerror or exc}; the file keeps the "
                f"{saved['rows']} rows saved before (continue with --resume)") from None
        saved["rows"] = len(rows)

    own = executor is None
    close: Callable[[], None] = lambda: None  # noqa: E731
    if todo and own:
        if threads is None and scheduler is None and workers != 0:
            # share the CPUs between local worker processes (results do not depend on it)
            cpus = os.cpu_count() or 1
            threads = max(1, cpus // min(workers or cpus, len(todo)))
        # connect (or fail) before the first write: a bad scheduler leaves no file
        executor, close = make_executor(
            workers if workers is None else min(workers, len(todo)), scheduler, worker_wait)
    assert executor is not None or not todo
    pending: dict[futures.Future, RowKey] = {}

    def results() -> Any:
        """(key, row) pairs as rows finish; the in-process executor computes them one at
        a time here, so each is saved before the next starts."""
        if isinstance(executor, InlineExecutor):
            for key in todo:
                yield key, compute_row(key, seed, samples, ci_halfwidth, confidence, threads)
            return
        pending.update({executor.submit(compute_row, key, seed, samples, ci_halfwidth,
                                        confidence, threads): key for key in todo})
        for fut in futures.as_completed(pending):
            try:
                yield pending[fut], fut.result()
            except BrokenProcessPool:
                raise RwinitError(
                    f"a worker process died (killed, or out of memory); the "
                    f"{saved['rows']} finished rows are kept in {name!r} "
                    "(continue with --resume)") from None
            except Exception as exc:
                if scheduler is None or not own or isinstance(exc, RwinitError):
                    raise
                first = str(exc).splitlines()[0] if str(exc) else ""
                raise RwinitError(
                    f"lost the Dask scheduler {scheduler!r} ({type(exc).__name__}"
                    f"{': ' + first if first else ''}); the {saved['rows']} finished rows "
                    f"are kept in {name!r} (continue with --resume)") from None

    finished = False
    try:
        save()
        if todo:
            with progress_bar(len(todo), f"table {path.name}", enabled=progress) as bar:
                for key, row in results():
                    done[key] = row
                    save()
                    bar.update(1)
        finished = True
    except KeyboardInterrupt as exc:
        if saved["rows"] < len(done):  # interrupted while saving the last finished row
            with contextlib.suppress(Exception):
                save()
        exc.add_note(f"{saved['rows']} finished rows kept in {name} (continue with --resume)")
        raise
    finally:
        if own and executor is not None and todo:
            if finished:
                close()
            else:
                stop_executor(executor, close, list(pending))
    return GainTable.load(path)


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def table_rows_equal(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]],
                     ignore: Sequence[str] = ("seconds",)) -> bool:
    """True if two row lists match in every column but ``ignore`` (NaN equals NaN)."""
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for column in ra:
            if column in ignore:
                continue
            x, y = ra[column], rb[column]
            same = (isinstance(x, float) and isinstance(y, float) and math.isnan(x)
                    and math.isnan(y)) or x == y
            if not same:
                return False
    return True


__all__ = ["InlineExecutor", "build_table", "check_run_settings", "check_scheduler",
           "compute_row", "make_executor", "stop_executor", "table_rows_equal"]
