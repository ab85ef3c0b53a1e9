"""Carry unbiased gains into other frameworks: PyTorch, JAX and Keras.

Every adapter gives weights of standard deviation g / sqrt(fan_in) (DESIGN.md section 4)
with g from :func:`rwinit.gain` (the shipped table, or computed) unless a gain is passed.
The frameworks are optional extras, imported only when an adapter is used; a missing one
raises :class:`rwinit.RwinitError` naming the extra (``pip install rwinit[torch]``).

Modules: :mod:`rwinit.adapters.torch`, :mod:`rwinit.adapters.jax`,
:mod:`rwinit.adapters.keras`, and :mod:`rwinit.adapters.snippets` (what
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
