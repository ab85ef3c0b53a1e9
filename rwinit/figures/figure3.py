"""Figure 3: training error against the gain g, under a fixed parameter budget.

For tanh and ReLU networks of several depths D, each with the width N that spends the same
number of weights (:func:`._training.budget_width`), every g of a grid around g* is
trained at each learning rate of a small grid and the lowest final training error kept
(Sussillo & Abbott, arXiv:1412.6558, Fig. 3, on MNIST; here on sklearn's digits unless
MNIST files are given). The depth-D unbiased gain g* of each network is marked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._common import Options, color, figure, panel_label, save, track, write_csv
from ._training import best_over_rates, budget_width, load_data, unbiased_gain

NAME = "figure3"
GROUP = "paper"
DESCRIPTION = "Training error against g for tanh and ReLU under a fixed parameter budget."


def _settings(quick: bool) -> dict:
    if quick:
        return dict(depths=[6], budget=6_000, factors=[0.7, 1.0, 1.4], rates=[0.01],
                    epochs=2)
    return dict(depths=[10, 30], budget=20_000,
                factors=[0.5, 0.7, 0.85, 1.0, 1.15, 1.3, 1.6, 2.0],
                rates=[0.003, 0.01, 0.03], epochs=15)


def rows(options: Options) -> list[dict]:
    """One row per (nonlinearity, depth, g): the best training error over the rates."""
    s = _settings(options.quick)
    data = load_data(options)
    out = []
    for nl in ("tanh", "relu"):
        for D in track(s["depths"], f"figure3 {nl}"):
            N = budget_width(D, s["budget"], data.x.shape[1], data.n_classes)
            g_star = unbiased_gain(nl, N, D, options.seed, samples=64 if options.quick else 256)
            for f in s["factors"]:
                run = best_over_rates(data, nl, D, N, g_star * f, s["rates"], s["epochs"],
                                      options.seed)
                out.append({"dataset": data.name, "nonlinearity": nl, "depth": D, "width": N,
                            "budget": s["budget"], "gain": g_star * f, "g_star": g_star,
                            "gain_over_g_star": f, "best_lr": run.lr,
                            "train_error": run.final_error, "diverged": run.diverged,
                            "epochs": s["epochs"]})
    return out


def make(out: Path, options: Options) -> list[Path]:
    """Write figure3.png and figure3.csv."""
    data = rows(options)
    fig, axes = figure(2, width=5.0, height=3.9)
    depths = sorted({r["depth"] for r in data})
    styles = ["-", "--", ":", "-."]
    for ax, nl, letter in zip(axes, ("tanh", "relu"), "AB", strict=True):
        for i, D in enumerate(depths):
            pts = [r for r in data if r["nonlinearity"] == nl and r["depth"] == D]
            g = np.array([r["gain"] for r in pts])
            err = np.array([r["train_error"] for r in pts])
            line, = ax.plot(g, 100 * err, "o" + styles[i % 4], color=color(nl), ms=4,
                            alpha=1.0 - 0.35 * i,
                            label=f"D = {D}, N = {pts[0]['width']}")
            ax.axvline(pts[0]["g_star"], color=line.get_color(), ls=styles[i % 4], lw=0.8,
                       alpha=1.0 - 0.35 * i)
        ax.set(xlabel="gain g", ylabel="training error  [%]",
               title=f"{nl}: best over learning rates (vertical: g*)")
        ax.legend(fontsize=8, title=f"{data[0]['dataset']}, ~{data[0]['budget']} weights",
                  title_fontsize=7)
        panel_label(ax, letter)
    return [write_csv(out / "figure3.csv", data), save(fig, out / "figure3.png")]
