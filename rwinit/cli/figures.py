"""``rwinit figures``: regenerate the paper's figures and the studies beyond it."""

from __future__ import annotations

import argparse
import os
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


def check_output_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """Check, before any work, that figures can be written into directory ``path``.

    Refused with one line: an existing path that is not a directory, a directory that
    cannot be created, and one where a file cannot be created or written (read-only,
    full disk). The probe writes, syncs and removes a small temporary file, as the atomic
    writer will (``rwinit/atomic.py``). A missing directory is created.
    """
    from ..errors import RwinitError
    from ..validation import probe_folder

    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise RwinitError(f"{what} {folder} exists and is not a directory; give a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RwinitError(f"cannot create {what} directory {folder}: "
                          f"{exc.strerror or exc}") from None
    probe_folder(folder, f"cannot write into {what} directory {folder}",
                 prefix=".rwinit-figures.", size=65536)
    return folder


def run(args: argparse.Namespace) -> int:
    from ..errors import RwinitError
    from ..figures import FIGURES, GROUP_DIRS, Options, get_module, make
    from ..validation import check_positive_int

    if args.list and args.only:
        raise RwinitError("--list and --only cannot be combined: --list lists every figure")
    if args.list:
        for name, group in FIGURES.items():
            print(f"{name:22s} {group:9s} {get_module(name).DESCRIPTION}")
        return 0
    names = selected(args.only)
    # every option before any folder is created (--seed -1 must leave no --out behind)
    check_positive_int(args.seed, "seed", minimum=0)
    outs = {name: Path(args.out) if args.out else Path(GROUP_DIRS[FIGURES[name]])
            for name in names}
    for folder in dict.fromkeys(outs.values()):
        check_output_dir(folder, "--out" if args.out else "output")
    options = Options(quick=args.quick, seed=args.seed, data_dir=args.data_dir)
    start = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        paths = make(name, outs[name], options)
        print(f"{name}: {', '.join(str(p) for p in paths)} ({time.perf_counter() - t0:.1f} s)",
              flush=True)
    total = time.perf_counter() - start
    print(f"{len(names)} figure{'s' if len(names) != 1 else ''} made in {total:.1f} s "
          f"({total / 60:.1f} min)", flush=True)
    return 0
