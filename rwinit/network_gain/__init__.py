"""Gains for the network you actually have: any MLP's widths, nonlinearities and inputs.

:func:`network_gains` takes a :class:`rwinit.network.Network` and returns one gain per
weight layer (weight std g_d/√fan_in), with confidence intervals, by one of two methods
(docs/design.md, § Rectangular layers; Sussillo & Abbott, arXiv:1412.6558, §3):

``multiplier`` (default)
    one gain for all layers that makes the *whole* walk driftless,
    E[ln(|δ_0|/|δ_D|)] = 0 — the depth-D unbiased gain generalised to rectangular
    layers (a linear read-out gets its own exact gain; :mod:`.multiplier`).
``per-layer``
    g_d making each layer's E ln z_d = 0 given the layers below it, solved in forward
    order (:mod:`.per_layer`); cost linear in depth.

and a :class:`~.report.NetworkReport` of E[ln(|δ_d|/|δ_D|)] ± 1 s.d. per layer for
these gains and for PyTorch's default, He, Glorot and LeCun. Answers are cached on
disk (:mod:`rwinit.cache`), so a script that initializes the same network every run
pays the Monte Carlo once.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

from scipy import special

from .. import _config
from ..cache import cached
from ..errors import RwinitError
from ..network import Network, as_network
from ..validation import check_model, check_samples
from ..walk import seed_sequence
from .report import NetworkReport, network_report


class NoDriftlessGainWarning(UserWarning):
    """No gain makes the walk driftless: :func:`network_gains` answered the gain of largest
    drift (method ``max-drift``), which shrinks the gradient least."""


#: The two methods of :func:`network_gains`.
NETWORK_METHODS: tuple[str, ...] = ("multiplier", "per-layer")

#: Samples of the per-layer solver's pilot pass (its CI sets the final sample count).
PER_LAYER_PILOT_SAMPLES: int = 500

#: Most samples the per-layer solver uses when aiming at a CI half-width.
PER_LAYER_MAX_SAMPLES: int = 10_000

#: Networks sampled for each scheme of the report.
REPORT_SAMPLES: int = 1000


@dataclass(frozen=True)
class NetworkGains:
    """Gains for every weight layer of a network, with their uncertainty.

    Attributes
    ----------
    network : Network
        The network they are for.
    model : str
        ``network`` (true back-propagation) or ``paper``.
    method : str
        ``multiplier`` or ``per-layer``.
    layer_gains : tuple of float
        g_d for d = 1 … D, bottom to top; the weight std of layer d is
        g_d/√n_{d-1} (:attr:`layer_stds`).
    layer_se, layer_ci_low, layer_ci_high : tuple of float
        Standard error and confidence interval of each g_d (0 and g_d for exact ones).
    layer_methods : tuple of str
        How each g_d was found: ``exact``, ``homogeneous``, ``root`` (per-layer) or
        ``multiplier`` / ``exact`` (a linear read-out under the multiplier).
    log_z_sd : tuple of float
        Standard deviation of ln z_d at the solution, per layer (the per-layer spread of
        the walk; NaN where not measured).
    multiplier, multiplier_se, multiplier_ci : float or None
        The global multiplier and its SE and interval (``multiplier`` method only).
    samples : int
        Monte Carlo samples of the final solve.
    report : NetworkReport or None
        The walk under these gains and the classic schemes.
    cached : bool
        True when the answer was read from the disk cache.
    warning : str
        What makes the answer weaker than asked for, or "": above all, that no gain makes
        the walk (``multiplier``) or a layer (``per-layer``) driftless, so that g is
        where the drift is largest (method ``max-drift``, no CI; e.g. a tanh read-out a
        few units wide). :func:`network_gains` also issues it as a
        :class:`NoDriftlessGainWarning`.
    """

    network: Network
    model: str
    method: str
    layer_gains: tuple[float, ...]
    layer_se: tuple[float, ...]
    layer_ci_low: tuple[float, ...]
    layer_ci_high: tuple[float, ...]
    layer_methods: tuple[str, ...]
    log_z_sd: tuple[float, ...]
    multiplier: float | None
    multiplier_se: float | None
    multiplier_ci: tuple[float, float] | None
    confidence: float
    samples: int
    seed: int | None
    seconds: float
    report: NetworkReport | None = None
    cached: bool = False
    warning: str = ""

    @property
    def layer_stds(self) -> tuple[float, ...]:
        """Weight standard deviations g_d/√n_{d-1}, bottom to top."""
        return tuple(g / math.sqrt(n) for g, n in zip(self.layer_gains, self.network.fan_in,
                                                      strict=True))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary (NaN as None)."""

        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, list | tuple):
                return [clean(x) for x in v]
            return v

        return {
            "network": self.network.to_dict(), "model": self.model, "method": self.method,
            "layer_gains": list(self.layer_gains), "layer_stds": list(self.layer_stds),
            "layer_se": clean(self.layer_se), "layer_ci_low": clean(self.layer_ci_low),
            "layer_ci_high": clean(self.layer_ci_high),
            "layer_methods": list(self.layer_methods), "log_z_sd": clean(self.log_z_sd),
            "multiplier": clean(self.multiplier), "multiplier_se": clean(self.multiplier_se),
            "multiplier_ci": clean(self.multiplier_ci), "confidence": self.confidence,
            "samples": self.samples, "seed": self.seed, "seconds": self.seconds,
            "report": None if self.report is None else self.report.to_dict(),
            "cached": self.cached, "warning": self.warning,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], network: Network, *, cached: bool = False
                  ) -> NetworkGains:
        """Rebuild from :meth:`to_dict` (the network is passed, not re-parsed)."""

        def floats(v: list) -> tuple[float, ...]:
            return tuple(math.nan if x is None else float(x) for x in v)

        D = network.depth
        gains = floats(d["layer_gains"])
        if len(gains) != D or not all(math.isfinite(g) and g > 0 for g in gains):
            raise RwinitError("malformed network gains: wrong layer count or a bad gain")
        ci = d.get("multiplier_ci")
        has_multiplier = d.get("multiplier") is not None
        return cls(
            network=network, model=str(d["model"]), method=str(d["method"]),
            layer_gains=gains, layer_se=floats(d["layer_se"]),
            layer_ci_low=floats(d["layer_ci_low"]), layer_ci_high=floats(d["layer_ci_high"]),
            layer_methods=tuple(str(m) for m in d["layer_methods"]),
            log_z_sd=floats(d["log_z_sd"]),
            multiplier=float(d["multiplier"]) if has_multiplier else None,
            multiplier_se=floats([d.get("multiplier_se")])[0] if has_multiplier else None,
            multiplier_ci=floats(ci) if has_multiplier and ci is not None else None,
            confidence=float(d["confidence"]), samples=int(d["samples"]),
            seed=None if d.get("seed") is None else int(d["seed"]),
            seconds=float(d["seconds"]),
            report=None if d.get("report") is None else NetworkReport.from_dict(d["report"]),
            cached=cached, warning=str(d.get("warning") or ""),
        )


def network_gains(
    network: Network | str,
    *,
    model: str = "network",
    per_layer: bool = False,
    seed: int = 0,
    ci_halfwidth: float | None = None,
    samples: int | None = None,
    confidence: float = _config.CONFIDENCE,
    report: bool = True,
    report_samples: int = REPORT_SAMPLES,
    cache: bool = True,
    threads: int | None = None,
    progress: bool = False,
) -> NetworkGains:
    """Gains g_1 … g_D for every weight layer of ``network``, with confidence intervals.

    Parameters
    ----------
    network : Network or str
        The architecture (a :class:`~rwinit.network.Network`, or a spec such as
        ``"784-relu-512x2-linear-10"``, see :meth:`Network.from_spec`).
    model : {"network", "paper"}
        True back-propagation (default) or the paper's independent backward matrices.
    per_layer : bool
        False: one multiplier making the whole walk driftless (a linear read-out gets its
        own exact gain). True: a gain per layer making each E ln z_d zero given the
        layers below it.
    seed : int
        The answer is a deterministic function of it (whatever ``threads`` is).
    ci_halfwidth : float, optional
        Target half-width of each gain's confidence interval when ``samples`` is not given
        (default 0.005); the per-layer method stops at
        :data:`PER_LAYER_MAX_SAMPLES` samples and reports the interval it reached.
    samples : int, optional
        Monte Carlo samples (networks) per evaluation, instead of a CI target.
    confidence : float
        Level of the intervals.
    report : bool
        Also compute the :class:`~.report.NetworkReport` (this and four classic schemes).
    report_samples : int
        Networks sampled per scheme for the report.
    cache : bool
        Read and write the on-disk cache (:mod:`rwinit.cache`); False recomputes.
    threads : int, optional
        Worker threads of the walk kernels (no effect on the answer).
    progress : bool
        Progress bars on stderr.

    Returns
    -------
    NetworkGains
    """
    net = as_network(network)
    model = check_model(model)
    if samples is not None:
        samples = check_samples(samples)
    target = _config.DEFAULT_CI_HALFWIDTH if ci_halfwidth is None else ci_halfwidth
    if not (isinstance(target, int | float) and math.isfinite(target) and target > 0):
        raise RwinitError(f"ci_halfwidth must be a finite number > 0, got {ci_halfwidth!r}")
    if not 0.0 < confidence < 1.0:
        raise RwinitError(f"confidence must be in (0, 1), got {confidence!r}")
    report_samples = check_samples(report_samples)
    ss = seed_sequence(seed)
    if not isinstance(ss.entropy, int):
        raise RwinitError(f"seed must be a whole number >= 0, got {seed!r}")
    seed_value = int(ss.entropy)
    method = "per-layer" if per_layer else "multiplier"
    inputs = {"network": net.key, "model": model, "method": method, "seed": seed_value,
              "ci_halfwidth": float(target), "samples": samples, "confidence": confidence,
              "report": bool(report), "report_samples": report_samples if report else None}

    def compute() -> dict[str, Any]:
        return _compute(net, model, method, seed_value, float(target), samples, confidence,
                        report, report_samples, threads, progress).to_dict()

    answer, hit = cached("network_gains", inputs, compute, enabled=cache,
                         accept=lambda a: bool(NetworkGains.from_dict(a, net)))
    result = NetworkGains.from_dict(answer, net, cached=hit)
    if "max-drift" in result.layer_methods:
        warnings.warn(f"network {net.spec()}: {result.warning}", NoDriftlessGainWarning,
                      stacklevel=2)
    return result


def _compute(net: Network, model: str, method: str, seed: int, target: float,
             samples: int | None, confidence: float, report: bool, report_samples: int,
             threads: int | None, progress: bool) -> NetworkGains:
    z = float(special.ndtri(0.5 + confidence / 2))
    t0 = time.perf_counter()
    D = net.depth
    if method == "per-layer":
        from .per_layer import MAX_ELEMENTS, solve_per_layer

        cap = max(2, min(PER_LAYER_MAX_SAMPLES, MAX_ELEMENTS // max(net.widths)))
        if samples is None:
            pilot_m = min(PER_LAYER_PILOT_SAMPLES, cap)
            layers = solve_per_layer(net, model=model, samples=pilot_m, seed=seed, z=z)
            worst = max(0.5 * (s.ci_high - s.ci_low) for s in layers)
            used = pilot_m
            if worst > target and pilot_m < cap:
                used = min(cap, math.ceil(pilot_m * 1.2 * (worst / target) ** 2))
                layers = solve_per_layer(net, model=model, samples=used, seed=seed, z=z)
        else:
            used = samples
            layers = solve_per_layer(net, model=model, samples=used, seed=seed, z=z)
        gains = tuple(s.g for s in layers)
        flat = [f"layer {d} ({net.widths[d - 1]}->{net.widths[d]}, {net.labels[d - 1]}): "
                f"E ln z_{d} = {s.log_z_mean:.3g} at g = {s.g:.4g}"
                for d, s in enumerate(layers, start=1) if s.method == "max-drift"]
        result = dict(warning=("no gain makes these layers driftless; each has the gain of "
                               "largest drift, which shrinks the gradient least: "
                               + "; ".join(flat)) if flat else "",
                      layer_gains=gains, layer_se=tuple(s.se for s in layers),
                      layer_ci_low=tuple(s.ci_low for s in layers),
                      layer_ci_high=tuple(s.ci_high for s in layers),
                      layer_methods=tuple(s.method for s in layers),
                      log_z_sd=tuple(s.log_z_sd for s in layers), multiplier=None,
                      multiplier_se=None, multiplier_ci=None, samples=used)
    else:
        from .multiplier import multiplier_gains, readout_gain, solve_network_multiplier

        solved = solve_network_multiplier(net, model=model, samples=samples,
                                          ci_halfwidth=None if samples else target,
                                          confidence=confidence, seed=seed, threads=threads,
                                          progress=progress, no_root="max-drift")
        g, se = float(solved.g), float(solved.se)
        gains = multiplier_gains(net, g)
        exact_top = readout_gain(net) is not None
        per = ["multiplier" if solved.method == "root" else solved.method] * D
        ses, lows, highs = [se] * D, [float(solved.ci_low)] * D, [float(solved.ci_high)] * D
        if exact_top:
            per[-1], ses[-1], lows[-1], highs[-1] = "exact", 0.0, gains[-1], gains[-1]
        result = dict(layer_gains=gains, layer_se=tuple(ses), layer_ci_low=tuple(lows),
                      layer_ci_high=tuple(highs), layer_methods=tuple(per),
                      log_z_sd=(math.nan,) * D, multiplier=g, multiplier_se=se,
                      multiplier_ci=(float(solved.ci_low), float(solved.ci_high)),
                      samples=int(solved.samples), warning=solved.warning)
    rep = None
    if report:
        rep = network_report(net, result["layer_gains"], model=model, samples=report_samples,
                             seed=seed, threads=threads)
        if method == "multiplier":
            result["log_z_sd"] = rep["rwinit"].step_sd
    return NetworkGains(network=net, model=model, method=method, confidence=confidence,
                        seed=seed, seconds=time.perf_counter() - t0, report=rep, **result)


__all__ = ["NETWORK_METHODS", "NetworkGains", "NetworkReport", "NoDriftlessGainWarning",
           "network_gains"]
