"""Time rwinit.network_gains cold (Monte Carlo) and warm (disk cache) for one network.

The default is the case of issue 9: 50 tanh layers of width 128 (and a linear read-out),
network model, default CI target, with the per-network report. The answer cache lives
in a fresh temporary directory, so the first call always computes; the compiled kernels
come from the user's kernel cache (linked into it), as they would for a training script
run a second time, so "cold" is the Monte Carlo solve and not Numba's one-time build::

    python scripts/bench_network_gains.py
    python scripts/bench_network_gains.py --spec 784-relu-512x2-linear-10 --per-layer
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="128-tanh-128x50-linear-128")
    parser.add_argument("--per-layer", action="store_true")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)
    from rwinit.kernels.factory import kernel_cache_dir

    kernels = kernel_cache_dir()  # the user's, before the override below
    kernels.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["RWINIT_CACHE_DIR"] = folder
        os.symlink(kernels, os.path.join(folder, "kernels"))
        from rwinit.network_gain import network_gains

        kw = dict(per_layer=args.per_layer, report=not args.no_report)
        t0 = time.perf_counter()
        cold = network_gains(args.spec, **kw)
        t1 = time.perf_counter()
        warm = network_gains(args.spec, **kw)
        t2 = time.perf_counter()
    assert not cold.cached and warm.cached and warm.layer_gains == cold.layer_gains
    what = "per-layer" if args.per_layer else f"multiplier {cold.multiplier:.5f}"
    print(f"{args.spec}: {what}, {cold.samples} samples; cold {t1 - t0:.2f} s, "
          f"warm (cache) {1000 * (t2 - t1):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
