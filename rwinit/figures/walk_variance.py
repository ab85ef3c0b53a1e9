"""Analysis (b): the walk's variance per layer against 1/N, fitted, against exact theory.

Per layer, Var[ln z] = ψ'(N/2) ≈ 2/N + 2/N² for a linear network and
E_k[ψ'(k/2)] + Var_k[ψ(k/2)] → 4/N + 1/N = 5/N for ReLU (paper model; k ~ Binomial(N, ½)
active units: 4/N from the χ²_k given k, 1/N from the spread of k;
:func:`rwinit.theory.log_z_var`). The next order matters at small N: expanding the exact
value gives 5/N + 18.5/N² + O(1/N³) (N²·(Var − 5/N) = 27.4, 19.96, 18.84, 18.52 at
N = 16, 64, 256, 4096), so at N = 16 the variance is 34% above 5/N.
The walk after D layers has variance D·Var[ln z]/4. Simulated per-layer variances (mean of
the per-layer sample variances over D layers) are fitted by a/N + b/N² (weighted least
squares, N >= 16) and compared with theory;
the ReLU network model (true back-propagation, no closed form; N >= 12, at its depth-D
g*) is shown beside them.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import rwinit
from rwinit import theory

from ._common import Options, color, figure, panel_label, save, track, write_csv

NAME = "walk_variance"
GROUP = "analysis"
DESCRIPTION = "Per-layer variance of the walk against 1/N: simulation, fit and theory."

#: (nonlinearity, model) series of the study; the first two have exact theory.
SERIES = (("linear", "paper"), ("relu", "paper"), ("relu", "network"))


#: Narrowest network-model ReLU walk studied (narrower ones mostly die).
MIN_NETWORK_WIDTH = 12


def _settings(quick: bool) -> dict:
    if quick:
        return dict(widths=[8, 32, 128], depth=20, samples=300)
    return dict(widths=[4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256, 512], depth=50, samples=3000)


def _gain(nl: str, model: str, N: int, depth: int, seed: int) -> float:
    """Exact g* (paper model), or the depth-D network-model g*, for the walk at N."""
    if model == "paper" or nl == "linear":
        return theory.exact_gain(nl, N)
    return rwinit.optimal_gain(nl, N, depth, model=model, samples=256, seed=seed).g


def rows(options: Options) -> list[dict]:
    """Simulated and exact Var[ln z] per layer for every series and width."""
    s = _settings(options.quick)
    out = []
    for nl, model in SERIES:
        for N in track(s["widths"], f"walk_variance {nl} {model}"):
            if model == "network" and N < MIN_NETWORK_WIDTH:
                continue
            g = _gain(nl, model, N, s["depth"], options.seed)
            w = rwinit.simulate_walk(nl, N, s["depth"], gain=g, model=model,
                                     samples=s["samples"], seed=options.seed)
            D = w.layers
            exact = theory.log_z_var(nl, N) if model == "paper" or nl == "linear" else math.nan
            out.append({
                "nonlinearity": nl, "model": model, "width": N, "inverse_width": 1.0 / N,
                "depth": D, "samples": w.samples_used, "dead": w.dead, "gain": w.gain,
                "var_log_z": float(np.mean(w.log_z_var)),
                "var_log_z_se": float(np.sqrt(np.sum(w.log_z_var_se ** 2)) / D),
                "var_from_walk": float(4 * w.walk_var[-1] / D),
                "var_from_walk_se": float(4 * w.walk_var_se[-1] / D),
                "theory": exact,
            })
    return out


#: Narrowest width used in the fit (the two-term expansion is poor below).
MIN_FIT_WIDTH = 16


def fit(rows_: list[dict]) -> tuple[float, float]:
    """Weighted least-squares (a, b) of Var[ln z] ≈ a/N + b/N² over N >= MIN_FIT_WIDTH."""
    rows_ = [r for r in rows_ if r["width"] >= MIN_FIT_WIDTH] or rows_
    x = np.array([r["inverse_width"] for r in rows_])
    y = np.array([r["var_log_z"] for r in rows_])
    w = 1.0 / np.maximum(np.array([r["var_log_z_se"] for r in rows_]), 1e-12)
    A = np.column_stack([x, x * x]) * w[:, None]
    (a, b), *_ = np.linalg.lstsq(A, y * w, rcond=None)
    return float(a), float(b)


def make(out: Path, options: Options) -> list[Path]:
    """Write walk_variance.png, walk_variance.csv and walk_variance_fit.csv."""
    data = rows(options)
    fig, fits = plot(data)
    return [write_csv(out / "walk_variance.csv", data),
            write_csv(out / "walk_variance_fit.csv", fits),
            save(fig, out / "walk_variance.png")]


def plot(data: list[dict]) -> tuple[plt.Figure, list[dict]]:
    """The figure and the fits from the rows of :func:`rows` (numbers, not strings)."""
    fits = []
    fig, (ax_a, ax_b) = figure(2)
    dense = np.unique(np.round(np.geomspace(min(r["width"] for r in data),
                                            max(r["width"] for r in data), 200)).astype(int))
    for nl, model in SERIES:
        pts = [r for r in data if r["nonlinearity"] == nl and r["model"] == model]
        a, b = fit(pts)
        fits.append({"nonlinearity": nl, "model": model, "a": a, "b": b,
                     "theory_a": {"linear": 2.0, "relu": 5.0}[nl] if model == "paper" else "",
                     "widths": " ".join(str(r["width"]) for r in pts
                                        if r["width"] >= MIN_FIT_WIDTH)})
        x = np.array([r["inverse_width"] for r in pts])
        y = np.array([r["var_log_z"] for r in pts])
        se = np.array([r["var_log_z_se"] for r in pts])
        c = color(nl)
        hollow = model == "network"
        label = f"{nl}, {model} model"
        ax_a.errorbar(x, y, yerr=se, fmt="o", ms=4, color=c, mfc="white" if hollow else c,
                      label=f"{label}: simulation")
        ax_a.plot(1.0 / dense, a / dense + b / dense ** 2, color=c, lw=0.8, ls="--",
                  label=f"fit {a:.2f}/N + {b:.1f}/N²")
        ax_b.errorbar(1.0 / x, y / x, yerr=se / x, fmt="o", ms=4, color=c,
                      mfc="white" if hollow else c, label=label)
        if model == "paper":
            exact = np.array([theory.log_z_var(nl, int(N)) for N in dense])
            ax_a.plot(1.0 / dense, exact, color=c, lw=1.2, label=f"{nl}: exact theory")
            ax_b.plot(dense, dense * exact, color=c, lw=1.2)
    ax_a.set(xscale="log", yscale="log", xlabel="1 / N",
             ylabel="Var[ln z] per layer", title="per-layer variance of ln z against 1/N")
    ax_a.legend(fontsize=8.5)
    ax_b.set(xscale="log", xlabel="width N", ylabel="N · Var[ln z]",
             title="N·Var[ln z] → 2 (linear), 5 (ReLU); lines: theory")
    ax_b.legend(fontsize=9)
    panel_label(ax_a, "A")
    panel_label(ax_b, "B")
    return fig, fits
