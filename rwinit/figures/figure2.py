"""Figure 2: the unbiased gain g* against width, and the growth of |δ| against g.

Panel A: g* against N (log axis) for linear, ReLU and tanh networks: Monte Carlo points
with 95% confidence bars, the exact curves of :func:`rwinit.theory.exact_gain` (linear;
ReLU, paper model) and the paper's approximate formulas exp(1/(2N)) and
√2 exp(1.2/(max(N, 6) − 2.4)) (Sussillo & Abbott, arXiv:1412.6558, eqs. 11 and 13), so
that the reader sees where the approximations break. Panel B: at fixed N and D, the
growth |δ_0|/|δ_D| (geometric mean over networks, band: ±1 s.d. of its logarithm)
against g, with each nonlinearity's depth-D g* marked (it crosses 1 there).

Simulation choices, stated in the CSV as well:

* linear: stationary walk (both propagation models coincide for linear f).
* ReLU, paper model: depth-D walks with D short enough that most walks survive (a layer
  kills the walk with probability 2^−N); in the paper model the layers are independent,
  so g* does not depend on D and the points test the exact theory directly.
* ReLU, network model: the stationary walk, only for N >= 12 (below, nearly every walk
  dies inside the 510-layer stationary window).
* tanh, network model: the stationary walk. For small N the drift m(g) stays negative
  for every g (no driftless gain exists); those widths are recorded with an empty g.
* tanh, network model, depth-D (D = 100, unit-variance inputs): the finite-depth gain,
  larger than the stationary one because the forward activity is not yet small.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import rwinit
from rwinit import theory

from ._common import Options, color, figure, panel_label, save, track, write_csv

NAME = "figure2"
GROUP = "paper"
DESCRIPTION = "g* against width N for linear, ReLU and tanh; |δ_0|/|δ_D| against g (Fig. 2)."

#: Width and depth of panel B.
GROWTH_WIDTH = 100
#: Depth of the finite-depth tanh points of panel A.
TANH_DEPTH = 100
#: Nonlinearities of panel B.
GROWTH_NONLINEARITIES = ("linear", "relu", "tanh")


def _settings(quick: bool) -> dict:
    if quick:
        return dict(widths=[2, 4, 8, 32, 100], tanh_widths=[16, 100], samples=64,
                    tanh_samples=64, growth_depth=50, gains=np.linspace(0.85, 1.6, 11),
                    growth_samples=200)
    return dict(widths=[2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64, 100, 200, 500, 1000],
                tanh_widths=[4, 6, 8, 10, 12, 16, 24, 32, 48, 64, 100, 200, 500, 1000],
                samples=512, tanh_samples=256, growth_depth=100,
                gains=np.linspace(0.85, 1.6, 31), growth_samples=1000)


def _relu_paper_depth(N: int) -> int:
    """The longest walk (<= 50 layers) that survives with probability >= 10%."""
    per_layer = 1.0 - theory.relu_death_probability(N)
    return max(1, min(50, int(math.log(0.1) / math.log(per_layer)) if per_layer < 1 else 50))


def _row(nl: str, series: str, N: int, result: rwinit.GainResult | None, note: str = "") -> dict:
    exact = theory.exact_gain(nl, N) if nl in theory.EXACT_NONLINEARITIES else math.nan
    paper = theory.paper_formula_gain(nl, N) if nl in theory.EXACT_NONLINEARITIES else math.nan
    nan = math.nan
    return {
        "nonlinearity": nl, "series": series, "width": N,
        "model": result.model if result else "", "variant": result.variant if result else "",
        "depth": result.depth if result and result.depth else "",
        "g": result.g if result else nan, "se": result.se if result else nan,
        "ci_low": result.ci_low if result else nan, "ci_high": result.ci_high if result else nan,
        "method": result.method if result else "", "samples": result.samples if result else 0,
        "exact": exact, "paper_formula": paper, "note": note,
    }


def gain_rows(options: Options) -> list[dict]:
    """Monte Carlo g* for every (nonlinearity, series, width) of panel A."""
    s = _settings(options.quick)
    seed = options.seed
    rows = []
    for N in track(s["widths"], "figure2 linear/ReLU widths"):
        r = rwinit.optimal_gain("linear", N, method="homogeneous", samples=s["samples"],
                                seed=seed)
        rows.append(_row("linear", "simulation", N, r))
        D = _relu_paper_depth(N)
        survive = (1.0 - theory.relu_death_probability(N)) ** D
        samples = int(math.ceil(s["samples"] * 4 / survive))
        r = rwinit.optimal_gain("relu", N, D, model="paper", method="homogeneous",
                                samples=samples, seed=seed)
        rows.append(_row("relu", "simulation, paper model", N, r))
        if N >= 12:
            r = rwinit.optimal_gain("relu", N, model="network", method="homogeneous",
                                    samples=s["samples"], seed=seed)
            rows.append(_row("relu", "simulation, network model", N, r))
    for N in track(s["tanh_widths"], "figure2 tanh widths"):
        samples = s["tanh_samples"] if N <= 100 else max(64, s["tanh_samples"] // 2)
        try:
            r = rwinit.optimal_gain("tanh", N, model="network", samples=samples, seed=seed)
            rows.append(_row("tanh", "simulation, network model", N, r))
        except rwinit.RwinitError as exc:
            rows.append(_row("tanh", "simulation, network model", N, None,
                             note=f"no driftless gain found: {exc}"))
        if N >= 10:
            r = rwinit.optimal_gain("tanh", N, TANH_DEPTH, model="network", samples=samples,
                                    seed=seed)
            rows.append(_row("tanh", f"simulation, network model, D = {TANH_DEPTH}", N, r))
    return rows


def curve_rows(max_width: int) -> list[dict]:
    """Exact and paper-formula g* on a dense integer grid of widths."""
    widths = np.unique(np.round(np.geomspace(2, max_width, 300)).astype(int))
    return [
        {"width": int(N),
         "linear_exact": theory.exact_gain("linear", int(N)),
         "linear_paper_formula": theory.paper_linear_gain(int(N)),
         "relu_exact": theory.exact_gain("relu", int(N)),
         "relu_paper_formula": theory.paper_relu_gain(int(N))}
        for N in widths
    ]


def growth_rows(options: Options) -> tuple[list[dict], dict[str, rwinit.GainResult]]:
    """ln(|δ_0|/|δ_D|) against g at (GROWTH_WIDTH, depth), and each depth-D g*."""
    s = _settings(options.quick)
    N, D = GROWTH_WIDTH, s["growth_depth"]
    rows, marks = [], {}
    for nl in track(GROWTH_NONLINEARITIES, "figure2 growth"):
        marks[nl] = rwinit.optimal_gain(nl, N, D, model="network", samples=s["growth_samples"],
                                        seed=options.seed)
        for g in s["gains"]:
            w = rwinit.simulate_walk(nl, N, D, gain=float(g), model="network",
                                     samples=s["growth_samples"], seed=options.seed)
            ratio = w.sample_log_ratio[np.isfinite(w.sample_log_ratio)]
            rows.append({"nonlinearity": nl, "width": N, "depth": D, "gain": float(g),
                         "log_ratio_mean": float(ratio.mean()),
                         "log_ratio_sd": float(ratio.std(ddof=1)),
                         "log_ratio_se": float(ratio.std(ddof=1) / math.sqrt(ratio.size)),
                         "samples": int(ratio.size), "g_star_depth_D": marks[nl].g})
    return rows, marks


def _plot_gains(ax, rows: list[dict], curves: list[dict]) -> None:
    widths = np.array([c["width"] for c in curves])
    styles = {"simulation": "o", "simulation, paper model": "s", "simulation, network model": "o",
              f"simulation, network model, D = {TANH_DEPTH}": "^"}
    for nl in ("linear", "relu"):
        ax.plot(widths, [c[f"{nl}_exact"] for c in curves], color=color(nl), lw=1.2,
                label=f"{nl}: exact (theory)")
        ax.plot(widths, [c[f"{nl}_paper_formula"] for c in curves], color=color(nl), lw=1,
                ls="--", label=f"{nl}: paper's formula")
    for nl in ("linear", "relu", "tanh"):
        for series, marker in styles.items():
            pts = [r for r in rows if r["nonlinearity"] == nl and r["series"] == series
                   and math.isfinite(r["g"])]
            if not pts:
                continue
            g = np.array([r["g"] for r in pts])
            err = np.array([[r["g"] - r["ci_low"] for r in pts],
                            [r["ci_high"] - r["g"] for r in pts]])
            hollow = "paper model" in series or "D =" in series
            ax.errorbar([r["width"] for r in pts], g, yerr=err, fmt=marker, ms=4, capsize=2,
                        color=color(nl), mfc="white" if hollow else color(nl),
                        label=f"{nl}: {series}")
    for value, text in ((1.0, "mean field: linear, tanh"), (math.sqrt(2), "mean field: ReLU √2")):
        ax.axhline(value, color="gray", lw=0.7, ls=":")
        ax.text(widths[0], value, text, fontsize=7, color="gray", ha="left", va="bottom")
    dead = [r["width"] for r in rows if r["nonlinearity"] == "tanh"
            and isinstance(r["note"], str) and r["note"]]
    if dead:
        ax.text(0.03, 0.45, f"tanh (stationary): no driftless g for N ≤ {max(dead)}",
                transform=ax.transAxes, fontsize=7, color=color("tanh"))
    ax.set_xscale("log")
    ax.set(xlabel="width N", ylabel="unbiased gain g*",
           title="g* against width (95% CI bars)")
    ax.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))


def _plot_growth(ax, rows: list[dict]) -> None:
    for nl in GROWTH_NONLINEARITIES:
        pts = [r for r in rows if r["nonlinearity"] == nl]
        g = np.array([r["gain"] for r in pts])
        m = np.array([r["log_ratio_mean"] for r in pts])
        sd = np.array([r["log_ratio_sd"] for r in pts])
        ax.plot(g, np.exp(m), color=color(nl), lw=1.5, label=nl)
        ax.fill_between(g, np.exp(m - sd), np.exp(m + sd), color=color(nl), alpha=0.2, lw=0)
        g_star = pts[0]["g_star_depth_D"]
        ax.axvline(g_star, color=color(nl), ls="--", lw=1)
        ax.text(g_star, 1.3, f" g*={g_star:.3f}", color=color(nl), fontsize=8,
                rotation=90, va="bottom")
    ax.axhline(1.0, color="gray", lw=0.7)
    ax.set_yscale("log")
    D = rows[0]["depth"]
    ax.set(xlabel="gain g", ylabel=r"$|\delta_0| / |\delta_D|$ (geometric mean)",
           title=f"growth of the error over D = {D} layers, N = {GROWTH_WIDTH}")
    ax.legend(fontsize=9, title="network model, band ±1 s.d.", title_fontsize=8,
              loc="lower right")


def make(out: Path, options: Options) -> list[Path]:
    """Write figure2.png, figure2_gain.csv, figure2_curves.csv and figure2_growth.csv."""
    rows = gain_rows(options)
    curves = curve_rows(max(r["width"] for r in rows))
    growth, _ = growth_rows(options)
    return [write_csv(out / "figure2_gain.csv", rows),
            write_csv(out / "figure2_curves.csv", curves),
            write_csv(out / "figure2_growth.csv", growth),
            save(plot(rows, curves, growth), out / "figure2.png")]


def plot(rows: list[dict], curves: list[dict], growth: list[dict]) -> plt.Figure:
    """Both panels from the rows of the three tables (numbers, not strings)."""
    fig, (ax_a, ax_b) = figure(2, width=5.6, height=4.4)
    _plot_gains(ax_a, rows, curves)
    panel_label(ax_a, "A")
    _plot_growth(ax_b, growth)
    panel_label(ax_b, "B")
    return fig
