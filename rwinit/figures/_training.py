"""Shared pieces of the training figures: data, parameter budget, one training run.

Networks are built and trained with the public trainer (:mod:`rwinit.training`): depth D
weight layers, D − 1 hidden layers of width N and a linear read-out; weights of std
g/√fan_in on every layer, zero biases; minibatch SGD with momentum (α = 0.9). Each
configuration is trained at every learning rate of a small grid and the best final
training error is kept, as in the paper, which reports training (not test) error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import rwinit
from rwinit import training

from ._common import Options

#: Momentum coefficient of every training run.
MOMENTUM = 0.9
#: Minibatch size of every training run.
BATCH_SIZE = 64
#: Rows of MNIST used when --data-dir is given (a NumPy trainer on 2 cores).
MNIST_ROWS = 10_000


def load_data(options: Options) -> training.Dataset:
    """sklearn's digits, or the first rows of MNIST's training set when ``data_dir`` is set."""
    if options.data_dir is None:
        return training.load_digits()
    data = training.load_mnist(options.data_dir)
    n = 2_000 if options.quick else MNIST_ROWS
    return training.Dataset(data.x[:n], data.y[:n], data.n_classes, data.name)


def budget_width(depth: int, budget: int, n_in: int, n_out: int) -> int:
    """Width N of a depth-D network with about ``budget`` weights.

    Weights: n_in·N + (D − 2)·N² + N·n_out; the positive root, rounded, at least 2.
    """
    a, b = depth - 2, n_in + n_out
    N = budget / b if a == 0 else (-b + math.sqrt(b * b + 4 * a * budget)) / (2 * a)
    return max(2, int(round(N)))


def unbiased_gain(nonlinearity: str, width: int, depth: int, seed: int,
                  samples: int = 256) -> float:
    """Depth-D (network model) g* for the D − 1 hidden layers of width N."""
    return rwinit.optimal_gain(nonlinearity, width, max(1, depth - 1), model="network",
                               samples=samples, seed=seed).g


@dataclass
class Run:
    """A finished training run (the best over the learning-rate grid)."""

    lr: float
    final_error: float
    errors: list[float]
    diverged: bool
    result: training.TrainResult


def sizes(data: training.Dataset, depth: int, width: int, task: str) -> list[int]:
    """Layer sizes (N_0, N, …, N, N_D) of a classifier or an autoencoder."""
    n_out = data.n_classes if task == "classify" else data.x.shape[1]
    return [data.x.shape[1]] + [width] * (depth - 1) + [n_out]


def train_once(data: training.Dataset, nonlinearity: str, depth: int, width: int, gain: float,
               lr: float, epochs: int, seed: int, task: str = "classify") -> Run:
    """Train one network; a diverged run keeps its last finite epoch and counts as failed."""
    net = training.Network(sizes(data, depth, width, task), nonlinearity)
    params = net.init_params(np.random.default_rng(seed), gain=gain)
    result = training.train(net, params, training.momentum(lr, alpha=MOMENTUM), data,
                            epochs=epochs, batch_size=BATCH_SIZE, rng=seed, task=task,
                            progress=False)
    errors = [float(h["train_error"]) for h in result.history]
    final = errors[-1] if not result.diverged else max(errors[0], errors[-1])
    return Run(lr, final, errors, result.diverged, result)


def best_over_rates(data: training.Dataset, nonlinearity: str, depth: int, width: int,
                    gain: float, rates: list[float], epochs: int, seed: int,
                    task: str = "classify") -> Run:
    """The run with the lowest final training error over the learning-rate grid."""
    runs = [train_once(data, nonlinearity, depth, width, gain, lr, epochs, seed, task)
            for lr in rates]
    return min(runs, key=lambda r: (not math.isfinite(r.final_error), r.final_error))
