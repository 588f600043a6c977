"""A reader thread watching a store while the test changes it."""

from __future__ import annotations

import threading
from collections.abc import Callable


def misses_while(seen_whole: Callable[[], bool], change: Callable[[], None],
                 times: int) -> int:
    """How often ``seen_whole()`` was False, read in a loop while ``change()`` ran ``times``
    times in this thread."""
    misses, stop = [0], threading.Event()

    def read() -> None:
        while not stop.is_set():
            if not seen_whole():
                misses[0] += 1

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for _ in range(times):
            change()
    finally:
        stop.set()
        thread.join()
    return misses[0]
