"""Per-layer gains against one multiplier: how flat, and how driftless, is the walk?

For each network, both methods of :func:`rwinit.network_gains` (network model, default
CI target), and from the report at their gains: the whole walk E ln(|δ_0|/|δ_D|) with its
s.d. across networks, and max_d |E ln(|δ_d|/|δ_D|)| — how far |δ| strays inside the
network (0 for a perfectly flat profile). Prints the time of each (no cache)::

    python scripts/compare_network_methods.py
"""

from __future__ import annotations

import time

import numpy as np

from rwinit.network_gain import network_gains

NETS = ("128-tanh-128x50-linear-10", "784-relu-512x2-linear-10",
        "3-tanh-256-tanh-16-tanh-256-tanh-16-tanh-256-linear-10",
        "784-tanh-1024-tanh-64-tanh-512-tanh-32-linear-10",
        "100-gelu-128x20-linear-10")


def main() -> int:
    for spec in NETS:
        for per in (False, True):
            t = time.perf_counter()
            r = network_gains(spec, per_layer=per, cache=False, report_samples=2000)
            w = r.report["rwinit"]
            mean = np.array(w.mean)
            print(f"{spec:55s} {'per-layer ' if per else 'multiplier'} "
                  f"total {mean[0]:+.3f} ± {w.mean_se[0]:.3f} (sd {w.sd[0]:.3f})  "
                  f"max|E ln δ_d/δ_D| {np.abs(mean).max():.3f}  "
                  f"gains {np.round(r.layer_gains[:4], 3)}  {time.perf_counter() - t:.1f} s",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
