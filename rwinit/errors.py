"""The exceptions rwinit raises for bad input and for questions without an answer."""

from __future__ import annotations


class RwinitError(ValueError):
    """Bad input to rwinit: the message names the problem and the accepted values.

    It subclasses :class:`ValueError`, so ``except ValueError`` also catches it; the CLI
    turns it into one line on stderr and exit status 2.
    """


class NoUnbiasedGain(RwinitError):
    """No gain in the search range makes the walk driftless.

    ``kind`` says how m(g) = E[ln z] misses zero: ``"negative"`` (|δ| shrinks whatever g
    is, e.g. tanh layers a few units wide), ``"positive"`` (it grows whatever g is) or
    ``"maximum"`` (m reaches 0 only at its maximum, within the Monte Carlo error).
    :func:`rwinit.network_gains` answers the first and the last with the gain of largest
    drift instead (:func:`rwinit.solver.largest_drift`); everything else raises.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
