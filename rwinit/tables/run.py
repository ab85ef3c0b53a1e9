"""Computing a gain table: one solve per grid point, on any executor, without losing rows.

Rows are independent tasks submitted to a :class:`concurrent.futures.Executor`: a local
process pool by default, a Dask distributed cluster (``Client.get_executor()``) when a
scheduler address is given, or this process (``workers=0``). Each row's seed is
:func:`rwinit.tables.grid.row_seed` of the base seed and the row's key, so the table is
the same whichever executor ran it and in whatever order rows finished.

After every finished row the whole table is rewritten atomically (rows in grid order),
so a run that is interrupted, or killed, keeps every row it finished, and ``resume``
continues from the file, computing only the rows it lacks.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from pathlib import Path
from typing import Any

from .. import _config
from ..errors import RwinitError
from ..progress import progress_bar
from ..solver import optimal_gain
from .grid import row_seed
from .io import check_writable, read_table
from .schema import FAILED_METHOD, RowKey, row_key
from .table import GainTable, new_provenance

#: Provenance settings that must agree for ``resume`` to extend a file.
RESUME_SETTINGS: tuple[str, ...] = ("seed", "samples", "ci_halfwidth", "confidence")

#: Seconds to wait for a Dask scheduler before giving up.
DASK_CONNECT_TIMEOUT: float = 30.0


def compute_row(key: RowKey, seed: int, samples: int | None, ci_halfwidth: float | None,
                confidence: float, threads: int | None = None) -> dict[str, Any]:
    """Solve one grid point; a failed solve becomes a row with ``status="failed"``.

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
    except RwinitError as exc:
        row.update(g=math.nan, se=math.nan, ci_low=math.nan, ci_high=math.nan,
                   method=FAILED_METHOD, samples=0, evaluations=0, layers=0, dead=0,
                   status="failed", message=str(exc))
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
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            future.set_exception(exc)
        return future


def make_executor(workers: int | None = None,
                  scheduler: str | None = None) -> tuple[futures.Executor, Callable[[], None]]:
    """An executor and a function that releases it.

    Parameters
    ----------
    workers : int, optional
        Local worker processes (default: the number of CPUs); 0 runs rows in this process.
    scheduler : str, optional
        Address of a running Dask distributed scheduler (``tcp://host:8786``); rows then
        run on its workers through ``Client.get_executor()``.
    """
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise RwinitError("--scheduler needs Dask distributed; "
                              "pip install rwinit[dask]") from None
        try:
            client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise RwinitError(f"cannot connect to Dask scheduler {scheduler!r}: {exc}") from None
        executor = client.get_executor(pure=False)

        def close() -> None:
            executor.shutdown(wait=False)
            client.close()

        return executor, close
    if workers == 0:
        return InlineExecutor(), lambda: None
    n = (os.cpu_count() or 1) if workers is None else workers
    if n < 0:
        raise RwinitError(f"workers must be a whole number >= 0, got {workers}")
    # spawn, not fork: Numba's threading layer is not fork-safe
    pool = futures.ProcessPoolExecutor(max_workers=n,
                                       mp_context=multiprocessing.get_context("spawn"))
    return pool, lambda: pool.shutdown(wait=False, cancel_futures=True)


def _settings(seed: int, samples: int | None, ci_halfwidth: float | None,
              confidence: float) -> dict[str, Any]:
    if samples is None and ci_halfwidth is None:
        ci_halfwidth = _config.DEFAULT_CI_HALFWIDTH
    return {"seed": seed, "samples": samples, "ci_halfwidth": ci_halfwidth,
            "confidence": confidence,
            "row_seed": "sha256('seed|nonlinearity|width|depth|model|weights|bias_std') "
                        "first 8 bytes >> 1 (rwinit.tables.grid.row_seed)"}


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
) -> GainTable:
    """Compute g* at every grid point and write the table to ``out`` row by row.

    Parameters
    ----------
    grid : sequence of row keys
        From :func:`rwinit.tables.grid.make_grid`.
    out : path
        ``.csv``, ``.json`` or ``.npz``; checked for writability before any computing.
    seed, samples, ci_halfwidth, confidence
        Solver settings shared by every row (see :func:`rwinit.optimal_gain`); each
        row's own seed is derived from ``seed`` and its key.
    workers, scheduler, executor
        Where rows run: ``executor`` if given, else a Dask cluster at ``scheduler``,
        else ``workers`` local processes (0: this process).
    threads : int, optional
        Numba threads per row (results do not depend on it).
    resume : bool
        Continue the table in ``out`` (same settings), computing only missing rows.
    overwrite : bool
        Replace an existing ``out`` instead of refusing.
    progress : bool
        A progress bar (rows done, time left) on stderr.
    command : str, optional
        The command line, recorded in the provenance.
    run_order : callable, optional
        Sort key for the order rows are *submitted* in (e.g. cheapest first); the file
        always lists rows in grid order.

    Returns
    -------
    GainTable
        The finished table (also in ``out``).
    """
    path = check_writable(out)
    settings = _settings(seed, samples, ci_halfwidth, confidence)
    done: dict[RowKey, dict[str, Any]] = {}
    provenance = new_provenance(settings, command)
    if path.exists() and resume:
        rows, old = read_table(path)
        for name in RESUME_SETTINGS:
            if old.get("settings", {}).get(name) != settings[name]:
                raise RwinitError(
                    f"cannot resume {os.fspath(out)!r}: it was made with {name}="
                    f"{old.get('settings', {}).get(name)!r}, this run asks for "
                    f"{settings[name]!r}")
        done = {row_key(r): r for r in rows}
        provenance = {**old, "resumed": [*old.get("resumed", []), command]}
    elif path.exists() and not overwrite:
        raise RwinitError(f"{os.fspath(out)!r} exists; use --resume to continue it or "
                          "--overwrite to replace it")
    order = list(dict.fromkeys(grid))
    extra = [k for k in done if k not in set(order)]
    todo = [k for k in order if k not in done]
    if run_order is not None:
        todo.sort(key=run_order)

    def save() -> None:
        rows = [done[k] for k in order + extra if k in done]
        table = GainTable(rows, {**provenance, "updated": _now()})
        table.save(path)

    save()
    if todo:
        own = executor is None
        close: Callable[[], None] = lambda: None  # noqa: E731
        if own and threads is None and scheduler is None and workers != 0:
            # share the CPUs between local worker processes (results do not depend on it)
            cpus = os.cpu_count() or 1
            threads = max(1, cpus // min(workers or cpus, len(todo)))
        if own:
            executor, close = make_executor(
                workers if workers is None else min(workers, len(todo)), scheduler)
        pending: dict[futures.Future, RowKey] = {}
        try:
            with progress_bar(len(todo), f"table {Path(out).name}", enabled=progress) as bar:
                pending = {executor.submit(compute_row, key, seed, samples, ci_halfwidth,
                                           confidence, threads): key for key in todo}
                for fut in futures.as_completed(pending):
                    row = fut.result()
                    done[pending[fut]] = row
                    save()
                    bar.update(1)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
        finally:
            close()
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


__all__ = ["InlineExecutor", "build_table", "compute_row", "make_executor",
           "table_rows_equal"]
