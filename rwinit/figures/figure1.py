"""Figure 1: the log-norm of the back-propagated error is a random walk.

Panel A: sample walks ln(|δ_d|/|δ_D|) of a linear network at its unbiased gain g*
(many thin traces), their mean (near 0: no drift) and the theoretical ±1 s.d. envelope.
Panel B: the walk's variance against the number of layers back-propagated, with the
exact line D·ψ'(N/2)/4 (linear) and its ReLU counterpart (paper model), from
:func:`rwinit.theory.walk_variance` (Sussillo & Abbott, arXiv:1412.6558, Fig. 1, §3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import rwinit
from rwinit import theory

from ._common import Options, color, figure, panel_label, save, track, write_csv

NAME = "figure1"
GROUP = "paper"
DESCRIPTION = "Random walks of ln|δ| at g* and their variance against depth (paper Fig. 1)."

#: Width of the networks of the figure.
WIDTH = 100


def _settings(quick: bool) -> dict:
    if quick:
        return dict(depth=100, samples=800, paths=40)
    return dict(depth=1000, samples=8000, paths=150)


def _walks(options: Options) -> dict[str, rwinit.WalkResult]:
    """Depth-D walks of linear and ReLU (paper model) networks at their exact g*."""
    s = _settings(options.quick)
    out = {}
    for name in track(("linear", "relu"), "figure1 walks"):
        out[name] = rwinit.simulate_walk(
            name, WIDTH, s["depth"], gain=theory.exact_gain(name, WIDTH), model="paper",
            samples=s["samples"], seed=options.seed, keep_paths=s["paths"],
        )
    return out


def make(out: Path, options: Options) -> list[Path]:
    """Write figure1.png, figure1_paths.csv and figure1_variance.csv into ``out``."""
    walks = _walks(options)
    lin = walks["linear"]
    D = lin.layers
    layers = np.arange(D + 1)

    # every layer up to 200 layers, then every (D // 200)-th: a small file for the repo
    path_rows = [
        {"layer": int(j),
         **{f"path_{i}": round(float(lin.paths[i, j]), 5) for i in range(len(lin.paths))}}
        for j in layers[:: max(1, D // 200)]
    ]
    variance_rows = []
    for name, w in walks.items():
        for j in range(w.layers):
            variance_rows.append({
                "nonlinearity": name, "width": WIDTH, "gain": w.gain, "layers": j + 1,
                "walk_mean": float(w.walk_mean[j]), "walk_mean_se": float(w.walk_mean_se[j]),
                "walk_var": float(w.walk_var[j]), "walk_var_se": float(w.walk_var_se[j]),
                "theory_var": theory.walk_variance(name, WIDTH, j + 1),
                "samples": w.samples_used,
            })
    files = [
        write_csv(out / "figure1_paths.csv", path_rows),
        write_csv(out / "figure1_variance.csv", variance_rows),
    ]

    fig, (ax_a, ax_b) = figure(2)
    ax_a.plot(layers, lin.paths.T, color="tab:blue", lw=0.4, alpha=0.35)
    ax_a.plot(layers, np.concatenate([[0.0], lin.walk_mean]), color="black", lw=1.8,
              label=f"mean of {lin.samples_used} walks")
    sd = np.sqrt([theory.walk_variance("linear", WIDTH, d) for d in layers])
    ax_a.plot(layers, sd, "k--", lw=1, label="theory ±1 s.d.")
    ax_a.plot(layers, -sd, "k--", lw=1)
    ax_a.axhline(0.0, color="gray", lw=0.6)
    ax_a.set(xlabel="layers back-propagated, D − d",
             ylabel=r"$\ln\,(|\delta_d| \,/\, |\delta_D|)$",
             title=f"linear, N = {WIDTH}, g* = {lin.gain:.5f}")
    ax_a.legend(loc="upper left", fontsize=8)
    panel_label(ax_a, "A")

    every = max(1, D // 25)
    for name, w in walks.items():
        j = np.arange(every - 1, D, every)
        label = "linear" if name == "linear" else "ReLU (paper model)"
        ax_b.errorbar(j + 1, w.walk_var[j], yerr=w.walk_var_se[j], fmt="o", ms=3,
                      color=color(name), label=f"{label}: simulation (±1 SE)")
        ax_b.plot(layers, [theory.walk_variance(name, WIDTH, d) for d in layers],
                  color=color(name), lw=1, label=f"{label}: theory D·Var[ln z]/4")
    ax_b.set(xlabel="layers back-propagated, D − d",
             ylabel=r"Var $\ln\,(|\delta_d| \,/\, |\delta_D|)$",
             title=f"variance of the walk, N = {WIDTH}, at g*")
    ax_b.legend(fontsize=8)
    panel_label(ax_b, "B")
    files.append(save(fig, out / "figure1.png"))
    return files
