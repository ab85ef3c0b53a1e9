"""Progress feedback on stderr, shown only for work that lasts more than a second.

A thin wrapper over tqdm (a well-kept library that handles terminals, rates and time
left better than code we would write); ``enabled=False`` gives a no-op bar.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm

#: Seconds before a bar appears, so that quick work prints nothing.
PROGRESS_DELAY: float = 1.0


@contextmanager
def progress_bar(total: int | None, desc: str, enabled: bool = True) -> Iterator[tqdm]:
    """A tqdm bar on stderr that appears after :data:`PROGRESS_DELAY` seconds."""
    bar = tqdm(
        total=total,
        desc=desc,
        disable=not enabled,
        delay=PROGRESS_DELAY,
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    )
    try:
        yield bar
    finally:
        bar.close()
