"""The ``rwinit`` command line.

Each sub-command lives in its own module of this package, which defines
``register(subparsers)``: it adds its parser and sets ``handler=`` through
``parser.set_defaults(handler=function)``; the handler takes the parsed arguments and
returns the exit status. Bad input raises :class:`rwinit.RwinitError`, which ``main``
turns into one line on stderr and exit status 2 (argparse's own usage errors exit 2 too).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..errors import RwinitError

#: Sub-command modules, in the order ``rwinit --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = ("gain", "walk", "net", "train", "figures", "table",
                                     "export")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose error is one line (no usage block) and exit status 2.

    ``--help`` shows the defaults; a sub-command's misspelled option is named with the
    closest valid one before anything else is parsed (``_common.unknown_option_message``).
    """

    def __init__(self, *args, **kwargs) -> None:
        from ._common import DefaultsHelpFormatter

        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        if self._subparsers is None and args is not None:  # a sub-command's own parser
            from ._common import unknown_option_message

            message = unknown_option_message(self, args)
            if message:
                self.error(message)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


#: One line per sub-command, so that ``rwinit --help`` and every single command import
#: only what they need (sub-command modules import NumPy, Numba, SciPy or Matplotlib).
#: A command missing here is simply imported to list it.
COMMAND_SUMMARIES: dict[str, str] = {
    "gain": "solve for the unbiased gain g*",
    "walk": "per-layer mean and variance of the log-norm walk",
    "net": "gains for a whole MLP (any widths and activations) and its walk report",
    "train": "train a deep network to test a gain",
    "figures": "make the paper's figures and the analyses (PNG + CSV)",
    "table": "compute a table of g* over nonlinearities, widths, depths and models",
    "export": "print code that initializes with g* in torch, jax or keras (or JSON)",
}


def _command_in(argv: Sequence[str]) -> str:
    """The sub-command named in ``argv`` (its first word that is not an option), or ""."""
    return next((a for a in argv if not a.startswith("-")), "")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser.

    Without ``command`` every sub-command's module is imported and registered; with it,
    only that one, the others being listed from :data:`COMMAND_SUMMARIES` (``""`` lists
    them all without importing any, for ``rwinit --help``).
    """
    from .. import __version__

    parser = _Parser(
        prog="rwinit",
        description="Random-walk initialization (Sussillo & Abbott, arXiv:1412.6558).",
    )
    parser.add_argument("--version", action="version", version=f"rwinit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        if command is not None and name != command and name in COMMAND_SUMMARIES:
            subparsers.add_parser(name, help=COMMAND_SUMMARIES[name])
        else:
            importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rwinit`` console script."""
    if argv is None:  # the console script: SIGINT/SIGTERM end it in ~2 s, exit 130/143
        from ..signals import install as install_signal_handlers
        install_signal_handlers()
    parser = build_parser(_command_in(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    try:
        return _run(args)
    finally:
        if argv is None:  # the process ends next
            _skip_exit_collection()


def _skip_exit_collection() -> None:
    """Exempt every live object from the interpreter's collections at exit (``gc.freeze``).

    Once a kernel has run, the process holds Numba's and LLVM's large graph of objects, and
    the garbage collection that Python runs while shutting down spends 0.2-0.25 s walking
    it (measured on the README's machine: ``rwinit gain`` took 1.1-1.2 s, of which the
    exit 0.23 s; with the freeze the exit takes 0.02 s). Everything else about the exit is
    unchanged: atexit handlers run, modules are torn down, files are flushed and closed.
    Only for the console script, whose process ends right after: an in-process caller of
    :func:`main` keeps its collector as it was.
    """
    import gc

    gc.freeze()


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; map the errors a user can cause to one line and a status."""
    try:
        status = int(args.handler(args) or 0)
        try:
            sys.stdout.flush()  # a full stdout (> /dev/full) fails here, not at exit
        except OSError as exc:
            raise type(exc)(exc.errno, exc.strerror, "standard output") from None
        return status
    except RwinitError as exc:
        print(f"rwinit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        from ..signals import report
        return report(args.command, exc)
    except BrokenPipeError:
        # the reader (e.g. `head`) closed the pipe: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # stdout on a full disk, an output file: one line, exit 2
        return _os_error(args.command, exc)


def _os_error(command: str, exc: OSError) -> int:
    """One stderr line for an OSError; exit status 2. If stdout cannot be flushed, it is
    what failed, and is pointed at /dev/null so that the exit does not fail again."""
    where = f"{exc.filename}: " if exc.filename else ""
    try:
        if exc.filename == "standard output":
            raise exc
        sys.stdout.flush()
    except OSError:
        where = "standard output: "
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    print(f"rwinit {command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
