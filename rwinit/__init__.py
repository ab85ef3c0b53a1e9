"""rwinit: random-walk initialization for very deep feed-forward networks.

Sussillo & Abbott (arXiv:1412.6558) showed that back-propagating through a deep stack
of random matrices makes ln |δ| a random walk across layers, and that a gain g on
fan-in-scaled Gaussian weights (std g / sqrt(fan_in)) makes the walk driftless.
rwinit estimates that walk, solves for the unbiased gain g*, initializes weights with
it, and exports it to other frameworks.
"""

from __future__ import annotations

from .errors import RwinitError

#: Public names and the module each lives in, imported on first use (PEP 562), so that
#: ``import rwinit`` (and ``rwinit --help``) loads neither Numba nor SciPy nor Matplotlib.
_LAZY: dict[str, str] = {
    "initializers": "", "theory": "", "training": "",
    "lsuv": "initializers", "orthogonal": "initializers",
    "output_bias_from_marginals": "initializers", "random_walk": "initializers",
    "sparse": "initializers", "variance_scaling": "initializers",
    "TableFallbackWarning": "lookup", "gain": "lookup",
    "Nonlinearity": "nonlinearities", "available_nonlinearities": "nonlinearities",
    "get_nonlinearity": "nonlinearities", "register_nonlinearity": "nonlinearities",
    "GainResult": "solver", "optimal_gain": "solver",
    "GainTable": "tables",
    "WalkResult": "walk", "simulate_walk": "walk", "simulate_layers": "walk",
    "WEIGHT_DISTRIBUTIONS": "weights", "sample_weights": "weights",
    # issue 9
    "Network": "network", "NetworkGains": "network_gain", "network_gains": "network_gain",
    "NoDriftlessGainWarning": "network_gain",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = _LAZY[name]
        if not module:  # a sub-module itself
            return importlib.import_module(f".{name}", __name__)
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "NoDriftlessGainWarning",
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
    "simulate_layers",
    "simulate_walk",
    "sparse",
    "theory",
    "training",
    "variance_scaling",
]
