"""rwinit: random-walk initialization for very deep feed-forward networks.

Sussillo & Abbott (arXiv:1412.6558) showed that back-propagating through a deep stack
of random matrices makes ln |δ| a random walk across layers, and that a gain g on
fan-in-scaled Gaussian weights (std g / sqrt(fan_in)) makes the walk driftless.
rwinit estimates that walk, solves for the unbiased gain g*, initializes weights with
it, and exports it to other frameworks.
"""

from __future__ import annotations

from . import initializers, theory, training
from .errors import RwinitError
from .initializers import (
    lsuv,
    orthogonal,
    output_bias_from_marginals,
    random_walk,
    sparse,
    variance_scaling,
)
from .lookup import TableFallbackWarning, gain
from .nonlinearities import (
    Nonlinearity,
    available_nonlinearities,
    get_nonlinearity,
    register_nonlinearity,
)
from .solver import GainResult, optimal_gain
from .tables import GainTable
from .walk import WalkResult, simulate_walk
from .weights import WEIGHT_DISTRIBUTIONS, sample_weights

#: Loaded on first use: ``rwinit.Network``, ``rwinit.network_gains`` (issue 9).
_LAZY_NETWORK = {"Network": "network", "NetworkGains": "network_gain",
                 "network_gains": "network_gain"}


def __getattr__(name: str):
    if name in _LAZY_NETWORK:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY_NETWORK[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"

__citation__ = """@article{sussillo2014random,
  title   = {Random Walk Initialization for Training Very Deep Feedforward Networks},
  author  = {Sussillo, David and Abbott, L. F.},
  journal = {arXiv preprint arXiv:1412.6558},
  year    = {2014}
}"""

__all__ = [
    "WEIGHT_DISTRIBUTIONS",
    "GainResult",
    "GainTable",
    "Network",
    "NetworkGains",
    "TableFallbackWarning",
    "Nonlinearity",
    "RwinitError",
    "WalkResult",
    "__citation__",
    "__version__",
    "available_nonlinearities",
    "gain",
    "get_nonlinearity",
    "initializers",
    "lsuv",
    "network_gains",
    "optimal_gain",
    "orthogonal",
    "output_bias_from_marginals",
    "random_walk",
    "register_nonlinearity",
    "sample_weights",
    "simulate_walk",
    "sparse",
    "theory",
    "training",
    "variance_scaling",
]
