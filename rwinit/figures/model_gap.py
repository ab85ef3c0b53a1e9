"""Analysis (c): the gap between the ``paper`` and ``network`` propagation models' g*.

The paper's analysis back-propagates through a matrix independent of the forward one
(``paper`` model); a real network uses the same W_d both ways (``network`` model), which
correlates the mask f'(a_d) with W_d (docs/design.md, § Propagation models). This study
measures (g*_network − g*_paper)/g*_paper against N for the ten nonlinearities of the
shipped tables (stationary variant, Gaussian weights; both models share the seed, and the
intervals add the two standard errors in quadrature, which is conservative).
Measured: zero within the CI for the ReLU family, GELU and SiLU, −0.6% for softplus,
3.6% at N = 32 falling to 0.7% at N = 128 for sigmoid; large for tanh, ELU and SELU (46%
for SELU and 41% for ELU at N = 8, 15% for tanh at N = 16, still 6–10% at N = 128), and
for these N·gap grows with N, so the gap shrinks more slowly than 1/N over N ≤ 128.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import rwinit
from rwinit.nonlinearities import TABLE_NONLINEARITIES

from ._common import Options, color, figure, panel_label, save, track, write_csv

NAME = "model_gap"
GROUP = "analysis"
DESCRIPTION = "Relative gap between paper-model and network-model g* against N, all f."


def _settings(quick: bool) -> dict:
    if quick:
        return dict(widths=[16, 64], samples=64, nonlinearities=("linear", "relu", "tanh"))
    return dict(widths=[8, 16, 32, 64, 128], samples=192,
                nonlinearities=TABLE_NONLINEARITIES)


def _solve(nl: str, N: int, model: str, samples: int, seed: int) -> rwinit.GainResult | None:
    try:
        return rwinit.optimal_gain(nl, N, model=model, samples=samples, seed=seed)
    except rwinit.RwinitError:
        return None


def rows(options: Options) -> list[dict]:
    """g* of both models, and their relative gap, per nonlinearity and width."""
    s = _settings(options.quick)
    out = []
    for nl in s["nonlinearities"]:
        for N in track(s["widths"], f"model_gap {nl}"):
            r = {m: _solve(nl, N, m, s["samples"], options.seed) for m in ("paper", "network")}
            if r["paper"] and r["network"]:
                gp, gn = r["paper"].g, r["network"].g
                gap = (gn - gp) / gp
                gap_se = math.hypot(r["paper"].se / gp, r["network"].se * gn / gp ** 2)
            else:
                gap = gap_se = math.nan
            out.append({
                "nonlinearity": nl, "width": N,
                "g_paper": r["paper"].g if r["paper"] else math.nan,
                "se_paper": r["paper"].se if r["paper"] else math.nan,
                "method_paper": r["paper"].method if r["paper"] else "failed",
                "g_network": r["network"].g if r["network"] else math.nan,
                "se_network": r["network"].se if r["network"] else math.nan,
                "method_network": r["network"].method if r["network"] else "failed",
                "relative_gap": gap, "relative_gap_se": gap_se, "samples": s["samples"],
            })
    return out


def make(out: Path, options: Options) -> list[Path]:
    """Write model_gap.png and model_gap.csv."""
    data = rows(options)
    return [write_csv(out / "model_gap.csv", data), save(plot(data), out / "model_gap.png")]


def plot(data: list[dict]) -> plt.Figure:
    """The figure from the rows of :func:`rows` (numbers, not strings)."""
    fig, (ax_a, ax_b) = figure(2, width=5.4, height=4.2)
    names = list(dict.fromkeys(r["nonlinearity"] for r in data))
    for i, nl in enumerate(names):
        pts = [r for r in data if r["nonlinearity"] == nl and math.isfinite(r["relative_gap"])]
        if not pts:
            continue
        # a small horizontal offset per nonlinearity keeps the error bars apart
        N = np.array([r["width"] for r in pts]) * 1.03 ** (i - len(names) / 2)
        gap = 100 * np.array([r["relative_gap"] for r in pts])
        se = 100 * np.array([r["relative_gap_se"] for r in pts])
        kw = dict(fmt="o-", ms=3.5, lw=0.8, capsize=1.5, color=color(nl), label=nl)
        ax_a.errorbar(N, gap, yerr=1.96 * se, **kw)
        ax_b.errorbar(N, gap * N / 100, yerr=1.96 * se * N / 100, **kw)
    for ax in (ax_a, ax_b):
        ax.axhline(0.0, color="gray", lw=0.6)
        ax.set_xscale("log")
        ax.set_xlabel("width N")
    ax_a.set(ylabel="(g*_network − g*_paper) / g*_paper  [%]",
             title="network vs paper propagation model (95% CI)")
    ax_b.set(ylabel="N · relative gap", title="N · gap (flat if the gap is O(1/N))")
    ax_a.legend(fontsize=9, ncol=2)
    panel_label(ax_a, "A")
    panel_label(ax_b, "B")
    return fig
