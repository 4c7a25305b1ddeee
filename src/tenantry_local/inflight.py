"""Work the runtime started in the background and has not finished (asynchronous invocations, rule
deliveries): `settled()` waits for it to reach zero."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class InFlight:
    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    @property
    def idle(self) -> bool:
        return self._count == 0

    def spawn(self, work: Callable[..., None], *args: Any, name: str | None = None) -> None:
        """Run `work(*args)` on a thread of its own, counted from now (not from when the thread is scheduled)
        until it returns or raises."""
        with self._lock:
            self._count += 1

        def run() -> None:
            try:
                work(*args)
            finally:
                with self._lock:
                    self._count -= 1

        threading.Thread(target=run, name=name, daemon=True).start()
