"""What the framework adapters share: layers read from a model become one network
description, its gains come from :func:`rwinit.network_gains`, and a per-layer report goes
back.

Each adapter reads its framework's model into a list of :class:`LayerSpec` (fan-in,
fan-out, the nonlinearity that follows, a normalisation layer in between) and calls
:func:`plan`, which builds a :class:`rwinit.network.Network` (widths n_0 … n_D, one
nonlinearity per weight layer, zero biases, the input statistics) and solves for its gains
(docs/design.md §Rectangular layers): std g_d/√fan_in for weight layer d. The adapter then
draws the weights and zeroes the biases itself.

A layer followed by a normalisation (LayerNorm, RMSNorm, GroupNorm, BatchNorm) is
handled in :mod:`._norm`: a per-sample normalisation resets the forward scale, so the
network is solved in segments between such layers, each normalised layer getting the
scale γ that makes its own E ln z_d zero; a batch normalisation gets γ = g_d · rms(x_{d-1}).
Every report states these approximations.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import RwinitError
from ..nonlinearities import get_nonlinearity
from ..validation import check_gain, check_model
from ._norm import FORWARD_SAMPLES, PER_SAMPLE, batch_gamma, forward, solve_gamma

#: What a model may give as ``gain=``: one g for all layers, g per nonlinearity label (or
#: base name), g per weight layer, or None for the network's own gains.
GainSpec = float | Mapping[str, float] | Sequence[float] | None


#: What a report says of the reshapes and pooling it looked through.
POOLING_NOTE = ("a reshape leaves |δ| as it is, max pooling passes it on to one position of "
                "each window unchanged, and average pooling over k positions scales it by "
                "1/√k: a fixed factor of the architecture, the same for every initialization, "
                "that the gains do not model (as for pooling after an activation)")


@dataclass(frozen=True)
class LayerSpec:
    """One weight layer as an adapter read it.

    Attributes
    ----------
    name : str
        The layer's name in its framework (a qualified module name, a Keras layer name,
        or a list index).
    fan_in, fan_out : int
        Inputs per output unit (for a convolution: in_channels · ∏kernel) and outputs.
    nonlinearity : str
        Label of the activation that follows (``"linear"`` for a read-out).
    detected : bool
        True if read from the model, False if the caller gave it.
    kind : str
        ``"dense"``, or ``"conv"`` for a convolution treated as a dense layer of that fan-in.
    norm : str or None
        Class name of a normalisation layer between the layer and its activation.
    norm_kind : str or None
        ``"layer"`` (per sample, centred: LayerNorm, GroupNorm), ``"rms"`` (per sample,
        not centred: RMSNorm) or ``"batch"`` (per unit over the batch: BatchNorm).
    """

    name: str
    fan_in: int
    fan_out: int
    nonlinearity: str
    detected: bool = True
    kind: str = "dense"
    norm: str | None = None
    norm_kind: str | None = None


@dataclass(frozen=True)
class LayerInit:
    """What an adapter did to one weight layer.

    ``std`` = ``gain`` / √``fan_in`` is the weights' standard deviation; ``norm_scale`` is
    the γ given to a normalisation layer after it (None if there is none);
    ``log_ratio_mean`` and ``log_ratio_sd`` are the expected ln(|δ_d|/|δ_D|) at this layer
    and its spread over networks, from :func:`rwinit.network_gains` (None when the gains
    were given rather than computed).
    """

    name: str
    nonlinearity: str
    fan_in: int
    fan_out: int
    gain: float
    std: float
    detected: bool
    kind: str = "dense"
    norm: str | None = None
    norm_scale: float | None = None
    log_ratio_mean: float | None = None
    log_ratio_sd: float | None = None


@dataclass(frozen=True)
class InitReport(Sequence[LayerInit]):
    """The per-layer record an adapter returns; a sequence of :class:`LayerInit`.

    Attributes
    ----------
    layers : tuple of LayerInit
        Bottom (input side) to top (read-out).
    source : str
        ``"network_gains"`` (solved for this network) or ``"given"`` (``gain=`` passed).
    model, per_layer
        The propagation model and whether g_d was solved per layer or as one multiplier.
    approximations : tuple of str
        Every place where the model is only approximately the network rwinit solved for
        (convolutions, normalisation layers, dropout), in words.
    skipped : tuple of str
        Layers with parameters that were left as they were, and why.
    results : tuple
        The :func:`rwinit.network_gains` results, one per segment of plain layers between
        per-sample normalisations (empty for given gains).
    """

    layers: tuple[LayerInit, ...]
    source: str
    model: str
    per_layer: bool
    approximations: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    results: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    @property
    def result(self) -> Any:
        """The one :func:`rwinit.network_gains` result, or None (given gains, or several
        segments: see :attr:`results`)."""
        return self.results[0] if len(self.results) == 1 else None

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index):  # type: ignore[override]
        return self.layers[index]

    def __iter__(self) -> Iterator[LayerInit]:
        return iter(self.layers)

    @property
    def gains(self) -> tuple[float, ...]:
        """g_d per weight layer, bottom to top."""
        return tuple(layer.gain for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the layers, the settings, the approximations and the solver result."""
        doc: dict[str, Any] = {
            "source": self.source, "model": self.model, "per_layer": self.per_layer,
            "layers": [asdict(layer) for layer in self.layers],
            "approximations": list(self.approximations), "skipped": list(self.skipped),
        }
        doc["network_gains"] = [r.to_dict() for r in self.results]
        return doc

    def __str__(self) -> str:
        head = (f"{'layer':<16} {'kind':<5} {'f':<16} {'fan_in':>7} {'fan_out':>7} "
                f"{'g_d':>8} {'std':>9}  E ln|δ_d|/|δ_D| ± s.d.")
        lines = [head]
        for r in self.layers:
            band = ("" if r.log_ratio_mean is None else
                    f"{r.log_ratio_mean:+.4f} ± {r.log_ratio_sd:.4f}")
            norm = f" [{r.norm} γ={r.norm_scale:.4g}]" if r.norm else ""
            lines.append(f"{r.name:<16} {r.kind:<5} {r.nonlinearity:<16} {r.fan_in:>7} "
                         f"{r.fan_out:>7} {r.gain:>8.5f} {r.std:>9.6f}  {band}{norm}")
        for r in self.results:
            if r.report is not None:
                walks = r.report.walks
                drift = ", ".join(f"{w.scheme} {w.drift_per_layer:+.4f}" for w in walks)
                widths = "-".join(map(str, r.network.widths))
                lines.append(f"expected drift of ln|δ| per layer ({widths}): {drift}")
            if r.warning:
                lines.append(f"warning: {r.warning}")
        lines += [f"approximation: {a}" for a in self.approximations]
        lines += [f"left as is: {s}" for s in self.skipped]
        return "\n".join(lines)


def widths_of(specs: Sequence[LayerSpec]) -> list[int]:
    """n_0 … n_D: each layer's fan-in, then the read-out's fan-out.

    Where a layer's fan-out differs from the next layer's fan-in (a convolution, a
    flatten), the next layer's fan-in is the width that its σ = g/√fan_in refers to.
    """
    return [s.fan_in for s in specs] + [specs[-1].fan_out]


def _gains_given(specs: Sequence[LayerSpec], gain: GainSpec) -> list[float]:
    if isinstance(gain, Mapping):
        out = []
        for s in specs:
            base = s.nonlinearity.partition(":")[0]
            value = gain.get(s.nonlinearity, gain.get(base))
            if value is None:
                raise RwinitError(f"gain= has no entry for {s.nonlinearity!r} (layer "
                                  f"{s.name}); give one per nonlinearity used: "
                                  f"{', '.join(sorted({x.nonlinearity for x in specs}))}")
            out.append(check_gain(value))
        return out
    if isinstance(gain, Sequence) and not isinstance(gain, str):
        if len(gain) != len(specs):
            raise RwinitError(f"gain= lists {len(gain)} gains for {len(specs)} weight layers; "
                              "give one per layer, bottom to top")
        return [check_gain(v) for v in gain]
    return [check_gain(gain)] * len(specs)


def _layer_band(result: Any, d: int) -> tuple[float | None, float | None]:
    """E ln(|δ_d|/|δ_D|) and its s.d. at the output of weight layer d (0-based index:
    δ_{d+1}), where the layer's weight gradient δ x_{d}ᵀ is taken, from the solver's report."""
    report = getattr(result, "report", None)
    if report is None:
        return None, None
    walk = report["rwinit"]
    return float(walk.mean[d + 1]), float(walk.sd[d + 1])


def plan(specs: Sequence[LayerSpec], *, gain: GainSpec = None, model: str = "network",
         per_layer: bool = False, seed: int = 0, ci_halfwidth: float | None = None,
         cache: bool = True, input_mean: float = 0.0, input_var: float = 1.0,
         sample: Any = None, approximations: Sequence[str] = (),
         skipped: Sequence[str] = ()) -> InitReport:
    """The gains for a network read from a model, as a report (nothing is drawn yet).

    Parameters
    ----------
    specs : sequence of LayerSpec
        The weight layers, bottom to top.
    gain : float, mapping or sequence, optional
        Gains to use instead of solving (see :data:`GainSpec`).
    model : {"network", "paper"}
        Propagation model (docs/design.md §Propagation models).
    per_layer : bool
        Solve a gain g_d per layer (each layer's E ln z_d = 0 given those below it)
        instead of one multiplier that makes the whole walk driftless.
    seed, ci_halfwidth, cache
        Passed to :func:`rwinit.network_gains` (``cache``: the on-disk cache of answers).
    input_mean, input_var : float
        Statistics of the inputs (per entry).
    sample : array (samples, n_0), optional
        A batch of inputs: the per-dimension mean and variance are taken from it
        (:meth:`rwinit.network.Network.with_input_batch`) instead.
    approximations, skipped : sequence of str
        Notes from the reader, carried into the report.

    Returns
    -------
    InitReport
    """
    if not specs:
        raise RwinitError("the model has no weight layer to initialize (accepted: dense "
                          "and convolution layers)")
    model = check_model(model)
    if input_var <= 0 or not math.isfinite(input_var) or not math.isfinite(input_mean):
        raise RwinitError(f"input statistics must be finite with variance > 0, got mean "
                          f"{input_mean!r}, variance {input_var!r}")
    for s in specs:
        get_nonlinearity(s.nonlinearity)
    notes = list(approximations)
    widths = widths_of(specs)
    if sample is not None:
        x0 = np.asarray(sample, dtype=float)
        input_mean, input_var = float(x0.mean()), float(x0.var())
    results: list[Any] = []
    if gain is None:
        args = dict(model=model, per_layer=bool(per_layer), seed=seed,
                    ci_halfwidth=ci_halfwidth, cache=cache, input_mean=float(input_mean),
                    input_var=float(input_var))
        if sample is None and cache:  # solved once per process (the γ solves included)
            gains, gammas, results = _solve_cached(tuple(specs), tuple(widths), **args)
        else:
            gains, gammas, results = _solve(specs, widths, sample=sample, **args)
        source = "network_gains"
    else:
        gains = _gains_given(specs, gain)
        gammas = _given_scales(specs, widths, gains, input_mean, input_var, seed)
        source = "given"
    for s, gamma in zip(specs, gammas, strict=True):
        if s.norm_kind in PER_SAMPLE and gain is None:
            notes.append(f"layer {s.name} is followed by {s.norm}, which makes its own gain "
                         f"irrelevant: its scale γ = {gamma:.4g} is solved so that the "
                         "layer's E ln z_d = 0 (O(1/width) effects of the normalisation "
                         "ignored); the layers above are solved as a network of their own")
        elif s.norm_kind == "batch":
            notes.append(f"{s.norm} after layer {s.name} is taken in training mode: its scale "
                         f"γ = g_d · rms(input) = {gamma:.4g} makes it act as a plain layer")
        elif s.norm:
            notes.append(f"{s.norm} after layer {s.name}: γ = g_d · rms(input) = {gamma:.4g}")
    single = results[0] if len(results) == 1 and not any(
        s.norm_kind in PER_SAMPLE for s in specs) else None
    layers = []
    for d, (s, g, gamma) in enumerate(zip(specs, gains, gammas, strict=True)):
        mean, sd = _layer_band(single, d)
        layers.append(LayerInit(s.name, s.nonlinearity, s.fan_in, s.fan_out, g,
                                g / math.sqrt(s.fan_in), s.detected, s.kind, s.norm, gamma,
                                mean, sd))
    return InitReport(tuple(layers), source, model, bool(per_layer), tuple(notes),
                      tuple(skipped), tuple(results))


def _given_scales(specs: Sequence[LayerSpec], widths: Sequence[int], gains: Sequence[float],
                  input_mean: float, input_var: float, seed: int) -> list[float | None]:
    """γ = g_d · rms(x_{d-1}) after every normalisation, for gains given by the caller."""
    if not any(s.norm for s in specs):
        return [None] * len(specs)
    rng = np.random.default_rng(seed)
    x = input_mean + math.sqrt(input_var) * rng.standard_normal((FORWARD_SAMPLES, widths[0]))
    gammas: list[float | None] = []
    for d, (s, g) in enumerate(zip(specs, gains, strict=True)):
        gammas.append(batch_gamma(x, g) if s.norm else None)
        x = forward(x, widths[d:d + 2], [s.nonlinearity], [g], [s.norm_kind], [gammas[-1]],
                    rng)
    return gammas


@functools.lru_cache(maxsize=64)
def _solve_cached(specs: tuple[LayerSpec, ...], widths: tuple[int, ...],
                  **args: Any) -> tuple[list[float], list[float | None], list[Any]]:
    return _solve(specs, widths, sample=None, **args)


def _solve(specs: Sequence[LayerSpec], widths: Sequence[int], *, model: str, per_layer: bool,
           seed: int, ci_halfwidth: float | None, cache: bool, input_mean: float,
           input_var: float, sample: Any) -> tuple[list[float], list[float | None], list[Any]]:
    """Gains by :func:`rwinit.network_gains` for each run of layers between per-sample
    normalisations, and γ for the normalised layers (:mod:`._norm`)."""
    from ..network import Network
    from ..network_gain import network_gains

    D = len(specs)
    rng = np.random.default_rng(seed)
    x = input_mean + math.sqrt(input_var) * rng.standard_normal((FORWARD_SAMPLES, widths[0]))
    gains: list[float] = [1.0] * D
    gammas: list[float | None] = [None] * D
    results: list[Any] = []
    mean, var, batch = input_mean, input_var, sample
    start = 0
    for cut in [d for d, s in enumerate(specs) if s.norm_kind in PER_SAMPLE] + [D]:
        if cut > start:
            seg = specs[start:cut]
            net = Network(widths=widths[start:cut + 1],
                          nonlinearities=[s.nonlinearity for s in seg], bias_std=0.0,
                          input_mean=float(mean), input_var=float(var))
            if batch is not None:
                net = net.with_input_batch(batch)
            res = network_gains(net, model=model, per_layer=per_layer, seed=seed,
                                ci_halfwidth=ci_halfwidth, cache=cache)
            results.append(res)
            for d, g in zip(range(start, cut), res.layer_gains, strict=True):
                gains[d] = float(g)
                if specs[d].norm_kind == "batch":
                    gammas[d] = batch_gamma(x, gains[d])
                x = forward(x, widths[d:d + 2], [specs[d].nonlinearity], [gains[d]],
                            [specs[d].norm_kind], [gammas[d]], rng)
        if cut == D:
            break
        s = specs[cut]
        if x.shape[1] != widths[cut]:
            x = math.sqrt(float(np.mean(x * x))) * rng.standard_normal((len(x), widths[cut]))
        gammas[cut] = solve_gamma(x, widths[cut + 1], s.nonlinearity, kind=str(s.norm_kind),
                                  model=model, rng=rng)
        x = forward(x, widths[cut:cut + 2], [s.nonlinearity], [1.0], [s.norm_kind],
                    [gammas[cut]], rng)
        mean, var, batch = float(x.mean()), float(x.var()), None
        start = cut + 1
    return gains, gammas, results


def readout_activations(count: int, nonlinearity: str) -> list[str]:
    """``nonlinearity`` for every hidden layer and ``"linear"`` for the read-out (the last)."""
    label = get_nonlinearity(nonlinearity).label
    return [label] * (count - 1) + ["linear"]


def check_activations(activations: Sequence[str], names: Sequence[str]) -> list[str]:
    """Labels of ``activations``, one per weight layer ``names`` (bottom to top)."""
    if isinstance(activations, str) or len(activations) != len(names):
        given = 1 if isinstance(activations, str) else len(activations)
        raise RwinitError(f"activations= needs one nonlinearity per weight layer, in forward "
                          f"order ({len(names)}: {', '.join(names)}); got {given}")
    return [get_nonlinearity(a).label for a in activations]


__all__ = ["POOLING_NOTE", "GainSpec", "InitReport", "LayerInit", "LayerSpec",
           "check_activations", "plan", "readout_activations", "widths_of"]
