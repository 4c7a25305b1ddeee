"""`make local` as a separate process, as a developer starts it: used by the end-to-end test and the bench."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Served:
    endpoint: str
    ready_line: str
    seconds_to_ready: float


@contextmanager
def make_local(port: int, timeout: float = 90.0) -> Iterator[Served]:
    """Start `make local` on `port`, wait for its ready line, stop it (and its children) on exit."""
    env = {**os.environ, "PORT": str(port)}
    env.pop("MAKEFLAGS", None)  # not a sub-make of whatever runs this
    began = time.perf_counter()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "local"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        seen: list[str] = []
        for line in process.stdout:  # type: ignore[union-attr]
            seen.append(line)
            if "ready on" in line:
                yield Served(f"http://127.0.0.1:{port}", line.strip(), time.perf_counter() - began)
                return
            if time.perf_counter() - began > timeout:
                break
        raise RuntimeError("make local never said it was ready:\n" + "".join(seen))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
