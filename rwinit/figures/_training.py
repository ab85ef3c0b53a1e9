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


@dataclass(frozen=True)
class Recipe:
    """The paper's training recipe (Sussillo & Abbott, arXiv:1412.6558, §4).

    Plain minibatch SGD; layer d of a depth-D network learns at λ_out·r^(D−d) with
    r = (λ_in/λ_out)^(1/(D_max−1)) (:func:`rwinit.training.depth_scaled_rates`), every rate
    multiplied by ``decay`` after each epoch (:func:`rwinit.training.exponential_decay`);
    the gradient is clipped to global norm ``clip`` before the step. See docs/design.md,
    § Training.
    """

    lr_out: float
    lr_in: float
    max_depth: int
    decay: float
    clip: float
    batch_size: int

    def layer_rates(self, depth: int) -> np.ndarray:
        """λ_1 … λ_D of a depth-D network at epoch 0."""
        return training.depth_scaled_rates(self.lr_in, self.lr_out, depth, self.max_depth)

    def optimizer(self, depth: int, steps_per_epoch: int) -> training.GradientTransformation:
        """clip → SGD with rate λ_d·decay^⌊k/steps_per_epoch⌋ for (W_d, b_d) at step k."""
        schedule = training.exponential_decay(1.0, self.decay, steps_per_epoch)
        rates = training.per_layer(schedule, self.layer_rates(depth))
        return training.chain(training.clip_by_global_norm(self.clip), training.sgd(rates))


def top_cosine(net: training.Network, params: list, x: np.ndarray) -> float:
    """Mean cosine between the last hidden layer's pre-activations of different inputs.

    Near 1 when the network maps every input to almost the same direction (the collapse
    of :mod:`rwinit.correlation`); measured on the rows of ``x``.
    """
    if net.depth < 2:
        return math.nan
    _, cache = net.forward(params, x)
    a = cache.preacts[-1]
    u = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-300)
    c = u @ u.T
    n = len(x)
    return float((c.sum() - np.trace(c)) / (n * (n - 1)))


def train_recipe(data: training.Dataset, nonlinearity: str, depth: int, width: int,
                 gain: float, recipe: Recipe, epochs: int, seed: int,
                 task: str = "classify", stop: training.StoppingRule | None = None) -> dict:
    """Train one network with ``recipe``; the result as a dictionary of plain values.

    Besides the per-epoch training errors it records measured diagnostics: the
    per-layer gradient norms ‖∂L/∂W_d‖ (geometric mean over the first and the last
    epoch's steps) and the mean cosine between different inputs' top hidden
    pre-activations at initialisation and after training (:func:`top_cosine`, on the
    first 200 rows). ``stop`` is a stopping rule for :func:`rwinit.training.train`.
    """
    net = training.Network(sizes(data, depth, width, task), nonlinearity)
    params = net.init_params(np.random.default_rng(seed), gain=gain)
    steps = max(len(data.x) // recipe.batch_size, 1)
    probe = data.x[:200]
    cos0 = top_cosine(net, params, probe)
    result = training.train(net, params, recipe.optimizer(depth, steps), data, epochs=epochs,
                            batch_size=recipe.batch_size, rng=seed, task=task, progress=False,
                            stop=stop)
    errors = [float(h["train_error"]) for h in result.history]
    grads = [h["grad_norms"] for h in result.history[1:]]
    return {"errors": errors, "final_error": errors[-1], "diverged": result.diverged,
            "epochs_done": result.epochs, "stopped": result.stopped, "cos_init": cos0,
            "cos_final": top_cosine(net, result.params, probe),
            "grad_first": grads[0] if grads else [], "grad_last": grads[-1] if grads else [],
            "seconds": result.seconds}
