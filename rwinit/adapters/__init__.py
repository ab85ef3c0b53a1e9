"""Carry unbiased gains into other frameworks: PyTorch, JAX (and Flax) and Keras.

Each adapter reads the network a model is — its weight layers' fan-ins and fan-outs and
the activation after each — and initializes it with that network's own gains from
:func:`rwinit.network_gains` (cached on disk): weights of standard deviation g_d/√fan_in,
zero biases (docs/design.md §Rectangular layers, §Using a gain). A gain can also be given.
The frameworks are optional extras, imported only when an adapter is used; a missing one
raises :class:`rwinit.RwinitError` naming the extra (``pip install rwinit[torch]``).

Modules: :mod:`rwinit.adapters.torch` (``init_module``), :mod:`rwinit.adapters.jax`
(``init_params``, ``init_nnx``, ``initializer``), :mod:`rwinit.adapters.keras`
(``init_model``, ``keras_initializer``), and :mod:`rwinit.adapters.snippets` (what
``rwinit export`` prints).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import RwinitError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`RwinitError` saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise RwinitError(f"{module} is not installed; pip install rwinit[{extra}]") from None


__all__ = ["require"]
