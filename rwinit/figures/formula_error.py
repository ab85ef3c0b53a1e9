"""Analysis (a): how far the paper's approximate g* formulas are from the exact theory.

The paper approximates the linear gain by exp(1/(2N)) (arXiv:1412.6558, eq. 11) and fits
√2 exp(1.2/(max(N, 6) − 2.4)) to the ReLU gain (eq. 13). The exact values are
g* = exp(−½[ψ(N/2) + ln(2/N)]) (linear) and its binomial mixture for ReLU
(:func:`rwinit.theory.exact_gain`). For large N, ψ(x) ≈ ln x − 1/(2x) − 1/(12x²) gives
g*_linear ≈ exp(1/(2N) + 1/(6N²)), so the linear formula's relative error tends to
−1/(6N²); the ReLU fit has no such structure and its error changes sign.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rwinit import theory

from ._common import Options, color, figure, panel_label, save, write_csv

NAME = "formula_error"
GROUP = "analysis"
DESCRIPTION = "Relative error of the paper's approximate g* formulas against exact theory."


def rows(max_width: int) -> list[dict]:
    """Exact g*, the paper's formula and the relative error, for every N in [2, max_width]."""
    widths = np.unique(np.round(np.geomspace(2, max_width, 400)).astype(int))
    out = []
    for N in map(int, widths):
        row: dict = {"width": N}
        for nl in ("linear", "relu"):
            exact = theory.exact_gain(nl, N)
            approx = theory.paper_formula_gain(nl, N)
            row[f"{nl}_exact"] = exact
            row[f"{nl}_paper_formula"] = approx
            row[f"{nl}_relative_error"] = (approx - exact) / exact
        row["linear_asymptote"] = -1.0 / (6.0 * N * N)
        out.append(row)
    return out


def make(out: Path, options: Options) -> list[Path]:
    """Write formula_error.png and formula_error.csv (exact theory: quick = full)."""
    data = rows(10_000)
    files = [write_csv(out / "formula_error.csv", data)]
    N = np.array([r["width"] for r in data])
    fig, (ax_a, ax_b) = figure(2)
    for nl in ("linear", "relu"):
        err = 100 * np.array([r[f"{nl}_relative_error"] for r in data])
        ax_a.plot(N, err, color=color(nl), label=nl)
        ax_b.plot(N, np.abs(err), color=color(nl), label=nl)
    ax_b.plot(N, 100 / (6.0 * N * N), "k:", lw=1, label="linear asymptote 1/(6N²)")
    ax_a.axhline(0.0, color="gray", lw=0.6)
    ax_a.set(xscale="log", xlabel="width N", ylabel="(formula − exact) / exact  [%]",
             title="paper's approximate g* against exact theory")
    ax_a.legend(fontsize=8)
    ax_b.axhline(1.0, color="gray", lw=0.6, ls="--")
    ax_b.text(N[-1], 1.0, "1%", fontsize=7, color="gray", ha="right", va="bottom")
    ax_b.set(xscale="log", yscale="log", xlabel="width N",
             ylabel="|relative error|  [%]", title="size of the error (log scale)")
    ax_b.legend(fontsize=8)
    panel_label(ax_a, "A")
    panel_label(ax_b, "B")
    files.append(save(fig, out / "formula_error.png"))
    return files
