"""The training loop: minibatch steps, per-epoch statistics, history files.

Per epoch it records the training loss and error on the whole training set, the mean
minibatch loss, and per layer the geometric mean over the epoch's steps of ‖∂L/∂W_d‖
and of ‖δ_d‖ — the log-norm random walk of Sussillo & Abbott (arXiv:1412.6558, §2)
measured in the network being trained. Entry 0 of the history is the network before
training. A non-finite loss or parameter stops the run; the history and parameters of
the last good epoch are kept.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_text
from ..errors import RwinitError
from ..progress import progress_bar
from ..validation import check_choice, check_output_file, check_positive_int
from ..weights import as_generator
from .data import Dataset
from .losses import classification_error, get_loss
from .network import Network, Params, frobenius_norm
from .optimizers import GradientTransformation, apply_updates
from .stopping import StoppingRule

TASKS: tuple[str, ...] = ("classify", "autoencode")

#: History file formats, by suffix: the full summary as JSON, or one CSV row per epoch.
HISTORY_SUFFIXES: tuple[str, ...] = (".json", ".csv")


@dataclass
class TrainResult:
    """Outcome of :func:`train`."""

    params: Params
    history: list[dict[str, Any]]
    diverged: bool = False
    message: str = ""
    seconds: float = 0.0
    steps: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    #: Why the history file could not be written ("" if it was, or none was asked for).
    history_error: str = ""
    #: Why the stopping rule ended training before ``epochs`` ("" if it did not).
    stopped: str = ""

    @property
    def epochs(self) -> int:
        """Epochs completed (the history's last entry)."""
        return int(self.history[-1]["epoch"]) if self.history else 0

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: final train_error and loss, epochs, seconds, diverged, history."""
        last = self.history[-1] if self.history else {}
        return {
            "train_error": last.get("train_error"),
            "loss": last.get("loss"),
            "epochs": self.epochs,
            "steps": self.steps,
            "seconds": self.seconds,
            "diverged": self.diverged,
            "message": self.message,
            "stopped": self.stopped,
            "config": self.config,
            "history": self.history,
        }


def _evaluate(
    network: Network, params: Params, data: Dataset, task: str, chunk: int = 4096
) -> tuple[float, float]:
    """Loss and error on the whole data set (error = loss for the autoencoder)."""
    loss_fn = get_loss("cross_entropy" if task == "classify" else "mse")
    total_loss, total_err, n = 0.0, 0.0, data.x.shape[0]
    for start in range(0, n, chunk):
        xb = data.x[start : start + chunk]
        out = network.predict(params, xb)
        target = data.y[start : start + chunk] if task == "classify" else xb
        loss, _ = loss_fn(out.astype(np.float64), target)
        total_loss += loss * xb.shape[0]
        if task == "classify":
            total_err += classification_error(out, target) * xb.shape[0]
    loss = total_loss / n
    return loss, (total_err / n if task == "classify" else loss)


def _finite(params: Params) -> bool:
    return all(np.isfinite(p).all() for p in params)


def _blas_limit(threads: int | None) -> contextlib.AbstractContextManager:
    """Limit the BLAS thread pools to ``threads`` inside the block (no-op for None)."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=check_positive_int(threads, "blas_threads"),
                             user_api="blas")


def train(
    network: Network,
    params: Params,
    optimizer: GradientTransformation,
    data: Dataset,
    *,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator | int | None = 0,
    task: str = "classify",
    progress: bool = True,
    history_path: str | os.PathLike | None = None,
    config: dict[str, Any] | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    blas_threads: int | None = 1,
    stop: StoppingRule | None = None,
) -> TrainResult:
    """Train ``params`` of ``network`` on ``data`` with minibatch steps of ``optimizer``.

    Parameters
    ----------
    network, params
        The network and its initial parameters (not modified).
    optimizer : GradientTransformation
        E.g. ``rwinit.training.optimizers.adam(1e-3)``.
    data : Dataset
        Inputs and labels.
    epochs, batch_size : int
        Passes over the data; rows per step (the last, partial batch of an epoch is
        dropped so that every step has the same size).
    rng : numpy.random.Generator or int
        Shuffles the data each epoch.
    task : {"classify", "autoencode"}
        Softmax cross-entropy on the labels, or mean squared error reconstructing x.
    history_path : path, optional
        Where to write the history after every epoch, atomically; the suffix picks the
        format (``.json``: the full summary, ``.csv``: one row per epoch). Checked before
        training (suffix, folder, writable); if a write fails later (a full disk), the
        run goes on and ``result.history_error`` says why.
    blas_threads : int or None
        BLAS threads while training (through ``threadpoolctl``). The default, 1, makes a
        run a function of its seed alone: a multi-threaded BLAS splits the sums of a
        matrix product differently for different thread counts, and a deep network
        amplifies those last-bit differences into different trajectories. ``None``
        leaves the BLAS library's own setting.
    stop : callable, optional
        A stopping rule (:mod:`rwinit.training.stopping`), called with the history after
        every epoch; training ends when it returns a non-empty reason, which goes to
        ``result.stopped``. E.g. ``stopping.error_reached(0.0, patience=10)``.

    Returns
    -------
    TrainResult
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if history_path is not None:  # before any work: a run is never lost to its history file
        check_output_file(history_path, "history", HISTORY_SUFFIXES)
    check_choice(task, "task", TASKS)
    network.check_params(params)
    n = data.x.shape[0]
    if task == "autoencode" and network.sizes[-1] != data.x.shape[1]:
        raise RwinitError("an autoencoder's output size must equal its input size")
    if task == "classify" and network.sizes[-1] != data.n_classes:
        raise RwinitError(f"output size {network.sizes[-1]} != number of classes {data.n_classes}")
    batch_size = min(batch_size, n)
    steps_per_epoch = n // batch_size
    rng = as_generator(rng)
    loss_fn = get_loss("cross_entropy" if task == "classify" else "mse")
    x_all = data.x.astype(network.dtype)
    depth = network.depth

    t0 = time.perf_counter()
    loss0, err0 = _evaluate(network, params, data, task)
    history: list[dict[str, Any]] = [
        {"epoch": 0, "step": 0, "loss": loss0, "train_error": err0, "seconds": 0.0}
    ]
    result = TrainResult(list(params), history, config=dict(config or {}))
    state = optimizer.init(params)
    step = 0
    # overflow is detected and reported as divergence below, not warned about
    with progress_bar(epochs, "train", enabled=progress) as bar, np.errstate(
        over="ignore", invalid="ignore"
    ), _blas_limit(blas_threads):
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n)
            log_grad = np.zeros(depth)
            log_delta = np.zeros(depth)
            delta_norms = np.empty(depth)
            batch_losses = 0.0
            bad = ""
            for s in range(steps_per_epoch):
                idx = order[s * batch_size : (s + 1) * batch_size]
                xb = x_all[idx]
                target = data.y[idx] if task == "classify" else xb
                out, cache = network.forward(params, xb)
                loss, delta = loss_fn(out, target)
                if not math.isfinite(loss):
                    bad = f"minibatch loss is {loss}"
                    break
                grads = network.backward(params, cache, delta, delta_norms)
                updates, state = optimizer.update(grads, state, params)
                params = apply_updates(params, updates)
                step += 1
                batch_losses += loss
                with np.errstate(divide="ignore"):
                    log_grad += np.log([frobenius_norm(grads[2 * d]) for d in range(depth)])
                    log_delta += np.log(delta_norms)
            if not bad and not _finite(params):
                bad = "a parameter is not finite"
            if not bad:
                loss_e, err_e = _evaluate(network, params, data, task)
                if not math.isfinite(loss_e):
                    bad = f"training loss is {loss_e}"
            if bad:
                result.diverged = True
                result.message = (
                    f"diverged in epoch {epoch} (step {step + 1}): {bad}; history and "
                    f"parameters kept up to epoch {epoch - 1}"
                )
                break
            record = {
                "epoch": epoch,
                "step": step,
                "loss": loss_e,
                "train_error": err_e,
                "batch_loss": batch_losses / steps_per_epoch,
                "seconds": time.perf_counter() - t0,
                "grad_norms": np.exp(log_grad / steps_per_epoch).tolist(),
                "delta_norms": np.exp(log_delta / steps_per_epoch).tolist(),
            }
            history.append(record)
            result.params = params
            result.steps = step
            bar.update(1)
            bar.set_postfix(loss=f"{loss_e:.4g}", err=f"{err_e:.3f}", refresh=False)
            if callback is not None:
                callback(record)
            if history_path is not None and not result.history_error:
                _save_or_note(history_path, result)
            if stop is not None and epoch < epochs:
                result.stopped = stop(history)
                if result.stopped:
                    break
    result.seconds = time.perf_counter() - t0
    if history_path is not None and not result.history_error:
        _save_or_note(history_path, result)
    return result


def _save_or_note(path: str | os.PathLike, result: TrainResult) -> None:
    """Save the history; if the file cannot be written (a full disk), note why in
    ``result.history_error`` and go on training, so that the run itself is not lost."""
    try:
        save_history(path, result)
    except RwinitError as exc:
        result.history_error = str(exc)


def history_csv(history: list[dict[str, Any]]) -> str:
    """The history as CSV: one row per epoch, per-layer norms as grad_norm_d, delta_norm_d."""
    depth = max((len(r.get("grad_norms", [])) for r in history), default=0)
    scalar = ["epoch", "step", "loss", "train_error", "batch_loss", "seconds"]
    header = scalar + [f"grad_norm_{d + 1}" for d in range(depth)]
    header += [f"delta_norm_{d + 1}" for d in range(depth)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in history:
        row = [r.get(k, "") for k in scalar]
        row += list(r.get("grad_norms", [""] * depth)) + list(r.get("delta_norms", [""] * depth))
        writer.writerow(row)
    return buf.getvalue()


def save_history(path: str | os.PathLike, result: TrainResult) -> None:
    """Save the history as JSON (the full summary) or CSV (by the file suffix), atomically.

    Raises
    ------
    RwinitError
        If the file cannot be written (one line naming the path and the OS error).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".csv":
            atomic_write_text(path, history_csv(result.history))
        else:
            atomic_write_text(path, json.dumps(result.summary(), indent=1) + "\n")
    except OSError as exc:
        raise RwinitError(f"cannot write the history {path}: {exc.strerror or exc}") from None
