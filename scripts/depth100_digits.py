"""Depth-100 networks on the 8×8 digits: g = g* trains, g = g*/2 and g = 2 g* do not.

For tanh and ReLU, a network of 100 hidden layers of width N (101 weight matrices, the
last a linear read-out) is trained on the 1797 scikit-learn digits with the same budget
(epochs, optimizer, learning rate, clipping) at hidden gains g*/2, g*, 2 g*. g* is the
stationary, network-model unbiased gain from :func:`rwinit.solver.optimal_gain`
(``--gstar`` overrides it). Training error, not test error, is the measure (as in
Sussillo & Abbott, arXiv:1412.6558, §4). The paper's three-gain recipe is used with a
first-layer gain equal to g and a read-out gain of 1.

Usage::

    python scripts/depth100_digits.py [--width 100] [--jobs 2] [--out docs/depth100_digits.json]

Runs go to ``--jobs`` processes; each pins BLAS to one thread while it trains
(:func:`rwinit.training.train` does, by default), which also makes it a function of its
seed alone.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor

from rwinit.atomic import atomic_write_text
from rwinit.solver import optimal_gain
from rwinit.training import (
    Network,
    chain,
    clip_by_global_norm,
    get_optimizer,
    linear_decay,
    load_digits,
    train,
)

#: Training recipe per nonlinearity (the same for every gain of that nonlinearity).
RECIPES: dict[str, dict] = {
    "tanh": {"optimizer": "momentum", "lr": 0.01, "clip": 1.0, "epochs": 20},
    "relu": {"optimizer": "momentum", "lr": 0.02, "clip": 1.0, "epochs": 60,
             "schedule": "linear"},
}
SCALES = (0.5, 1.0, 2.0)
TARGET_ERROR = 0.05


def run_one(nonlinearity: str, gain: float, scale: float, width: int, hidden: int,
            recipe: dict, seed: int) -> dict:
    data = load_digits()
    net = Network([data.x.shape[1]] + [width] * hidden + [data.n_classes], nonlinearity)
    params = net.init_params(seed, gain=gain, output_gain=1.0)
    lr = recipe["lr"]
    if recipe.get("schedule") == "linear":  # to 1% of lr at the last step (DL eq. 8.14)
        steps = recipe["epochs"] * (data.x.shape[0] // 64)
        lr = linear_decay(recipe["lr"], recipe["lr"] / 100, steps)
    opt = chain(clip_by_global_norm(recipe["clip"]), get_optimizer(recipe["optimizer"], lr))
    res = train(net, params, opt, data, epochs=recipe["epochs"], batch_size=64, rng=seed,
                progress=False)
    errors = [r["train_error"] for r in res.history]
    reached = next((r["epoch"] for r in res.history if r["train_error"] < TARGET_ERROR), None)
    return {
        "nonlinearity": nonlinearity, "gain_scale": scale, "gain": gain, "width": width,
        "hidden_layers": hidden, **recipe, "seed": seed,
        "final_train_error": errors[-1], "best_train_error": min(errors),
        "epoch_below_5pct": reached, "diverged": res.diverged, "message": res.message,
        "seconds": res.seconds, "steps": res.steps,
        "first_layer_grad_norm": res.history[-1].get("grad_norms", [None])[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=100, help="hidden layers")
    parser.add_argument("--nonlinearities", nargs="+", default=["tanh", "relu"])
    parser.add_argument("--gstar", type=float, nargs="+",
                        help="g* per nonlinearity instead of solving for it")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scales", type=float, nargs="+", default=list(SCALES))
    parser.add_argument("--out", default="docs/depth100_digits.json")
    args = parser.parse_args()

    gstar = {}
    for i, name in enumerate(args.nonlinearities):
        if args.gstar:
            gstar[name] = (args.gstar[i], "given")
        else:
            t0 = time.perf_counter()
            r = optimal_gain(name, args.width, None, model="network", seed=0)
            gstar[name] = (r.g, f"optimal_gain: {r.g:.4f} ± {r.se:.4f} "
                                f"({time.perf_counter() - t0:.0f} s)")
        print(f"g*({name}, N={args.width}) = {gstar[name][0]:.4f}  [{gstar[name][1]}]", flush=True)

    jobs = [(name, s * gstar[name][0], s, args.width, args.hidden, RECIPES[name], args.seed)
            for name in args.nonlinearities for s in args.scales]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(run_one, *zip(*jobs, strict=True)))

    print("\n| f | g/g* | g | budget | final train error | best | epoch < 5% | diverged |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        budget = f"{r['epochs']} epochs ({r['steps']} steps), {r['optimizer']} lr {r['lr']}" \
                 f"{' linear decay' if r.get('schedule') else ''}, clip {r['clip']}"
        print(f"| {r['nonlinearity']} | {r['gain_scale']} | {r['gain']:.4f} | {budget} | "
              f"{r['final_train_error']:.4f} | {r['best_train_error']:.4f} | "
              f"{r['epoch_below_5pct'] or '—'} | {r['diverged']} |")
    atomic_write_text(args.out, json.dumps({"gstar": gstar, "runs": rows}, indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
