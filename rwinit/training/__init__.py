"""A minimal, exact NumPy trainer that shows the gains matter (docs/design.md §Training).

Small modules with one job each: :mod:`.network` (forward and backward),
:mod:`.losses`, :mod:`.optimizers` (optax-style (init, update) pairs, *Deep Learning*
ch. 8), :mod:`.schedules`, :mod:`.stopping`, :mod:`.data` and :mod:`.loop`.
"""

from __future__ import annotations

from .data import Dataset, load_dataset, load_digits, load_mnist, read_idx, teacher_student
from .loop import TrainResult, save_history, train
from .losses import mean_squared_error, softmax_cross_entropy
from .network import Network
from .optimizers import (
    GradientTransformation,
    adagrad,
    adam,
    apply_updates,
    chain,
    clip_by_global_norm,
    get_optimizer,
    momentum,
    nesterov,
    rmsprop,
    rmsprop_nesterov,
    sgd,
)
from .schedules import constant, depth_scaled_rates, exponential_decay, linear_decay, per_layer
from .stopping import StoppingRule, error_reached

__all__ = [
    "Dataset",
    "GradientTransformation",
    "Network",
    "StoppingRule",
    "TrainResult",
    "adagrad",
    "adam",
    "apply_updates",
    "chain",
    "clip_by_global_norm",
    "constant",
    "depth_scaled_rates",
    "error_reached",
    "exponential_decay",
    "get_optimizer",
    "linear_decay",
    "load_dataset",
    "load_digits",
    "load_mnist",
    "mean_squared_error",
    "momentum",
    "nesterov",
    "per_layer",
    "read_idx",
    "rmsprop",
    "rmsprop_nesterov",
    "save_history",
    "sgd",
    "softmax_cross_entropy",
    "teacher_student",
    "train",
]
