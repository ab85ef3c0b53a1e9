"""The per-network report: how ln|δ| moves through the network under several gain schemes.

For layer gains g_1 … g_D (weight std g_d/√n_{d-1}), the report gives, for every layer
d = 0 … D, the expected log-ratio E[ln(|δ_d|/|δ_D|)] of back-propagated error norms and
its ±1 s.d. band (sample standard deviation across networks), from a walk through the
actual widths (:func:`rwinit.walk.simulate_layers`; docs/design.md, § Rectangular
layers; Sussillo & Abbott, arXiv:1412.6558, §2). A flat line at 0 is a driftless walk.

Schemes compared (each applied to every layer, as the frameworks do):

``rwinit``   the gains rwinit computed for this network;
``pytorch``  PyTorch's default for ``nn.Linear``: kaiming_uniform with a = √5, i.e.
             U(−1/√fan_in, 1/√fan_in), whose std is 1/√(3 fan_in): g = 1/√3;
``he``       He et al. 2015: g = √2;
``glorot``   Glorot & Bengio 2010: std √(2/(n_{d-1} + n_d)), i.e. g_d = √(2 n_{d-1}/(n_{d-1}+n_d));
``lecun``    LeCun 1998: g = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RwinitError
from ..network import Network

#: Names of the schemes in the report, in display order.
SCHEMES: tuple[str, ...] = ("rwinit", "pytorch", "he", "glorot", "lecun")


def scheme_gains(net: Network, scheme: str) -> tuple[float, ...]:
    """Layer gains g_d of a classic scheme (weight std g_d/√fan_in) for ``net``."""
    D = net.depth
    if scheme == "pytorch":
        return (1.0 / math.sqrt(3.0),) * D
    if scheme == "he":
        return (math.sqrt(2.0),) * D
    if scheme == "lecun":
        return (1.0,) * D
    if scheme == "glorot":
        return tuple(math.sqrt(2.0 * a / (a + b)) for a, b in zip(net.fan_in, net.fan_out,
                                                                  strict=True))
    raise RwinitError(f"unknown scheme {scheme!r}; accepted: {', '.join(SCHEMES[1:])}")


@dataclass(frozen=True)
class SchemeWalk:
    """E[ln(|δ_d|/|δ_D|)] for d = 0 … D (index d), its s.d. and SE, under one scheme."""

    scheme: str
    gains: tuple[float, ...]
    mean: tuple[float, ...]
    sd: tuple[float, ...]
    mean_se: tuple[float, ...]
    step_sd: tuple[float, ...] = ()
    dead: int = 0

    @property
    def drift_per_layer(self) -> float:
        """E[ln(|δ_0|/|δ_D|)] / D: the average drift per layer of the whole walk."""
        return self.mean[0] / (len(self.mean) - 1)

    def to_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "gains": list(self.gains), "mean": _clean(self.mean),
                "sd": _clean(self.sd), "mean_se": _clean(self.mean_se),
                "step_sd": _clean(self.step_sd), "dead": self.dead,
                "drift_per_layer": _clean([self.drift_per_layer])[0]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SchemeWalk:
        def t(v: list) -> tuple[float, ...]:
            return tuple(math.nan if x is None else float(x) for x in v)

        return cls(str(d["scheme"]), t(d["gains"]), t(d["mean"]), t(d["sd"]), t(d["mean_se"]),
                   t(d.get("step_sd", [])), int(d.get("dead", 0)))


def _clean(values: Any) -> list:
    return [None if not math.isfinite(float(x)) else float(x) for x in values]


@dataclass(frozen=True)
class NetworkReport:
    """The walk of ln|δ| through one network under each gain scheme."""

    widths: tuple[int, ...]
    model: str
    samples: int
    walks: tuple[SchemeWalk, ...] = field(default=())

    def __getitem__(self, scheme: str) -> SchemeWalk:
        for w in self.walks:
            if w.scheme == scheme:
                return w
        raise KeyError(scheme)

    def to_dict(self) -> dict[str, Any]:
        return {"widths": list(self.widths), "model": self.model, "samples": self.samples,
                "walks": [w.to_dict() for w in self.walks]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetworkReport:
        return cls(tuple(int(x) for x in d["widths"]), str(d["model"]), int(d["samples"]),
                   tuple(SchemeWalk.from_dict(w) for w in d["walks"]))

    def text(self) -> str:
        """A table: one row per layer d, one 'mean ± s.d.' column per scheme."""
        D = len(self.widths) - 1
        head = f"{'layer':>5} {'width':>6}  " + "  ".join(f"{w.scheme:>16}" for w in self.walks)
        lines = ["E ln(|δ_d|/|δ_D|) ± 1 s.d. across networks", head]
        for d in range(D + 1):
            cells = "  ".join(f"{w.mean[d]:+8.3f} ±{w.sd[d]:6.3f}" for w in self.walks)
            lines.append(f"{d:>5} {self.widths[d]:>6}  {cells}")
        drift = "  ".join(f"{w.drift_per_layer:+16.4f}" for w in self.walks)
        lines.append(f"{'drift/layer':>12}  {drift}")
        return "\n".join(lines)

    def plot(self, path: str | Path) -> None:
        """Save the report as a figure (matplotlib is imported only here), atomically."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..atomic import atomic_write

        fmt = Path(path).suffix.lstrip(".").lower() or "png"
        fig, ax = plt.subplots(figsize=(7, 4.2))
        d = np.arange(len(self.widths))
        for w in self.walks:
            mean, sd = np.asarray(w.mean), np.asarray(w.sd)
            (line,) = ax.plot(d, mean, label=f"{w.scheme} ({w.drift_per_layer:+.3f}/layer)")
            ax.fill_between(d, mean - sd, mean + sd, color=line.get_color(), alpha=0.15)
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set_xlabel("layer d (0 = input, D = read-out)")
        ax.set_ylabel("ln(|δ_d| / |δ_D|)")
        ax.set_title(f"{'-'.join(map(str, self.widths))}, {self.model} model, ±1 s.d.",
                     fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        try:
            atomic_write(path, lambda f: fig.savefig(f, format=fmt))
        except ValueError as exc:
            raise RwinitError(f"cannot save the plot as {fmt!r}: {exc}") from None
        finally:
            plt.close(fig)


def walk_scheme(net: Network, gains: tuple[float, ...], *, scheme: str, model: str,
                samples: int, seed: int, threads: int | None = None) -> SchemeWalk:
    """Sample the walk of ``net`` at ``gains`` (:func:`rwinit.walk.simulate_layers`)."""
    from ..walk import simulate_layers

    r = simulate_layers(list(net.widths), list(net.nonlinearities), list(gains),
                        bias_std=list(net.bias_std), input_mean=net.input_mean,
                        input_std=net.input_std, model=model, samples=samples,
                        seed=seed, threads=threads)
    D = net.depth
    # step j is the (j+1)-th layer from the top: walk_mean[j] = ln(|δ_{D-1-j}| / |δ_D|)
    mean = [float(r.walk_mean[D - 1 - d]) for d in range(D)] + [0.0]
    sd = [math.sqrt(max(float(r.walk_var[D - 1 - d]), 0.0)) for d in range(D)] + [0.0]
    se = [float(r.walk_mean_se[D - 1 - d]) for d in range(D)] + [0.0]
    # sd of ln z_d for d = 1 … D (layer d is step D − d)
    step_sd = [math.sqrt(max(float(r.log_z_var[D - d]), 0.0)) for d in range(1, D + 1)]
    return SchemeWalk(scheme, tuple(gains), tuple(mean), tuple(sd), tuple(se), tuple(step_sd),
                      int(r.dead))


def network_report(net: Network, gains: tuple[float, ...], *, model: str, samples: int,
                   seed: int, threads: int | None = None,
                   schemes: tuple[str, ...] = SCHEMES) -> NetworkReport:
    """The report for rwinit's ``gains`` and each classic scheme (same seed: CRN)."""
    walks = []
    for s in schemes:
        g = tuple(gains) if s == "rwinit" else scheme_gains(net, s)
        walks.append(walk_scheme(net, g, scheme=s, model=model, samples=samples, seed=seed,
                                 threads=threads))
    return NetworkReport(net.widths, model, samples, tuple(walks))


__all__ = ["NetworkReport", "SCHEMES", "SchemeWalk", "network_report", "scheme_gains",
           "walk_scheme"]
