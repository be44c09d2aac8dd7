"""Races in tests: run callables in threads of their own, started together, and wait for them."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_at_once(*targets: Callable[[], object], timeout: float = 30) -> None:
    """Start a thread per target, then wait up to ``timeout`` seconds for each."""
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
