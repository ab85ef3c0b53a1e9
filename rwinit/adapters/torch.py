"""PyTorch adapter: initialize ``nn.Linear`` layers (or any tensor) with std g*/sqrt(fan_in).

A ``Linear`` weight has shape (out_features, in_features), so fan_in = weight.shape[1]
(for a convolution weight (out, in, *kernel), fan_in = in * prod(kernel), PyTorch's
convention). Each layer's nonlinearity is read from the module structure where it can
be: in an ``nn.Sequential``, the activation module that follows the ``Linear`` (dropout
in between is skipped); a ``Linear`` followed directly by another ``Linear``, or last in
the top-level ``Sequential``, is linear. Where the structure does not say (a ``Linear``
used in a custom ``forward``), the ``nonlinearity`` argument is used.

The gain belongs with the activation that *follows* the layer because back-propagation
through layer d multiplies by g W_dᵀ diag f'(a_d), where a_d = g W_d x_{d-1} is the
layer's own output (Sussillo & Abbott, arXiv:1412.6558, eq. 2).

Examples
--------
>>> from torch import nn  # doctest: +SKIP
>>> from rwinit.adapters.torch import init_module
>>> net = nn.Sequential(nn.Linear(100, 100), nn.Tanh(), nn.Linear(100, 10))  # doctest: +SKIP
>>> [(l.name, l.nonlinearity) for l in init_module(net)]  # doctest: +SKIP
[('0', 'tanh'), ('2', 'linear')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import RwinitError
from ..lookup import resolve_gain
from ..nonlinearities import get_nonlinearity
from . import require

GainSpec = float | Mapping[str, float] | None


@dataclass(frozen=True)
class LayerInit:
    """What :func:`init_module` did to one layer."""

    name: str
    nonlinearity: str
    fan_in: int
    gain: float
    std: float
    detected: bool  # nonlinearity read from the module structure (else from the argument)


def _torch():
    return require("torch", "torch")


def _activation_label(module: Any) -> str | None:
    """The rwinit label of an activation module, or None if it is not one we know."""
    nn = _torch().nn
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.LeakyReLU):
        return get_nonlinearity("leaky_relu", module.negative_slope).label
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.ELU):
        return get_nonlinearity("elu", module.alpha).label
    if isinstance(module, nn.SELU):
        return "selu"
    if isinstance(module, nn.GELU):
        return "gelu"  # approximate="tanh" differs from the erf form by < 1e-3
    if isinstance(module, nn.SiLU):
        return "silu"
    if isinstance(module, nn.Softplus) and module.beta == 1:
        return "softplus"
    if isinstance(module, nn.Identity):
        return "linear"
    return None


def detect_nonlinearities(module: Any) -> dict[str, str | None]:
    """Map each ``nn.Linear`` in ``module`` (by qualified name) to its nonlinearity label,
    or to None where the module structure does not tell."""
    nn = _torch().nn
    found: dict[str, str | None] = {
        name: None for name, m in module.named_modules() if isinstance(m, nn.Linear)
    }
    for seq_name, seq in module.named_modules():
        if not isinstance(seq, nn.Sequential):
            continue
        children = list(seq.named_children())
        for i, (child_name, child) in enumerate(children):
            if not isinstance(child, nn.Linear):
                continue
            label: str | None = "linear" if seq is module else None
            for _, following in children[i + 1:]:
                if isinstance(following, nn.modules.dropout._DropoutNd):
                    continue
                label = "linear" if isinstance(following, nn.Linear) else \
                    _activation_label(following)
                break
            found[f"{seq_name}.{child_name}" if seq_name else child_name] = label
    return found


def _gain_for(label: str, fan_in: int, gain: GainSpec, lookup: dict) -> float:
    if isinstance(gain, Mapping):
        base = label.partition(":")[0]
        value = gain.get(label, gain.get(base))
        return resolve_gain(label, fan_in, value, **lookup)
    return resolve_gain(label, fan_in, gain, **lookup)


def fan_in_of(tensor: Any) -> int:
    """fan_in of a weight tensor: shape[1] times the receptive field (PyTorch convention)."""
    if tensor.dim() < 2:
        raise RwinitError(f"a weight needs at least 2 dimensions, got shape {tuple(tensor.shape)}")
    return int(tensor.shape[1] * math.prod(tensor.shape[2:]))


def init_tensor(tensor: Any, nonlinearity: str, *, gain: float | None = None,
                depth: int | None = None, model: str = "network",
                generator: Any = None) -> float:
    """Fill ``tensor`` in place with N(0, (g/sqrt(fan_in))²); return the std used.

    g is ``gain`` if given, else g* of ``nonlinearity`` at width fan_in
    (:func:`rwinit.gain`: stationary by default, or ``depth``).
    """
    torch = _torch()
    fan_in = fan_in_of(tensor)
    g = resolve_gain(nonlinearity, fan_in, gain, depth=depth, model=model)
    std = g / math.sqrt(fan_in)
    with torch.no_grad():
        tensor.normal_(0.0, std, generator=generator)
    return std


def init_module(module: Any, nonlinearity: str | None = None, *, gain: GainSpec = None,
                depth: int | None = None, model: str = "network", generator: Any = None,
                zero_bias: bool = True) -> list[LayerInit]:
    """Initialize every ``nn.Linear`` in ``module``: std g/sqrt(fan_in), zero biases.

    Parameters
    ----------
    module : torch.nn.Module
    nonlinearity : str, optional
        Used for layers whose nonlinearity the structure does not show.
    gain : float or mapping, optional
        One gain for every layer, or a mapping nonlinearity -> gain; by default
        g* from :func:`rwinit.gain` at each layer's fan_in.
    depth : int, optional
        Look up the depth-D variant instead of the stationary one.
    model : {"network", "paper"}
    generator : torch.Generator, optional
        For reproducible weights.
    zero_bias : bool
        Set biases to 0 (DESIGN.md section 1).

    Returns
    -------
    list of LayerInit
        One record per layer: name, nonlinearity, fan_in, gain, std.

    Raises
    ------
    RwinitError
        torch is missing, or a layer's nonlinearity is neither detectable nor given.
    """
    torch = _torch()
    detected = detect_nonlinearities(module)
    unknown = [name for name, label in detected.items() if label is None]
    if unknown and nonlinearity is None:
        raise RwinitError(f"cannot tell the nonlinearity after layer(s) "
                          f"{', '.join(unknown)}; pass nonlinearity=")
    modules = dict(module.named_modules())
    lookup = dict(depth=depth, model=model)
    done = []
    for name, label in detected.items():
        layer = modules[name]
        use = label if label is not None else get_nonlinearity(nonlinearity).label
        fan_in = fan_in_of(layer.weight)
        g = _gain_for(use, fan_in, gain, lookup)
        std = g / math.sqrt(fan_in)
        with torch.no_grad():
            layer.weight.normal_(0.0, std, generator=generator)
            if zero_bias and layer.bias is not None:
                layer.bias.zero_()
        done.append(LayerInit(name, use, fan_in, g, std, label is not None))
    return done


__all__ = ["LayerInit", "detect_nonlinearities", "fan_in_of", "init_module", "init_tensor"]
