"""Analysis (f): why ReLU fails where tanh trains — two inputs' representations with depth.

Two different inputs (the first two of sklearn's digits, a "0" and a "1", cosine −0.58
after standardising) are fed to random networks at each nonlinearity's g* (stationary
network-model value from the shipped table, :func:`rwinit.gain`), zero biases. Panels
A–C: 1 − cos(a_d, a'_d) of the layer-d pre-activations against depth, measured in finite
networks of several widths (mean ± 1 SE over independent network draws,
:func:`rwinit.correlation.sample_one_minus_cos`; dotted: the median over draws) and
predicted by the infinite-width correlation map (dashed,
:func:`rwinit.correlation.correlation_map`; Poole et al. 2016, Schoenholz et al. 2017) at
the same gain. The mean converges to the map as N grows; at finite width 1 − cos is
heavy-tailed over networks, and its typical (median) value falls far below the map for
ReLU. Panel D: the map's 1 − c after
``DEPTH_D`` layers against g/g*, with and without biases (σ_b > 0), for tanh and ReLU,
with measured points at one width. This goes beyond Sussillo & Abbott
(arXiv:1412.6558), who study only the backward walk; see docs/design.md, § Training.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import rwinit
from rwinit import correlation

from ._common import Options, color, panel_label, save, track, write_csv
from ._training import load_data

NAME = "correlation"
GROUP = "analysis"
DESCRIPTION = ("1 - cos of two inputs' hidden representations against depth: measured and "
               "the infinite-width correlation map (tanh, ReLU, GELU; bias and gain).")

#: The nonlinearities of panels A–C.
NONLINEARITIES = ("tanh", "relu", "gelu")
#: Depth at which panel D reads the map.
DEPTH_D = 128


def _settings(quick: bool) -> dict:
    if quick:
        return dict(widths=[64, 1024], depth=40, draws=64, gains=[0.9, 1.0, 1.1],
                    biases=[0.0, 0.3], width_d=256, draws_d=32, depth_d=40)
    return dict(widths=[32, 128, 512, 2048], depth=200, draws=200,
                gains=[0.8, 0.9, 1.0, 1.1, 1.2], biases=[0.0, 0.1, 0.3], width_d=512,
                draws_d=100, depth_d=DEPTH_D)


def inputs(options: Options) -> tuple[np.ndarray, np.ndarray]:
    """The two inputs: the first two rows of the (standardised) training data."""
    data = load_data(options)
    return data.x[0], data.x[1]


def _gain(nl: str, width: int) -> float:
    return float(rwinit.gain(nl, width).g)


def rows(options: Options) -> tuple[list[dict], list[dict]]:
    """Per-layer measured and predicted 1 − cos (A–C) and the gain/bias sweep (D)."""
    s = _settings(options.quick)
    x1, x2 = inputs(options)
    layers, sweep = [], []
    seed = np.random.SeedSequence(options.seed)
    for nl in NONLINEARITIES:
        for N in track(s["widths"], f"correlation {nl}"):
            g = _gain(nl, N)
            m = correlation.sample_one_minus_cos(nl, x1, x2, g, N, s["depth"], draws=s["draws"],
                                                 seed=np.random.default_rng(seed.spawn(1)[0]))
            theory = correlation.correlation_map(nl, x1, x2, g, s["depth"]).one_minus_c
            mean, se = m.mean(axis=0), m.std(axis=0, ddof=1) / np.sqrt(m.shape[0])
            layers += [{"nonlinearity": nl, "width": N, "gain": g, "bias_std": 0.0,
                        "layer": d + 1, "draws": s["draws"], "measured": float(mean[d]),
                        "measured_se": float(se[d]), "measured_median": float(np.median(m[:, d])),
                        "map": float(theory[d])} for d in range(s["depth"])]
    N = s["width_d"]
    for nl in ("tanh", "relu"):
        g_star = _gain(nl, N)
        for sb in track(s["biases"], f"correlation {nl} bias/gain sweep"):
            for k in s["gains"]:
                g = k * g_star
                theory = correlation.correlation_map(nl, x1, x2, g, s["depth_d"], bias_std=sb)
                m = correlation.sample_one_minus_cos(
                    nl, x1, x2, g, N, s["depth_d"], draws=s["draws_d"], bias_std=sb,
                    seed=np.random.default_rng(seed.spawn(1)[0]))[:, -1]
                sweep.append({"nonlinearity": nl, "width": N, "g_star": g_star,
                              "gain_ratio": k, "gain": g, "bias_std": sb,
                              "layer": s["depth_d"], "map": float(theory.one_minus_c[-1]),
                              "measured": float(m.mean()),
                              "measured_se": float(m.std(ddof=1) / np.sqrt(m.size))})
    return layers, sweep


def make(out: Path, options: Options) -> list[Path]:
    """Write correlation.png, correlation.csv (per layer) and correlation_sweep.csv."""
    layers, sweep = rows(options)
    return [write_csv(out / "correlation.csv", layers),
            write_csv(out / "correlation_sweep.csv", sweep),
            save(plot(layers, sweep), out / "correlation.png")]


def plot(layers: list[dict], sweep: list[dict]) -> plt.Figure:
    """The four panels from the rows of :func:`rows` (numbers, not strings)."""
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 8.0), layout="constrained")
    widths = sorted({r["width"] for r in layers})
    shades = plt.cm.viridis(np.linspace(0.0, 0.85, len(widths)))
    for ax, nl, letter in zip(axes.flat[:3], NONLINEARITIES, "ABC", strict=True):
        for N, shade in zip(widths, shades, strict=True):
            pts = [r for r in layers if r["nonlinearity"] == nl and r["width"] == N]
            d = np.array([r["layer"] for r in pts])
            y = np.array([r["measured"] for r in pts])
            se = np.array([r["measured_se"] for r in pts])
            ax.plot(d, y, "-", color=shade, lw=1.6,
                    label=f"N = {N}, g* = {pts[0]['gain']:.3f}")
            ax.fill_between(d, np.maximum(y - se, 1e-300), y + se, color=shade, alpha=0.25,
                            lw=0)
            ax.plot(d, [r["map"] for r in pts], "--", color=shade, lw=1.0)
            ax.plot(d, [r["measured_median"] for r in pts], ":", color=shade, lw=1.0)
        ax.plot([], [], "k--", lw=1.0, label="infinite-width map (same g)")
        ax.plot([], [], "k:", lw=1.0, label="median over networks")
        values = [v for r in layers if r["nonlinearity"] == nl
                  for v in (r["measured"], r["measured_median"])]
        spans_decades = max(values) > 10 * max(min(values), 1e-300)
        ax.set(xscale="log", yscale="log" if spans_decades else "linear", xlabel="layer d",
               ylabel="1 − cos(a_d, a'_d)  (mean ± SE; median)")
        ax.set_title(f"{nl}: two digits through random layers at g*", color=color(nl))
        ax.legend(fontsize=8.5, loc="lower left")
        panel_label(ax, letter)
    ax = axes[1, 1]
    styles = {0.0: "o-", 0.1: "s--", 0.3: "^:"}
    for nl in ("tanh", "relu"):
        for sb in sorted({r["bias_std"] for r in sweep}):
            pts = [r for r in sweep if r["nonlinearity"] == nl and r["bias_std"] == sb]
            k = [r["gain_ratio"] for r in pts]
            ax.plot(k, [r["map"] for r in pts], styles.get(sb, "o-"), color=color(nl),
                    ms=4, label=f"{nl}, σ_b = {sb:g}")
            ax.errorbar(k, [r["measured"] for r in pts],
                        yerr=[r["measured_se"] for r in pts], fmt="none", ecolor=color(nl),
                        capsize=2, lw=0.8)
    depth_d, width_d = sweep[0]["layer"], sweep[0]["width"]
    ax.set(yscale="log", xlabel="g / g*", ylabel=f"1 − cos at layer {depth_d}",
           title=f"map (lines) and N = {width_d} (error bars) after {depth_d} layers")
    ax.legend(fontsize=8.5, ncol=2)
    panel_label(ax, "D")
    return fig
