"""One gain multiplier for a whole network: the depth-D unbiased gain, generalised.

For a :class:`rwinit.network.Network` of D weight layers, the multiplier g gives every
layer the weight std g/√n_{d-1} and is chosen so that the whole walk is driftless:
E[ln(|δ_0|/|δ_D|)] = ½ Σ_d E ln z_d = 0 (Sussillo & Abbott, arXiv:1412.6558, §3; the
depth-D variant of docs/design.md, § The solver, with rectangular layers, § Rectangular
layers). For a square network whose layers share one nonlinearity this is exactly
``optimal_gain(f, N, depth=D)``.

The read-out: a *linear* last layer gets its own exact gain
g_D = exp(−½[ψ(n_{D-1}/2) − ln(n_{D-1}/2)]), which makes E ln z_D = 0 whatever the
layers below do (its ln z_D does not depend on the forward state), and the multiplier
is solved for the layers below it. A nonlinear last layer shares the multiplier.

The walk is sampled by :func:`rwinit.walk.simulate_layers` and the root found by
:func:`rwinit.solver.solve_multiplier` (common random numbers, CI from the SE of the
drift at the root over its slope).
"""

from __future__ import annotations

import math
from typing import Any

from scipy import special

from ..network import Network


def readout_gain(net: Network) -> float | None:
    """The exact gain of a linear read-out layer, or None if the read-out is nonlinear
    (or the network has a single layer, which then gets the multiplier)."""
    last = net.nonlinearities[-1]
    if net.depth < 2 or last.name != "linear":
        return None
    n = net.fan_in[-1]
    return math.exp(-0.5 * (float(special.digamma(n / 2)) - math.log(n / 2)))


def multiplier_gains(net: Network, multiplier: float) -> tuple[float, ...]:
    """g_d for every layer given the multiplier (the read-out rule above)."""
    g_read = readout_gain(net)
    if g_read is None:
        return (float(multiplier),) * net.depth
    return (float(multiplier),) * (net.depth - 1) + (g_read,)


def solve_network_multiplier(net: Network, *, model: str, samples: int | None,
                             ci_halfwidth: float | None, confidence: float, seed: int,
                             threads: int | None = None, progress: bool = False,
                             no_root: str = "raise") -> Any:
    """The multiplier's solve (the object :func:`rwinit.solver.solve_multiplier` returns;
    ``no_root`` as there)."""
    from ..solver import solve_multiplier
    from ..walk import simulate_layers

    widths = list(net.widths)
    nls = list(net.nonlinearities)
    bias = list(net.bias_std)
    # scalars stay scalars (the walk broadcasts them; no n_0 array before its size check)
    mean, std = net.input_mean, net.input_std

    def walk_at(multiplier: float, n_samples: int, walk_seed: Any):
        return simulate_layers(widths, nls, list(multiplier_gains(net, multiplier)),
                               bias_std=bias, input_mean=mean, input_std=std, model=model,
                               samples=n_samples, seed=walk_seed, threads=threads)

    return solve_multiplier(walk_at, ci_halfwidth=ci_halfwidth, samples=samples,
                            confidence=confidence, start=1.0, seed=seed, progress=progress,
                            what="this network", no_root=no_root)


__all__ = ["multiplier_gains", "readout_gain", "solve_network_multiplier"]
