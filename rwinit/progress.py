"""Progress feedback on stderr, shown only for work that lasts more than a second.

A thin wrapper over tqdm (a well-kept library that handles terminals, rates and time
left better than code we would write); ``enabled=False`` gives a no-op bar without
importing tqdm (20-35 ms that a quiet run need not pay). A bar whose
steps are long (a figure whose first network takes minutes to train) still appears after
:data:`PROGRESS_DELAY` seconds and its elapsed time keeps moving: a background thread
redraws it every :data:`PROGRESS_TICK` seconds until it is closed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm

#: Seconds before a bar appears, so that quick work prints nothing.
PROGRESS_DELAY: float = 1.0
#: Seconds between redraws of a bar that has not advanced.
PROGRESS_TICK: float = 2.0


class _NoBar:
    """A disabled bar: the calls rwinit makes on a bar, as no-ops."""

    def update(self, n: float = 1) -> None:
        return None

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        return None

    def close(self) -> None:
        return None


def _tick(bar: tqdm, closed: threading.Event) -> None:
    if closed.wait(PROGRESS_DELAY):
        return
    while True:
        bar.update(0)  # redraws (past the delay) without advancing
        if closed.wait(PROGRESS_TICK):
            return


@contextmanager
def progress_bar(total: int | None, desc: str,
                 enabled: bool = True) -> Iterator[tqdm | _NoBar]:
    """A tqdm bar on stderr that appears after :data:`PROGRESS_DELAY` seconds (a
    :class:`_NoBar` when not ``enabled``)."""
    if not enabled:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    bar = tqdm(
        total=total,
        desc=desc,
        delay=PROGRESS_DELAY,
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    )
    closed = threading.Event()
    threading.Thread(target=_tick, args=(bar, closed), daemon=True).start()
    try:
        yield bar
    finally:
        closed.set()
        bar.close()
