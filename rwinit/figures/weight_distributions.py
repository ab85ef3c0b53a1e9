"""Analysis (e): how g* depends on the weight distribution.

All distributions have mean 0 and variance g²/fan_in (:data:`rwinit.WEIGHT_DISTRIBUTIONS`):
Gaussian, uniform, truncated normal, orthogonal (scaled) and sparse (k non-zeros per unit).
The walk is sampled with explicit matrices (the rotational shortcut is exact only for
Gaussian weights), stationary variant, network model. For a linear network with
orthogonal weights |δ| is preserved exactly, so g* = 1 at every N; sparse weights make
z heavier-tailed and push g* up.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import rwinit
from rwinit import theory

from ._common import Options, figure, panel_label, save, track, write_csv

NAME = "weight_distributions"
GROUP = "analysis"
DESCRIPTION = "g* for Gaussian, uniform, truncated normal, orthogonal and sparse weights."

DISTRIBUTIONS = ("gaussian", "uniform", "truncated_normal", "orthogonal", "sparse")
NONLINEARITIES = ("linear", "relu", "tanh")
MARKERS = dict(gaussian="o", uniform="s", truncated_normal="D", orthogonal="^", sparse="v")


def _settings(quick: bool) -> dict:
    if quick:
        return dict(widths=[16], samples=32, nonlinearities=("linear", "relu"))
    return dict(widths=[8, 16, 32], samples=128, nonlinearities=NONLINEARITIES)


def sparsity(N: int) -> int:
    """Non-zeros per unit of the sparse weights: a quarter of the fan-in (at least 2)."""
    return max(2, N // 4)


def rows(options: Options) -> list[dict]:
    """g* per nonlinearity, distribution and width (explicit matrices)."""
    s = _settings(options.quick)
    out = []
    for nl in s["nonlinearities"]:
        for dist in track(DISTRIBUTIONS, f"weight_distributions {nl}"):
            for N in s["widths"]:
                k = sparsity(N) if dist == "sparse" else None
                try:
                    r = rwinit.optimal_gain(nl, N, model="network", weights=dist, sparsity=k,
                                            samples=s["samples"], seed=options.seed)
                    g, se, method = r.g, r.se, r.method
                except rwinit.RwinitError:
                    g, se, method = math.nan, math.nan, "no root"
                out.append({"nonlinearity": nl, "weights": dist, "width": N,
                             "sparsity": k or "", "g_star": g, "se": se, "method": method,
                             "samples": s["samples"],
                             "g_mean_field": theory.mean_field_gain(nl)})
    return out


def make(out: Path, options: Options) -> list[Path]:
    """Write weight_distributions.png and weight_distributions.csv."""
    data = rows(options)
    return [write_csv(out / "weight_distributions.csv", data),
            save(plot(data), out / "weight_distributions.png")]


def plot(data: list[dict]) -> plt.Figure:
    """The panels from the rows of :func:`rows` (numbers, not strings)."""
    names = list(dict.fromkeys(r["nonlinearity"] for r in data))
    fig, axes = figure(len(names), width=4.0, height=3.8)
    for i, (ax, nl) in enumerate(zip(np.atleast_1d(axes), names, strict=True)):
        for j, dist in enumerate(DISTRIBUTIONS):
            pts = [r for r in data if r["nonlinearity"] == nl and r["weights"] == dist
                   and math.isfinite(r["g_star"])]
            if not pts:
                continue
            N = np.array([r["width"] for r in pts]) * 1.04 ** (j - 2)
            label = dist.replace("_", " ") + (" (k = N/4)" if dist == "sparse" else "")
            ax.errorbar(N, [r["g_star"] for r in pts], yerr=[1.96 * r["se"] for r in pts],
                        fmt=MARKERS[dist] + "-", ms=4, lw=0.8, capsize=1.5, label=label)
        ax.axhline(data[0]["g_mean_field"] if nl == data[0]["nonlinearity"]
                   else theory.mean_field_gain(nl), color="gray", ls=":", lw=0.8)
        ax.set(xscale="log", xlabel="width N", ylabel="g*", title=f"{nl} (dotted: mean field)")
        widths = sorted({r["width"] for r in data})
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.minorticks_off()
        panel_label(ax, "ABC"[i])
    np.atleast_1d(axes)[0].legend(fontsize=9)
    return fig
