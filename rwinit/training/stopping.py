"""When to stop training before the last epoch.

A stopping rule is a function of the history so far (the list of per-epoch records of
:func:`rwinit.training.train`, entry 0 the untrained network) that returns a reason to
stop, or ``""`` to go on. The trainer calls it after every epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..validation import check_nonnegative, check_positive_int

StoppingRule = Callable[[Sequence[dict[str, Any]]], str]

#: Epochs in a row that :func:`error_reached` waits for by default.
DEFAULT_PATIENCE = 10


def error_reached(target: float = 0.0, patience: int = DEFAULT_PATIENCE) -> StoppingRule:
    """Stop once the training error has been ≤ ``target`` for ``patience`` epochs in a row.

    With ``target=0`` this is "every training example has been classified correctly for
    ``patience`` epochs": what the paper reports (Sussillo & Abbott, arXiv:1412.6558,
    Fig. 4, training error) can no longer change, only the loss keeps falling. The rule
    does not look at the untrained network (epoch 0).
    """
    target = check_nonnegative(target, "target error")
    patience = check_positive_int(patience, "patience")

    def rule(history: Sequence[dict[str, Any]]) -> str:
        last = history[-patience:]
        if len(history) <= patience or any(r["train_error"] > target for r in last):
            return ""
        return (f"training error <= {target:g} for {patience} epochs in a row "
                f"(epochs {last[0]['epoch']}-{last[-1]['epoch']})")

    return rule
