"""The paper's figures and the studies beyond it, regenerated from the public API.

Sussillo & Abbott (arXiv:1412.6558) back their claims with four figures; this package
makes each one, and six further studies, as a PNG with the CSV data beside it.

Why an installed module rather than code in ``paper_figures/``: ``rwinit figures`` has to
work from any installation (a wheel ships neither ``paper_figures/`` nor ``analysis/``),
and the tests import exactly the code the command runs. The scripts in
``paper_figures/`` and ``analysis/`` are three-line wrappers around :func:`script_main`,
so each figure can still be run on its own from a checkout. Every module here uses only
the public API (``rwinit``, ``rwinit.theory``, ``rwinit.training``).

Each figure module defines ``NAME``, ``GROUP`` (``"paper"`` or ``"analysis"``),
``DESCRIPTION`` and ``make(out, options) -> list[Path]``.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from ._common import Options, build_parser

#: Every figure, in the order ``rwinit figures`` makes them: name -> group.
FIGURES: dict[str, str] = {
    "figure1": "paper",
    "figure2": "paper",
    "figure3": "paper",
    "figure4": "paper",
    "stunt": "paper",
    "formula_error": "analysis",
    "walk_variance": "analysis",
    "model_gap": "analysis",
    "mean_field": "analysis",
    "weight_distributions": "analysis",
    "correlation": "analysis",
}

#: Where each group's committed files live, relative to the repository root.
GROUP_DIRS: dict[str, str] = {"paper": "paper_figures", "analysis": "analysis"}


def get_module(name: str) -> ModuleType:
    """The module that makes figure ``name`` (see :data:`FIGURES`)."""
    if name not in FIGURES:
        from ..errors import RwinitError

        raise RwinitError(f"unknown figure {name!r}; accepted values: {', '.join(FIGURES)}")
    return importlib.import_module(f"{__name__}.{name}")


def make(name: str, out: str | Path, options: Options | None = None) -> list[Path]:
    """Make figure ``name`` into directory ``out``; return the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return get_module(name).make(out, options or Options())


def script_main(name: str, default_out: str | Path, argv: Sequence[str] | None = None) -> int:
    """Entry point of the stand-alone scripts: ``python paper_figures/figure1.py [--quick]``."""
    module = get_module(name)
    parser = build_parser(f"{name}.py", module.DESCRIPTION)
    args = parser.parse_args(argv)
    options = Options(quick=args.quick, seed=args.seed, data_dir=args.data_dir)
    t0 = time.perf_counter()
    paths = make(name, args.out or default_out, options)
    for path in paths:
        print(path)
    print(f"{name}: {time.perf_counter() - t0:.1f} s")
    return 0


__all__ = ["FIGURES", "GROUP_DIRS", "Options", "get_module", "make", "script_main"]
