"""Figure 4: training error against depth, and against epoch, at g*.

Networks of several depths D under one parameter budget (the width follows from D), tanh
and ReLU, each initialised with its depth-D unbiased gain g* and trained at every
learning rate of a small grid (best final training error kept), for classification
(softmax cross-entropy, error = fraction misclassified) and for the autoencoder
(reconstructing the input, error = mean squared error per input dimension; the inputs
are standardised, so 1 is the error of predicting the mean). Sussillo & Abbott
(arXiv:1412.6558, Fig. 4) show the same on MNIST.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ._common import Options, color, panel_label, save, write_csv
from ._training import best_over_rates, budget_width, load_data, sizes, unbiased_gain

NAME = "figure4"
GROUP = "paper"
DESCRIPTION = "Training error against depth and against epoch at g* (classifier, autoencoder)."

TASKS = ("classify", "autoencode")


def _settings(quick: bool) -> dict:
    if quick:
        return dict(depths=[2, 5], budget=6_000, rates=[0.01], epochs=2)
    return dict(depths=[2, 4, 8, 16, 32, 64], budget=20_000, rates=[0.003, 0.01],
                epochs=15)


def rows(options: Options) -> tuple[list[dict], list[dict]]:
    """Final errors per (task, nonlinearity, depth) and per-epoch curves of the best runs."""
    s = _settings(options.quick)
    data = load_data(options)
    final, curves = [], []
    for task in TASKS:
        for nl in ("tanh", "relu"):
            for D in s["depths"]:
                n_out = sizes(data, 2, 1, task)[-1]
                N = budget_width(D, s["budget"], data.x.shape[1], n_out)
                g = unbiased_gain(nl, N, D, options.seed, samples=64 if options.quick else 256)
                run = best_over_rates(data, nl, D, N, g, s["rates"], s["epochs"], options.seed,
                                      task)
                final.append({"dataset": data.name, "task": task, "nonlinearity": nl,
                              "depth": D, "width": N, "budget": s["budget"], "gain": g,
                              "best_lr": run.lr, "train_error": run.final_error,
                              "diverged": run.diverged, "epochs": s["epochs"]})
                curves += [{"task": task, "nonlinearity": nl, "depth": D, "epoch": e,
                            "train_error": err} for e, err in enumerate(run.errors)]
    return final, curves


def make(out: Path, options: Options) -> list[Path]:
    """Write figure4.png, figure4_depth.csv and figure4_epochs.csv."""
    final, curves = rows(options)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.4), layout="constrained")
    depths = sorted({r["depth"] for r in final})
    shades = plt.cm.viridis(np.linspace(0.0, 0.9, len(depths)))
    ylabel = {"classify": "training error  [%]", "autoencode": "reconstruction MSE"}
    scale = {"classify": 100.0, "autoencode": 1.0}
    for col, task in enumerate(TASKS):
        ax = axes[0, col]
        for nl in ("tanh", "relu"):
            pts = [r for r in final if r["task"] == task and r["nonlinearity"] == nl]
            ax.plot([r["depth"] for r in pts], [scale[task] * r["train_error"] for r in pts],
                    "o-", color=color(nl), label=nl)
        ax.set(xscale="log", xlabel="depth D (width from the parameter budget)",
               ylabel=ylabel[task], title=f"{task}: final training error at g*",
               yscale="log" if task == "autoencode" else "linear")  # a diverged run is huge
        ax.set_xticks(depths, [str(d) for d in depths])
        ax.minorticks_off()
        ax.legend(fontsize=8)
        panel_label(ax, "AB"[col])
        ax = axes[1, col]
        for nl, ls in (("tanh", "-"), ("relu", "--")):
            for D, shade in zip(depths, shades, strict=True):
                pts = [r for r in curves if r["task"] == task and r["nonlinearity"] == nl
                       and r["depth"] == D]
                ax.plot([r["epoch"] for r in pts], [scale[task] * r["train_error"] for r in pts],
                        ls, color=shade, lw=1.2, label=f"{nl}, D = {D}")
        ax.set(xlabel="epoch", ylabel=ylabel[task], yscale="log",
               title=f"{task}: training curves (solid tanh, dashed ReLU)")
        ax.legend(fontsize=6.5, ncol=2)
        panel_label(ax, "CD"[col])
    fig.suptitle(f"{final[0]['dataset']}, ~{final[0]['budget']} weights, "
                 "best of the learning-rate grid", fontsize=10)
    return [write_csv(out / "figure4_depth.csv", final),
            write_csv(out / "figure4_epochs.csv", curves), save(fig, out / "figure4.png")]
