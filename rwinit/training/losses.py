"""Losses of the trainer, each returning its value and its gradient with respect to the
network output (the error vector δ_D that back-propagation starts from).

Both are means over the minibatch, so their gradients carry a factor 1/B.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..validation import check_choice

LossFunction = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to the logits.

    .. math::

        L = -\\frac1B \\sum_b \\ln \\operatorname{softmax}(z_b)_{y_b},\\qquad
        \\frac{\\partial L}{\\partial z_b} = \\frac1B\\left(\\operatorname{softmax}(z_b)
        - e_{y_b}\\right)

    (Goodfellow et al., *Deep Learning*, §6.2.2.3). The log-sum-exp is shifted by the
    row maximum, so large logits neither overflow nor lose precision.

    Parameters
    ----------
    logits : numpy.ndarray
        Shape ``(B, C)``.
    labels : numpy.ndarray
        Integer classes, shape ``(B,)``.
    """
    batch = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    rows = np.arange(batch)
    loss = -float(log_p[rows, labels].mean())
    grad = np.exp(log_p)
    grad[rows, labels] -= 1.0
    grad /= batch
    return loss, grad


def mean_squared_error(output: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean over all entries of the squared error, and its gradient.

    .. math::

        L = \\frac{1}{B M} \\sum_{b,m} (y_{bm} - t_{bm})^2,\\qquad
        \\frac{\\partial L}{\\partial y} = \\frac{2}{B M}(y - t)

    (the convention of ``torch.nn.MSELoss``; used for the autoencoder of docs/design.md §Training).
    """
    diff = output - target
    loss = float(np.mean(diff * diff))
    return loss, diff * (2.0 / diff.size)


def classification_error(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose arg-max logit is not the label."""
    return float(np.mean(np.argmax(logits, axis=1) != labels))


#: Losses by name.
LOSSES: dict[str, LossFunction] = {
    "cross_entropy": softmax_cross_entropy,
    "mse": mean_squared_error,
}


def get_loss(name: str) -> LossFunction:
    """A loss by name (``"cross_entropy"`` or ``"mse"``)."""
    return LOSSES[check_choice(name, "loss", LOSSES)]
