"""Analysis (d): the infinite-width mean-field critical gain against the finite-width g*.

At infinite width the mean squared growth of |δ| per layer is
χ(g) = g² E[f'(√q* ζ)²] at the forward fixed point q* (Poole et al. 2016; Schoenholz et
al. 2017); the critical gain solves χ = 1 (:func:`rwinit.theory.mean_field_gain`). The
random walk's g* makes E[ln z] = 0 instead of ln E[z] = 0; since E ln z < ln E z
(Jensen) and the gap between them shrinks like Var[ln z]/2 = O(1/N), one expects g*(N)
to approach the mean-field gain from above as N grows. This study shows g*(N)/g_mf − 1
and N·(g*(N)/g_mf − 1), which tends to a constant when the approach is O(1/N)
(stationary variant, network model, Gaussian weights). Measured: linear, ReLU and leaky
ReLU approach from above like 1/N; softplus, tanh, ELU and SELU approach more slowly
(N·excess grows; 0.8%, 4.2%, 5.4% and 6.7% above at N = 512); GELU does not approach
over N ≤ 512 — its g* crosses g_mf between N = 64 and 128 and is 2.8% below it at N = 512, the gap
growing with N.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import rwinit
from rwinit import theory

from ._common import Options, color, figure, panel_label, save, track, write_csv

NAME = "mean_field"
GROUP = "analysis"
DESCRIPTION = "Finite-width g*(N) approaching the infinite-width mean-field critical gain."


def _settings(quick: bool) -> dict:
    if quick:
        return dict(widths=[16, 64], samples=64, nonlinearities=("linear", "relu", "tanh"))
    return dict(widths=[8, 16, 32, 64, 128, 256, 512], samples=192,
                nonlinearities=("linear", "relu", "leaky_relu", "tanh", "elu", "selu",
                                "gelu", "softplus"))


def rows(options: Options) -> list[dict]:
    """g*(N), the mean-field gain and their ratio, per nonlinearity and width."""
    s = _settings(options.quick)
    out = []
    for nl in s["nonlinearities"]:
        g_mf = theory.mean_field_gain(nl)
        for N in track(s["widths"], f"mean_field {nl}"):
            samples = s["samples"] if N <= 128 else max(64, s["samples"] // 2)
            try:
                r = rwinit.optimal_gain(nl, N, model="network", samples=samples,
                                        seed=options.seed)
                g, se, method = r.g, r.se, r.method
            except rwinit.RwinitError:
                g, se, method = math.nan, math.nan, "no root"
            out.append({"nonlinearity": nl, "width": N, "g_star": g, "se": se,
                        "method": method, "samples": samples, "g_mean_field": g_mf,
                        "excess": g / g_mf - 1.0, "excess_se": se / g_mf})
    return out


def make(out: Path, options: Options) -> list[Path]:
    """Write mean_field.png and mean_field.csv."""
    data = rows(options)
    return [write_csv(out / "mean_field.csv", data), save(plot(data), out / "mean_field.png")]


def plot(data: list[dict]) -> plt.Figure:
    """The figure from the rows of :func:`rows` (numbers, not strings)."""
    fig, (ax_a, ax_b) = figure(2, width=5.4, height=4.2)
    for nl in dict.fromkeys(r["nonlinearity"] for r in data):
        pts = [r for r in data if r["nonlinearity"] == nl and math.isfinite(r["g_star"])]
        if not pts:
            continue
        N = np.array([r["width"] for r in pts])
        ex = np.array([r["excess"] for r in pts])
        se = np.array([r["excess_se"] for r in pts])
        g_mf = pts[0]["g_mean_field"]
        kw = dict(fmt="o-", ms=3.5, lw=0.8, capsize=1.5, color=color(nl))
        ax_a.errorbar(N, 100 * ex, yerr=196 * se, label=f"{nl} (g_mf = {g_mf:.4g})", **kw)
        ax_b.errorbar(N, N * ex, yerr=1.96 * N * se, label=nl, **kw)
    ax_a.axhline(0.0, color="gray", lw=0.6)
    ax_a.set(xscale="log", xlabel="width N", ylabel="g*(N) / g_mean-field − 1  [%]",
             title="finite-width g* relative to the mean-field gain (95% CI)")
    ax_a.legend(fontsize=8.5)
    ax_b.axhline(0.0, color="gray", lw=0.6)
    ax_b.set(xscale="log", xlabel="width N", ylabel="N · (g*/g_mf − 1)",
             title="flat where the approach is O(1/N)")
    ax_b.legend(fontsize=9, ncol=2)
    panel_label(ax_a, "A")
    panel_label(ax_b, "B")
    return fig
