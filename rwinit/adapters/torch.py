"""PyTorch adapter: initialize a module with the gains of the network it actually is.

:func:`init_module` reads the weight layers of a module in forward order — ``nn.Linear``
and, as an approximation, ``nn.Conv1d/2d/3d`` treated as dense layers of fan-in
in_channels · ∏kernel — and the activation that follows each one; builds the network
n_0 … n_D with those nonlinearities; solves for its gains with
:func:`rwinit.network_gains` (cached on disk, so a script that initializes the same
architecture every run pays the Monte Carlo once); and draws weights of standard deviation
g_d/√fan_in with zero biases (Sussillo & Abbott, arXiv:1412.6558, eq. 1; docs/design.md
§Rectangular layers and §Using a gain).

How the activations are read
----------------------------
* In an ``nn.Sequential`` (nested ones are flattened), the module after a weight layer:
  normalisation layers (BatchNorm*, LayerNorm, GroupNorm, InstanceNorm*, RMSNorm),
  dropout, reshapes (Flatten, Unflatten) and pooling (average and max, adaptive or not)
  are looked through, each with a note; another weight layer, or the end of the top-level
  ``Sequential``, means a linear layer (the read-out, or a linear bottleneck).
* Otherwise the module is traced with ``torch.fx``, which shows a custom ``forward``'s
  calls (``torch.tanh(self.a(x))``) and its order of layers.
* Where neither tells, ``activations=[...]`` (one per weight layer, forward order) or
  ``nonlinearity=`` (every layer the structure does not show; the last weight layer is the
  linear read-out) says it; without them the error names the layers.

The gain belongs with the activation that *follows* a layer because back-propagation
through layer d multiplies by g W_dᵀ diag f'(a_d), a_d = g W_d x_{d-1} (arXiv:1412.6558,
eq. 2).

Examples
--------
>>> from torch import nn  # doctest: +SKIP
>>> from rwinit.adapters.torch import init_module
>>> net = nn.Sequential(nn.Linear(3, 100), nn.Tanh(), nn.Linear(100, 10))  # doctest: +SKIP
>>> report = init_module(net)  # doctest: +SKIP
>>> [(r.name, r.nonlinearity) for r in report]  # doctest: +SKIP
[('0', 'tanh'), ('2', 'linear')]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import RwinitError
from ..lookup import resolve_gain
from ..nonlinearities import get_nonlinearity
from . import require
from ._plan import (
    POOLING_NOTE,
    GainSpec,
    InitReport,
    LayerInit,
    LayerSpec,
    check_activations,
    plan,
)

#: Functions (by ``__name__``) a traced ``forward`` may call, and their rwinit names.
_FUNCTION_LABELS = {"tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid", "gelu": "gelu",
                    "silu": "silu", "selu": "selu", "elu": "elu", "leaky_relu": "leaky_relu",
                    "softplus": "softplus", "relu6": "relu6", "hardtanh": "hardtanh",
                    "hardsigmoid": "hardsigmoid", "hardswish": "hardswish", "mish": "mish"}


def _torch():
    return require("torch", "torch")


def _norm_types(nn) -> tuple:
    types = [nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm,
             nn.modules.instancenorm._InstanceNorm]
    if hasattr(nn, "RMSNorm"):
        types.append(nn.RMSNorm)
    return tuple(types)


def _norm_kind(module: Any) -> str:
    """``"batch"`` (per unit over the batch), ``"rms"`` or ``"layer"`` (per sample)."""
    nn = _torch().nn
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return "batch"
    if hasattr(nn, "RMSNorm") and isinstance(module, nn.RMSNorm):
        return "rms"
    return "layer"


def _weight_types(nn) -> tuple:
    return (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


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
    if isinstance(module, nn.PReLU):  # its slope as initialised (it is learnt later)
        slopes = module.weight.detach().reshape(-1)
        if bool((slopes == slopes[0]).all()):
            return get_nonlinearity("leaky_relu", float(slopes[0])).label
        return None
    if isinstance(module, nn.ReLU6):  # a subclass of Hardtanh: before it
        return "relu6"
    if isinstance(module, nn.Hardtanh) and (module.min_val, module.max_val) == (-1.0, 1.0):
        return "hardtanh"
    for kind, label in ((nn.Hardsigmoid, "hardsigmoid"), (nn.Hardswish, "hardswish"),
                        (nn.Mish, "mish")):
        if isinstance(module, kind):
            return label
    if isinstance(module, (nn.Identity, nn.Softmax, nn.LogSoftmax)):
        return "linear"  # a softmax read-out: δ_D is taken at the logits
    return None


def _function_label(node: Any) -> str | None:
    """The rwinit label of a traced call (``torch.tanh``, ``F.elu(x, 0.5)``, ``x.relu()``)."""
    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
    label = _FUNCTION_LABELS.get(name)
    if label == "leaky_relu":
        slope = node.kwargs.get("negative_slope", node.args[1] if len(node.args) > 1 else 0.01)
        return get_nonlinearity("leaky_relu", float(slope)).label
    if label == "elu":
        alpha = node.kwargs.get("alpha", node.args[1] if len(node.args) > 1 else 1.0)
        return get_nonlinearity("elu", float(alpha)).label
    if label == "softplus" and node.kwargs.get("beta", 1) != 1:
        return None
    if label == "hardtanh":
        bounds = (node.kwargs.get("min_val", node.args[1] if len(node.args) > 1 else -1.0),
                  node.kwargs.get("max_val", node.args[2] if len(node.args) > 2 else 1.0))
        return label if bounds == (-1.0, 1.0) else None
    return label


@dataclass
class _Reading:
    """What the reader found: per weight layer its label (or None), norm and why."""

    order: list[str]
    labels: dict[str, str | None]
    norms: dict[str, str] = field(default_factory=dict)  # layer -> norm module name
    why: dict[str, str] = field(default_factory=dict)  # layer -> why the label is unknown
    dropout: set[str] = field(default_factory=set)
    passed: dict[str, list[str]] = field(default_factory=dict)  # layer -> pools, reshapes
    traced: bool = False
    unused: list[str] = field(default_factory=list)  # weight layers the trace never calls


def _pass_through_types(nn) -> tuple:
    """Modules between a layer and its activation that the reader looks through: reshapes
    and pooling (see :data:`rwinit.adapters._plan.POOLING_NOTE`)."""
    return (nn.Flatten, nn.Unflatten, nn.modules.pooling._AvgPoolNd,
            nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._MaxPoolNd,
            nn.modules.pooling._AdaptiveMaxPoolNd)


#: The same as traced calls (``torch.flatten``, ``F.avg_pool2d``, ``x.view``, …).
_PASS_THROUGH_CALLS = frozenset(
    ["flatten", "reshape", "view"]
    + [f"{kind}_pool{d}d" for kind in ("avg", "max", "adaptive_avg", "adaptive_max")
       for d in (1, 2, 3)])


def _flatten(seq: Any, prefix: str, nn) -> list[tuple[str, Any]]:
    out = []
    for name, child in seq.named_children():
        q = f"{prefix}.{name}" if prefix else name
        out += _flatten(child, q, nn) if isinstance(child, nn.Sequential) else [(q, child)]
    return out


def _read_sequentials(module: Any) -> _Reading:
    nn = _torch().nn
    weights, norms, through = _weight_types(nn), _norm_types(nn), _pass_through_types(nn)
    order = [n for n, m in module.named_modules() if isinstance(m, weights)]
    reading = _Reading(order, {n: None for n in order})
    for n in order:
        reading.why[n] = "it is used in a custom forward"
    parents = {n: m for n, m in module.named_modules()}
    for seq_name, seq in module.named_modules():
        if not isinstance(seq, nn.Sequential):
            continue
        parent_name = seq_name.rpartition(".")[0] if "." in seq_name else ""
        if seq is not module and isinstance(parents.get(parent_name), nn.Sequential):
            continue  # flattened into its parent's chain
        chain = _flatten(seq, seq_name, nn)
        for i, (name, layer) in enumerate(chain):
            if not isinstance(layer, weights):
                continue
            label, why = ("linear", "") if seq is module else (
                None, "it is last in a Sequential inside a custom forward")
            for follow_name, follow in chain[i + 1:]:
                if isinstance(follow, norms):
                    reading.norms[name] = follow_name
                    continue
                if isinstance(follow, nn.modules.dropout._DropoutNd):
                    reading.dropout.add(name)
                    continue
                if isinstance(follow, through):
                    reading.passed.setdefault(name, []).append(type(follow).__name__)
                    continue
                if isinstance(follow, weights):
                    label, why = "linear", ""
                else:
                    label = _activation_label(follow)
                    why = f"{type(follow).__name__} follows it (not a known activation)"
                break
            reading.labels[name] = label
            if label is None:
                reading.why[name] = why
            else:
                reading.why.pop(name, None)
    return reading


def _read_traced(module: Any, reading: _Reading) -> _Reading:
    """Fill unknown labels (and the forward order) from a ``torch.fx`` trace, if it works."""
    torch = _torch()
    nn = torch.nn
    try:
        graph = torch.fx.symbolic_trace(module).graph
    except Exception:  # noqa: BLE001 - any trace failure means "the trace does not tell"
        for name, why in reading.why.items():
            if why == "it is used in a custom forward":
                reading.why[name] = "it is used in a custom forward that torch.fx cannot trace"
        return reading
    modules = dict(module.named_modules())
    weights, norms, through = _weight_types(nn), _norm_types(nn), _pass_through_types(nn)
    order: list[str] = []
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules.get(node.target), weights):
            continue
        name = node.target
        if name in order:
            return reading  # a layer used twice: the trace is not a chain of layers
        order.append(name)
        label, cur = None, node
        while True:
            users = list(cur.users)
            if len(users) != 1:
                break
            nxt = users[0]
            if nxt.op == "output":
                label = "linear"
                break
            if nxt.op == "call_module":
                target = modules.get(nxt.target)
                if isinstance(target, norms):
                    reading.norms[name] = nxt.target
                    cur = nxt
                    continue
                if isinstance(target, nn.modules.dropout._DropoutNd):
                    reading.dropout.add(name)
                    cur = nxt
                    continue
                if isinstance(target, through):
                    reading.passed.setdefault(name, []).append(type(target).__name__)
                    cur = nxt
                    continue
                label = "linear" if isinstance(target, weights) else _activation_label(target)
                break
            if nxt.op in ("call_function", "call_method"):
                called = getattr(nxt.target, "__name__", nxt.target)
                if called == "dropout":
                    reading.dropout.add(name)
                    cur = nxt
                    continue
                if called in _PASS_THROUGH_CALLS:
                    reading.passed.setdefault(name, []).append(called)
                    cur = nxt
                    continue
                label = _function_label(nxt)
            break
        if reading.labels.get(name) is None and label is not None:
            reading.labels[name] = label
            reading.why.pop(name, None)
    reading.unused = [n for n in reading.order if n not in order]
    reading.order = order
    reading.traced = True
    return reading


def read_module(module: Any) -> _Reading:
    """The weight layers of ``module`` in forward order and the activation after each.

    Raises
    ------
    RwinitError
        A ``LazyLinear`` (or other lazy layer) whose weights do not exist yet.
    """
    torch = _torch()
    nn = torch.nn
    for name, m in module.named_modules():
        if isinstance(m, nn.modules.lazy.LazyModuleMixin) and m.has_uninitialized_params():
            raise RwinitError(f"layer {name or type(m).__name__} ({type(m).__name__}) has no "
                              "weights yet: run one forward pass, net(x), before init_module "
                              "so that its input size is known")
    reading = _read_sequentials(module)
    if not isinstance(module, nn.Sequential) or any(v is None for v in reading.labels.values()):
        reading = _read_traced(module, reading)
    return reading


def detect_nonlinearities(module: Any) -> dict[str, str | None]:
    """Map each weight layer of ``module`` (qualified name, forward order) to the label of
    the activation that follows it, or None where neither the structure nor a trace tells."""
    reading = read_module(module)
    return {name: reading.labels[name] for name in reading.order}


def fan_in_of(tensor: Any) -> int:
    """fan_in of a weight tensor: shape[1] times the receptive field (PyTorch convention)."""
    if tensor.dim() < 2:
        raise RwinitError(f"a weight needs at least 2 dimensions, got shape {tuple(tensor.shape)}")
    return int(tensor.shape[1] * math.prod(tensor.shape[2:]))


def _fan_out_of(layer: Any) -> int:
    w = layer.weight
    return int(w.shape[0] * math.prod(w.shape[2:]))


def init_tensor(tensor: Any, nonlinearity: str, *, gain: float | None = None,
                depth: int | None = None, model: str = "network",
                generator: Any = None) -> float:
    """Fill ``tensor`` in place with N(0, (g/√fan_in)²); return the std used.

    g is ``gain`` if given, else g* of ``nonlinearity`` at width fan_in
    (:func:`rwinit.gain`: stationary by default, or ``depth``). For a whole module,
    :func:`init_module` solves for the network's own gains instead.
    """
    torch = _torch()
    fan_in = fan_in_of(tensor)
    g = resolve_gain(nonlinearity, fan_in, gain, depth=depth, model=model)
    std = g / math.sqrt(fan_in)
    with torch.no_grad():
        tensor.normal_(0.0, std, generator=generator)
    return std


def _specs(module: Any, reading: _Reading, nonlinearity: str | None,
           activations: Sequence[str] | None) -> tuple[list[LayerSpec], list[str], list[str]]:
    nn = _torch().nn
    modules = dict(module.named_modules())
    names = reading.order
    if activations is not None:
        labels = check_activations(activations, names)
        detected = [reading.labels[n] == lab for n, lab in zip(names, labels, strict=True)]
    else:
        unknown = [n for n in names if reading.labels[n] is None]
        if unknown and nonlinearity is None:
            reasons = "; ".join(f"{n}: {reading.why.get(n, 'unknown')}" for n in unknown)
            raise RwinitError(
                f"cannot read the activation after layer(s) {', '.join(unknown)} ({reasons}); "
                f"pass activations=[...] with one nonlinearity per weight layer in forward "
                f"order ({', '.join(names)}), or nonlinearity='tanh' (say) for the hidden "
                f"layers (the last, {names[-1]}, is then the linear read-out)")
        hidden = None if nonlinearity is None else get_nonlinearity(nonlinearity).label
        labels, detected = [], []
        for i, n in enumerate(names):
            if reading.labels[n] is not None:
                labels.append(reading.labels[n])
                detected.append(True)
            else:
                labels.append("linear" if i == len(names) - 1 else hidden)
                detected.append(False)
    specs, notes = [], []
    for n, label, det in zip(names, labels, detected, strict=True):
        layer = modules[n]
        kind = "dense" if isinstance(layer, nn.Linear) else "conv"
        norm = reading.norms.get(n)
        specs.append(LayerSpec(n, fan_in_of(layer.weight), _fan_out_of(layer), label, det,
                               kind, type(modules[norm]).__name__ if norm else None,
                               _norm_kind(modules[norm]) if norm else None))
        if kind == "conv":
            notes.append(f"layer {n} ({type(layer).__name__}) is treated as a dense layer of "
                         f"fan-in {specs[-1].fan_in} = (in_channels/groups)·∏kernel (weight "
                         "sharing across positions is ignored)")
        if norm and getattr(modules[norm], "weight", None) is None:
            notes.append(f"{norm} ({type(modules[norm]).__name__}) has no affine scale: its "
                         "pre-activations keep variance 1 instead of the γ² rwinit would set")
        if n in reading.dropout:
            notes.append(f"dropout after layer {n} is taken as the identity (eval mode); in "
                         "training mode it scales |δ| by about 1/√(1−p) at that layer")
        if n in reading.passed:
            notes.append(f"{', '.join(reading.passed[n])} after layer {n} (before its "
                         f"activation or the next layer) is looked through: {POOLING_NOTE}")
    if reading.traced:
        notes.append("layer order and activations read from a torch.fx trace of forward")
    return specs, notes, _skipped(module, set(names) | set(reading.norms.values()),
                                  reading.unused)


def _skipped(module: Any, used: set[str], unused: list[str]) -> list[str]:
    """Modules with their own parameters that init_module leaves as they are."""
    out = [f"{name}: a weight layer that the traced forward never calls" for name in unused]
    used = used | set(unused)
    for name, m in module.named_modules():
        if name in used or not any(True for _ in m.parameters(recurse=False)):
            continue
        out.append(f"{name} ({type(m).__name__}): not a dense or convolution layer")
    return out


def init_module(module: Any, nonlinearity: str | None = None, *,
                activations: Sequence[str] | None = None, gain: GainSpec = None,
                per_layer: bool = False, model: str = "network", seed: int = 0,
                ci_halfwidth: float | None = None, cache: bool = True,
                input_mean: float = 0.0, input_var: float = 1.0, sample: Any = None,
                generator: Any = None, zero_bias: bool = True) -> InitReport:
    """Initialize a module with the gains of the network it is: std g_d/√fan_in, zero biases.

    Parameters
    ----------
    module : torch.nn.Module
        ``nn.Sequential`` (nested or not), or any module whose ``forward`` ``torch.fx`` can
        trace; weight layers ``nn.Linear`` and ``nn.Conv1d/2d/3d`` (approximation: a dense
        layer of fan-in (in_channels/groups)·∏kernel, stated in the report).
    nonlinearity : str, optional
        For hidden layers whose activation the module does not show; the last weight
        layer is the linear read-out.
    activations : sequence of str, optional
        One nonlinearity per weight layer, in forward order; overrides what is read.
    gain : float, mapping or sequence, optional
        Use these gains instead of solving: one for all layers, one per nonlinearity
        label, or one per layer.
    per_layer : bool
        Solve g_d per layer (each layer's E ln z_d = 0 given those below it) instead of
        one multiplier for the whole network (docs/design.md §Rectangular layers).
    model : {"network", "paper"}
        Propagation model (docs/design.md §Propagation models).
    seed, ci_halfwidth, cache
        Passed to :func:`rwinit.network_gains`; ``cache`` keeps answers on disk.
    input_mean, input_var : float
        Per-entry statistics of the inputs (default: unit variance).
    sample : torch.Tensor, optional
        A batch of inputs (samples, n_0); its per-dimension mean and variance replace
        ``input_mean``/``input_var`` (:meth:`rwinit.network.Network.with_input_batch`).
    generator : torch.Generator, optional
        For reproducible weights.
    zero_bias : bool
        Set biases to 0 (and a normalisation layer's shift).

    Returns
    -------
    InitReport
        A sequence of :class:`LayerInit` (name, nonlinearity, fan_in, gain g_d, std,
        expected ln|δ_d|/|δ_D| ± s.d.), with the approximations made and the parameterised
        modules left as they were; ``str(report)`` is a table, ``report.to_dict()`` JSON.

    Raises
    ------
    RwinitError
        torch is missing; a lazy layer is not materialised; an activation can be neither
        read nor was given; bad arguments.
    """
    torch = _torch()
    reading = read_module(module)
    if not reading.order:
        raise RwinitError(f"{type(module).__name__} has no nn.Linear or nn.Conv1d/2d/3d layer "
                          "to initialize")
    specs, notes, skipped = _specs(module, reading, nonlinearity, activations)
    if sample is not None:
        batch = torch.as_tensor(sample).detach().double().cpu()
        sample = batch.reshape(len(batch), -1).numpy()
    report = plan(specs, gain=gain, model=model, per_layer=per_layer, seed=seed,
                  ci_halfwidth=ci_halfwidth, cache=cache, input_mean=input_mean,
                  input_var=input_var, sample=sample, approximations=notes, skipped=skipped)
    modules = dict(module.named_modules())
    with torch.no_grad():
        for rec in report:
            layer = modules[rec.name]
            layer.weight.normal_(0.0, rec.std, generator=generator)
            if zero_bias and layer.bias is not None:
                layer.bias.zero_()
            norm = modules.get(reading.norms.get(rec.name, ""))
            if norm is not None and rec.norm_scale is not None:
                if getattr(norm, "weight", None) is not None:
                    norm.weight.fill_(rec.norm_scale)
                if zero_bias and getattr(norm, "bias", None) is not None:
                    norm.bias.zero_()
    return report


__all__ = ["InitReport", "LayerInit", "detect_nonlinearities", "fan_in_of", "init_module",
           "init_tensor", "read_module"]
