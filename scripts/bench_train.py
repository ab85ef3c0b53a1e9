"""Training steps per second: rwinit's NumPy trainer against an equivalent PyTorch CPU MLP.

Both run in this process, side by side, with the same depth, width, batch size,
nonlinearity, dtype and optimizer (SGD with momentum 0.9, lr 0.01; one step = forward,
softmax cross-entropy, backward, update) and the same number of BLAS / intra-op threads
(threadpoolctl for NumPy's BLAS, ``torch.set_num_threads`` for PyTorch).

Usage::

    python scripts/bench_train.py [--depth 20] [--batch 128] [--threads 1] [--dtype float64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def bench_numpy(depth: int, width: int, batch: int, dtype, steps: int, x, y) -> float:
    from rwinit.training import Network, apply_updates, momentum
    from rwinit.training.losses import softmax_cross_entropy

    net = Network([x.shape[1]] + [width] * (depth - 1) + [10], "tanh", dtype=dtype)
    params = net.init_params(0, gain=1.1)
    opt = momentum(0.01, 0.9)
    state = opt.init(params)
    xb = x.astype(dtype)

    def step(params, state):
        out, cache = net.forward(params, xb)
        _, delta = softmax_cross_entropy(out, y)
        grads = net.backward(params, cache, delta)
        updates, state = opt.update(grads, state, params)
        return apply_updates(params, updates), state

    for _ in range(3):
        params, state = step(params, state)
    t0 = time.perf_counter()
    for _ in range(steps):
        params, state = step(params, state)
    return steps / (time.perf_counter() - t0)


def bench_torch(depth: int, width: int, batch: int, dtype, steps: int, x, y) -> float:
    import torch

    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    layers: list = []
    sizes = [x.shape[1]] + [width] * (depth - 1) + [10]
    for d in range(depth):
        layers.append(torch.nn.Linear(sizes[d], sizes[d + 1], dtype=tdtype))
        if d < depth - 1:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    xb = torch.tensor(x, dtype=tdtype)
    yb = torch.tensor(y)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--seconds", type=float, default=3.0, help="rough time per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many")
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    dtype = np.float64 if args.dtype == "float64" else np.float32
    rng = np.random.default_rng(0)
    print(f"depth {args.depth}, batch {args.batch}, tanh, SGD+momentum, {args.dtype}, "
          f"{args.threads} thread(s); torch {torch.__version__}, numpy {np.__version__}")
    print(f"{'width':>6} {'numpy steps/s':>14} {'torch steps/s':>14} {'torch/numpy':>12}")
    with threadpool_limits(args.threads):
        for width in args.widths:
            x = rng.standard_normal((args.batch, 64))
            y = rng.integers(0, 10, args.batch)
            probe = bench_torch(args.depth, width, args.batch, dtype, 5, x, y)
            steps = max(10, int(probe * args.seconds / args.repeats))
            ours, theirs = 0.0, 0.0
            for _ in range(args.repeats):  # interleaved, best of each
                ours = max(ours, bench_numpy(args.depth, width, args.batch, dtype, steps, x, y))
                theirs = max(theirs, bench_torch(args.depth, width, args.batch, dtype, steps, x, y))
            print(f"{width:>6} {ours:>14.1f} {theirs:>14.1f} {theirs / ours:>12.2f}", flush=True)


if __name__ == "__main__":
    main()
