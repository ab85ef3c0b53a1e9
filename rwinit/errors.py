"""The one exception type rwinit raises for bad input."""

from __future__ import annotations


class RwinitError(ValueError):
    """Bad input to rwinit: the message names the problem and the accepted values.

    It subclasses :class:`ValueError`, so ``except ValueError`` also catches it; the CLI
    turns it into one line on stderr and exit status 2.
    """
