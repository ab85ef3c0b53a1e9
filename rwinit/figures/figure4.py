"""Figure 4: training error against depth at g*, with the paper's training recipe.

Networks of depth D = 2 … 128 (D weight layers: D − 1 hidden layers of width N and a
linear read-out) under one parameter budget of ``BUDGET`` weights, so that the width
follows from the depth (:func:`._training.budget_width`; N = 32 at D = 128, N = 1771 at
D = 2). Each network starts from its depth-D unbiased gain g* — the network-model g* of
:func:`rwinit.optimal_gain` for the walk through its D − 1 hidden layers, seeded with the
figure's seed — on every layer, zero biases, and is trained with the recipe of Sussillo &
Abbott (arXiv:1412.6558, §4; :class:`._training.Recipe`): plain minibatch SGD,
depth-exponential per-layer rates between λ_in (first layer of the deepest network) and
λ_out (read-out), a per-epoch multiplicative decay and gradient clipping. λ_out runs over
a small grid per task (``LR_OUT``) with λ_in = ``LR_RATIO``·λ_out; the rate with the
lowest final training error for the first seed is kept per (task, f, D), and two more
seeds are trained at it. A classifier stops early once its training error has been 0 for
``PATIENCE`` epochs in a row (its curve ends there); an autoencoder runs every epoch.

Tasks: classification of sklearn's digits (softmax cross-entropy; error = fraction
misclassified on the training set, as in the paper) and the autoencoder (reconstructing
the standardised input; error = mean squared error per input dimension, so 1 is the
error of predicting the mean). Panels A, B: final training error against depth, every
seed shown, diverged runs marked. Panels D, E: training curves (first seed). Panels C, F:
measured diagnostics of the classifiers — the mean cosine between different inputs' top
hidden pre-activations, and the ratio of the first to the last layer's gradient norm.
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import json
import math
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from rwinit.atomic import atomic_write_text
from rwinit.progress import progress_bar
from rwinit.training import error_reached

from ._common import Options, color, panel_label, save, track, write_csv
from ._training import Recipe, budget_width, load_data, sizes, train_recipe, unbiased_gain

NAME = "figure4"
GROUP = "paper"
DESCRIPTION = ("Training error against depth (2-128) at the depth-D g* under one parameter "
               "budget, the paper's recipe (classifier, autoencoder).")

TASKS = ("classify", "autoencode")
NONLINEARITIES = ("tanh", "relu")

#: Weights of every network of the full figure (N = 32 at D = 128).
BUDGET = 131_072
#: Depths of the full figure.
DEPTHS = (2, 4, 8, 16, 32, 64, 128)
#: λ_in / λ_out of the depth-exponential rates.
LR_RATIO = 10.0
#: Per-epoch multiplicative decay of every rate.
DECAY = 0.995
#: Global-norm gradient clipping.
CLIP = 1.0
#: Seeds per configuration (offsets added to the figure's seed).
SEEDS = 3
#: The λ_out grid of each task (the autoencoder's best rate lay at the top of {0.01, 0.03}).
LR_OUT = {"classify": [0.01, 0.03], "autoencode": [0.01, 0.03, 0.1, 0.3]}
#: A classifier stops once its training error has been 0 for this many epochs in a row
#: (:func:`rwinit.training.error_reached`): the error the figure shows can no longer change.
PATIENCE = 10
#: Environment variable naming a directory that keeps finished runs (resumable full run).
CACHE_ENV = "RWINIT_FIGURE4_CACHE"


def _settings(quick: bool) -> dict:
    if quick:
        return dict(depths=[2, 6], budget=3_000, lr_out={"classify": [0.03], "autoencode": [0.03]},
                    epochs={"classify": 2, "autoencode": 2},
                    batch={"classify": 64, "autoencode": 64}, seeds=2, samples=64, workers=1)
    return dict(depths=list(DEPTHS), budget=BUDGET, lr_out=LR_OUT,
                epochs={"classify": 300, "autoencode": 100},
                batch={"classify": 16, "autoencode": 32}, seeds=SEEDS, samples=256,
                workers=min(2, os.cpu_count() or 1))


def recipe(lr_out: float, max_depth: int, batch_size: int) -> Recipe:
    """The recipe at read-out rate λ_out (λ_in = LR_RATIO·λ_out)."""
    return Recipe(lr_out=lr_out, lr_in=LR_RATIO * lr_out, max_depth=max_depth, decay=DECAY,
                  clip=CLIP, batch_size=batch_size)


def n_weights(depth: int, width: int, n_in: int, n_out: int) -> int:
    """Weights of a depth-D network of width N (biases not counted)."""
    return n_in * width + (depth - 2) * width * width + width * n_out


@functools.lru_cache(maxsize=2)
def _data(options: Options):
    return load_data(options)


def _cache_path(job: dict) -> Path | None:
    """Where a finished run is kept when ``RWINIT_FIGURE4_CACHE`` names a directory."""
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        return None
    key = {k: v for k, v in job.items() if k != "options"}
    key["data_dir"] = job["options"].data_dir
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return Path(folder) / f"figure4-{digest}.json"


def _job(job: dict) -> dict:
    """One training run (top level, so that a process pool can run it).

    With ``RWINIT_FIGURE4_CACHE`` set, a run already in the cache is read back instead of
    trained again (the key is every setting of the run), so an interrupted full run
    resumes where it stopped.
    """
    cache = _cache_path(job)
    if cache is not None and cache.is_file():
        return json.loads(cache.read_text())
    data = _data(job["options"])
    r = recipe(job["lr_out"], job["max_depth"], job["batch"])
    stop = error_reached(0.0, job["patience"]) if job["patience"] else None
    out = train_recipe(data, job["nonlinearity"], job["depth"], job["width"], job["gain"], r,
                       job["epochs"], job["seed"], job["task"], stop=stop)
    result = {**{k: v for k, v in job.items() if k != "options"}, **out}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, json.dumps(result))
    return result


def _run_all(jobs: list[dict], workers: int, desc: str) -> list[dict]:
    """Run ``jobs`` (longest first when in parallel); results in the order of ``jobs``."""
    with progress_bar(len(jobs), desc) as bar:
        if workers <= 1:
            results = []
            for job in jobs:
                results.append(_job(job))
                bar.update(1)
            return results
        order = sorted(range(len(jobs)), key=lambda i: -jobs[i]["depth"] * jobs[i]["epochs"])
        results: list = [None] * len(jobs)
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # no fork after Numba threads started
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(_job, jobs[i]): i for i in order}
            for fut in concurrent.futures.as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.update(1)
        return results


def _score(run: dict) -> tuple:
    return (run["diverged"] or not math.isfinite(run["final_error"]), run["final_error"])


def configurations(options: Options) -> list[dict]:
    """(task, f, D, N, g*) of every network of the figure, g* computed here."""
    s = _settings(options.quick)
    data = _data(options)
    n_in = data.x.shape[1]
    configs = []
    for task in TASKS:
        n_out = sizes(data, 2, 1, task)[-1]
        for nl in NONLINEARITIES:
            for D in track(s["depths"], f"figure4 g* {task} {nl}"):
                N = budget_width(D, s["budget"], n_in, n_out)
                g = unbiased_gain(nl, N, D, options.seed, samples=s["samples"])
                configs.append({"task": task, "nonlinearity": nl, "depth": D, "width": N,
                                "weights": n_weights(D, N, n_in, n_out), "gain": g})
    return configs


def rows(options: Options) -> tuple[list[dict], list[dict], list[dict]]:
    """Final errors per (task, f, D, seed), the learning-rate grid, per-epoch curves."""
    s = _settings(options.quick)
    data = _data(options)
    max_depth = max(s["depths"])
    configs = configurations(options)

    def job(c: dict, lr_out: float, seed: int) -> dict:
        return {**c, "lr_out": lr_out, "seed": seed, "max_depth": max_depth,
                "epochs": s["epochs"][c["task"]], "batch": s["batch"][c["task"]],
                "patience": PATIENCE if c["task"] == "classify" else 0, "options": options}

    grid = _run_all([job(c, lr, options.seed) for c in configs
                     for lr in s["lr_out"][c["task"]]],
                    s["workers"], "figure4 rate grid")
    best = {}
    for run in grid:
        key = (run["task"], run["nonlinearity"], run["depth"])
        if key not in best or _score(run) < _score(best[key]):
            best[key] = run
    extra = _run_all([job(c, best[(c["task"], c["nonlinearity"], c["depth"])]["lr_out"],
                          options.seed + k) for c in configs for k in range(1, s["seeds"])],
                     s["workers"], "figure4 seeds")
    runs = sorted([*best.values(), *extra],
                  key=lambda r: (TASKS.index(r["task"]), r["nonlinearity"], r["depth"],
                                 r["seed"]))
    final, curves = [], []
    for r in runs:
        g1, gD = (r["grad_first"][0], r["grad_first"][-1]) if r["grad_first"] else (0, 0)
        l1, lD = (r["grad_last"][0], r["grad_last"][-1]) if r["grad_last"] else (0, 0)
        final.append({"dataset": data.name, "task": r["task"], "nonlinearity": r["nonlinearity"],
                      "depth": r["depth"], "width": r["width"], "weights": r["weights"],
                      "gain": r["gain"], "seed": r["seed"], "lr_out": r["lr_out"],
                      "lr_in": LR_RATIO * r["lr_out"], "decay": DECAY, "clip": CLIP,
                      "batch": r["batch"], "epochs": r["epochs"],
                      "epochs_done": r["epochs_done"], "stopped": r["stopped"],
                      "train_error": r["final_error"],
                      "diverged": r["diverged"], "cos_top_init": r["cos_init"],
                      "cos_top_final": r["cos_final"],
                      "grad_ratio_first_epoch": g1 / gD if gD else math.nan,
                      "grad_ratio_last_epoch": l1 / lD if lD else math.nan,
                      "seconds": r["seconds"]})
        curves += [{"task": r["task"], "nonlinearity": r["nonlinearity"], "depth": r["depth"],
                    "seed": r["seed"], "epoch": e, "train_error": err}
                   for e, err in enumerate(r["errors"])]
    grid_rows = [{"task": r["task"], "nonlinearity": r["nonlinearity"], "depth": r["depth"],
                  "width": r["width"], "gain": r["gain"], "seed": r["seed"],
                  "lr_out": r["lr_out"], "lr_in": LR_RATIO * r["lr_out"],
                  "train_error": r["final_error"], "diverged": r["diverged"]} for r in grid]
    return final, grid_rows, curves


def make(out: Path, options: Options) -> list[Path]:
    """Write figure4.png, figure4_depth.csv, figure4_grid.csv and figure4_epochs.csv."""
    final, grid, curves = rows(options)
    fig = plot(final, curves, _settings(options.quick)["budget"])
    return [write_csv(out / "figure4_depth.csv", final),
            write_csv(out / "figure4_grid.csv", grid),
            write_csv(out / "figure4_epochs.csv", curves), save(fig, out / "figure4.png")]


def plot(final: list[dict], curves: list[dict], budget: int) -> plt.Figure:
    """The six panels from the rows of :func:`rows` (numbers, not strings)."""
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.4), layout="constrained")
    depths = sorted({r["depth"] for r in final})
    seeds = sorted({r["seed"] for r in final})
    shades = plt.cm.viridis(np.linspace(0.0, 0.9, len(depths)))
    ylabel = {"classify": "training error  [%]", "autoencode": "reconstruction MSE"}
    scale = {"classify": 100.0, "autoencode": 1.0}
    for col, task in enumerate(TASKS):
        ax = axes[0, col]
        for nl, dx in (("tanh", 0.97), ("relu", 1.03)):
            pts = [r for r in final if r["task"] == task and r["nonlinearity"] == nl]
            mean = [np.mean([scale[task] * r["train_error"] for r in pts if r["depth"] == D])
                    for D in depths]
            ax.plot(depths, mean, "-", color=color(nl), lw=1.4,
                    label=f"{nl}: mean of {len(seeds)} seeds (circles: each seed)")
            ok = [r for r in pts if not r["diverged"]]
            ax.plot([dx * r["depth"] for r in ok], [scale[task] * r["train_error"] for r in ok],
                    "o", color=color(nl), ms=4, mfc="none")
            bad = [r for r in pts if r["diverged"]]
            if bad:
                ax.plot([dx * r["depth"] for r in bad],
                        [scale[task] * r["train_error"] for r in bad], "X", color=color(nl),
                        ms=8, label=f"{nl}: diverged (last finite epoch)")
        ax.axhline(0.0, color="gray", lw=0.6)
        if task == "classify":
            ax.axhline(2.0, color="gray", lw=0.6, ls=":")
            ax.text(depths[0], 2.0, "2%", fontsize=8, color="gray", va="bottom")
        ax.set(xscale="log", xlabel="depth D (width from the parameter budget)",
               ylabel=ylabel[task], title=f"{task}: final training error at the depth-D g*")
        ax.set_xticks(depths, [f"{d}\nN={_width(final, task, d)}" for d in depths])
        ax.minorticks_off()
        ax.legend(fontsize=9)
        panel_label(ax, "AB"[col])
        ax = axes[1, col]
        for nl, ls in (("tanh", "-"), ("relu", "--")):
            for D, shade in zip(depths, shades, strict=True):
                pts = [r for r in curves if r["task"] == task and r["nonlinearity"] == nl
                       and r["depth"] == D and r["seed"] == seeds[0]]
                ax.plot([r["epoch"] for r in pts], [scale[task] * r["train_error"] for r in pts],
                        ls, color=shade, lw=1.2, label=f"D = {D}" if nl == "tanh" else None)
        ax.set(xlabel="epoch", ylabel=ylabel[task])
        title = f"{task}: curves, seed {seeds[0]} (solid tanh, dashed ReLU)"
        if task == "classify":
            title += f"\na run stops after {PATIENCE} epochs at 0%"
        pts = [scale[task] * r["train_error"] for r in curves if r["task"] == task
               and r["seed"] == seeds[0]]
        later = [scale[task] * r["train_error"] for r in curves if r["task"] == task
                 and r["seed"] == seeds[0] and r["epoch"] >= 1]
        if later and max(pts) > 2 * max(later):  # an untrained network's huge error
            ax.set_ylim(0.0, 1.1 * max(later))
            title += f"\nepoch 0 up to {max(pts):.3g}, off scale"
        else:
            ax.set_ylim(bottom=0.0)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=9, ncol=2)
        panel_label(ax, "DE"[col])
    ax = axes[0, 2]
    for nl in NONLINEARITIES:
        pts = [r for r in final if r["task"] == "classify" and r["nonlinearity"] == nl
               and r["seed"] == seeds[0]]
        ax.plot([r["depth"] for r in pts], [r["cos_top_init"] for r in pts], "o-",
                color=color(nl), label=f"{nl}, at initialisation")
        ax.plot([r["depth"] for r in pts], [r["cos_top_final"] for r in pts], "s--",
                color=color(nl), label=f"{nl}, after training")
    ax.set(xscale="log", xlabel="depth D", ylabel="mean cos between inputs' top layer",
           title="classifiers: are different inputs still apart?", ylim=(-0.05, 1.05))
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.minorticks_off()
    ax.legend(fontsize=9)
    panel_label(ax, "C")
    ax = axes[1, 2]
    for nl in NONLINEARITIES:
        pts = [r for r in final if r["task"] == "classify" and r["nonlinearity"] == nl
               and r["seed"] == seeds[0]]
        ax.plot([r["depth"] for r in pts], [r["grad_ratio_first_epoch"] for r in pts], "o-",
                color=color(nl), label=f"{nl}, first epoch")
        ax.plot([r["depth"] for r in pts], [r["grad_ratio_last_epoch"] for r in pts], "s--",
                color=color(nl), label=f"{nl}, last epoch")
    ax.axhline(1.0, color="gray", lw=0.6)
    ax.set(xscale="log", yscale="log", xlabel="depth D",
           ylabel=r"$\|\partial L/\partial W_1\| / \|\partial L/\partial W_D\|$",
           title="classifiers: first- to last-layer gradient norm")
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.legend(fontsize=9)
    panel_label(ax, "F")
    f0 = final[0]
    fig.suptitle(f"{f0['dataset']}, ~{budget} weights per network, "
                 f"SGD, per-layer rates λ_in = {LR_RATIO:g}·λ_out, decay {DECAY:g}/epoch, "
                 f"clip {CLIP:g}; best λ_out of the grid per depth", fontsize=11)
    return fig


def _width(final: list[dict], task: str, depth: int) -> int:
    return next(r["width"] for r in final if r["task"] == task and r["depth"] == depth)
