"""Shared pieces of the figure modules: options, CSV output, matplotlib set-up."""

from __future__ import annotations

import argparse
import csv
import io
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402

from ..atomic import atomic_write, atomic_write_text  # noqa: E402
from ..progress import progress_bar  # noqa: E402

#: Resolution of the PNGs (small files, readable in a README).
DPI: int = 110


@dataclass(frozen=True)
class Options:
    """How to make a figure.

    Attributes
    ----------
    quick : bool
        A CI-sized version (seconds, not minutes): fewer widths, samples and epochs.
    seed : int
        Seed of every random draw, so a figure is a deterministic function of it.
    data_dir : str, optional
        Directory with the MNIST IDX files; the training figures use digits without it.
    """

    quick: bool = False
    seed: int = 0
    data_dir: str | None = None


def build_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The options every stand-alone figure script takes."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--quick", action="store_true", help="CI-sized run (well under a minute)")
    p.add_argument("--out", metavar="DIR", help="output directory (default: beside the script)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="MNIST IDX files for the training figures (default: digits)")
    return p


def track(items: Iterable[Any], desc: str) -> Iterator[Any]:
    """Yield ``items`` with a progress bar on stderr (:func:`rwinit.progress.progress_bar`:
    it appears only when the loop lasts more than a second)."""
    items = list(items)
    with progress_bar(len(items), desc) as bar:
        for item in items:
            yield item
            bar.update(1)


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``rows`` (dictionaries with the same keys) as CSV; NaN becomes an empty cell."""
    rows = list(rows)
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    atomic_write_text(path, buf.getvalue())
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV written by :func:`write_csv` (values as strings)."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def parse_cell(text: str) -> Any:
    """A CSV cell written by :func:`write_csv` back as int, float (NaN for an empty cell),
    bool or str."""
    if text == "":
        return math.nan
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV written by :func:`write_csv`, with numbers as numbers: a figure can be
    redrawn from its committed data (``module.plot(read_rows(csv))``) without recomputing."""
    return [{k: parse_cell(v) for k, v in r.items()} for r in read_csv(path)]


def save(fig: plt.Figure, path: Path) -> Path:
    """Save ``fig`` as PNG (atomically) and close it."""
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=DPI, bbox_inches="tight"))
    plt.close(fig)
    return path


def figure(ncols: int = 2, width: float = 5.0, height: float = 3.8) -> tuple[plt.Figure, Any]:
    """A row of ``ncols`` panels, constrained layout."""
    return plt.subplots(1, ncols, figsize=(width * ncols, height), layout="constrained")


def panel_label(ax: Any, letter: str) -> None:
    """Bold panel letter in the top-left corner, outside the axes."""
    ax.text(-0.1, 1.03, letter, transform=ax.transAxes, fontweight="bold", fontsize=12,
            va="bottom", ha="right")


#: One colour per nonlinearity, the same in every figure.
COLORS: dict[str, str] = {
    "linear": "tab:blue", "relu": "tab:red", "tanh": "tab:green", "leaky_relu": "tab:orange",
    "sigmoid": "tab:purple", "elu": "tab:brown", "selu": "tab:pink", "gelu": "tab:gray",
    "silu": "tab:olive", "softplus": "tab:cyan",
}


def color(name: str) -> str:
    """The colour of nonlinearity ``name`` (its family for e.g. ``leaky_relu:0.2``)."""
    return COLORS.get(name.split(":")[0], "black")
