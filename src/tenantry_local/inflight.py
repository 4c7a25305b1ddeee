"""Work the runtime started in the background and has not finished (asynchronous invocations, rule
deliveries): `settled()` waits for it to reach zero, and `running()` says what is still at it."""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Work:
    name: str
    started: float  # time.monotonic()
    thread_id: int | None  # None until its thread runs

    def describe(self, now: float) -> str:
        """Its name, its age and where its thread is now (the stack's innermost frames)."""
        line = f"{self.name}, running for {now - self.started:.1f}s"
        frame = sys._current_frames().get(self.thread_id) if self.thread_id is not None else None
        if frame is None:
            return line + " (not yet scheduled)"
        stack = traceback.format_stack(frame)[-6:]
        return line + " at\n" + "".join(stack)


class InFlight:
    def __init__(self) -> None:
        self._works: dict[int, Work] = {}
        self._next = 0
        self._lock = threading.Lock()

    @property
    def idle(self) -> bool:
        return not self._works

    def running(self) -> list[Work]:
        """What is in flight now, the longest-running first."""
        with self._lock:
            return sorted(self._works.values(), key=lambda work: work.started)

    def spawn(self, work: Callable[..., None], *args: Any, name: str | None = None) -> None:
        """Run `work(*args)` on a thread of its own, counted from now (not from when the thread is scheduled)
        until it returns or raises."""
        with self._lock:
            key = self._next
            self._next += 1
            self._works[key] = Work(name or str(getattr(work, "__name__", "work")), time.monotonic(), None)

        def run() -> None:
            with self._lock:
                self._works[key] = Work(self._works[key].name, self._works[key].started, threading.get_ident())
            try:
                work(*args)
            finally:
                with self._lock:
                    del self._works[key]

        threading.Thread(target=run, name=name, daemon=True).start()
