"""A spec item's time limit: ``timeout:`` in the spec, else the ini ``rnn_parity_timeout``.

Where the platform has ``SIGALRM`` and the item runs on the main thread (as under
pytest and pytest-xdist), an interval timer interrupts the item when its time is up:
a candidate that sleeps or loops is stopped there. The signal is handled between two
Python steps, so a single long call into TensorFlow is stopped when it returns.
Elsewhere, or when another timer is already running (pytest-timeout's), the limit is
checked when the item ends. Either way the item fails with
:class:`~pytest_rnnparity.errors.ItemTimeout`, saying how long it ran, and the session
goes on.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pytest_rnnparity.errors import ItemTimeout


def timeout_message(elapsed: float, limit: float, source: str) -> str:
    """``timed out after 2.01 s: the limit is 2 s (timeout: at specs/x.yaml:11)``."""
    return f"timed out after {elapsed:.2f} s: the limit is {limit:g} s ({source})"


@contextmanager
def time_limit(seconds: float | None, *, source: str) -> Iterator[None]:
    """Raise :class:`ItemTimeout` when the block runs longer than ``seconds`` (None: no limit).

    ``source`` says where the limit is set, for the message.
    """
    if seconds is None:
        yield
        return
    started = time.monotonic()
    if not _can_interrupt():
        yield
        elapsed = time.monotonic() - started
        if elapsed > seconds:
            raise ItemTimeout(timeout_message(elapsed, seconds, source))
        return

    def expire(signum: int, frame: Any) -> None:
        raise ItemTimeout(timeout_message(time.monotonic() - started, seconds, source))

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _can_interrupt() -> bool:
    """Whether an interval timer may stop the item: SIGALRM, the main thread, no timer set."""
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
