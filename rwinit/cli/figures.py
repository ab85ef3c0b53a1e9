"""``rwinit figures``: regenerate the paper's figures and the studies beyond it."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..figures import FIGURES

    groups = sorted(set(FIGURES.values()))
    p = subparsers.add_parser(
        "figures",
        help="make the paper's figures and the analyses (PNG + CSV)",
        description="Make the figures of Sussillo & Abbott (arXiv:1412.6558) and the "
        "studies beyond them, each as a PNG with its data as CSV. Without --out, paper "
        "figures go to ./paper_figures and analyses to ./analysis.",
    )
    p.add_argument("--quick", action="store_true", help="CI-sized runs (seconds each)")
    p.add_argument("--out", metavar="DIR", help="put every file in DIR")
    p.add_argument("--only", action="append", metavar="NAME",
                   help=f"a figure ({', '.join(FIGURES)}) or a group ({', '.join(groups)}); "
                   "repeatable (default: all)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="MNIST IDX files for the training figures (default: digits)")
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    p.set_defaults(handler=run)


def selected(only: list[str] | None) -> list[str]:
    """Figure names chosen by ``--only`` (names or groups), in the canonical order."""
    from ..errors import RwinitError
    from ..figures import FIGURES

    if not only:
        return list(FIGURES)
    chosen = set()
    for item in only:
        names = [n for n, g in FIGURES.items() if item in (n, g)]
        if not names:
            raise RwinitError(f"unknown figure or group {item!r}; accepted values: "
                              f"{', '.join([*FIGURES, *sorted(set(FIGURES.values()))])}")
        chosen.update(names)
    return [n for n in FIGURES if n in chosen]


def run(args: argparse.Namespace) -> int:
    from ..figures import FIGURES, GROUP_DIRS, Options, get_module, make

    if args.list:
        for name, group in FIGURES.items():
            print(f"{name:22s} {group:9s} {get_module(name).DESCRIPTION}")
        return 0
    options = Options(quick=args.quick, seed=args.seed, data_dir=args.data_dir)
    for name in selected(args.only):
        out = Path(args.out) if args.out else Path(GROUP_DIRS[FIGURES[name]])
        t0 = time.perf_counter()
        paths = make(name, out, options)
        print(f"{name}: {', '.join(str(p) for p in paths)} ({time.perf_counter() - t0:.1f} s)",
              flush=True)
    return 0
