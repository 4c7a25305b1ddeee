"""`make local` stops cleanly on SIGINT and SIGTERM, however many arrive and however fast."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import ROOT, free_port


def serve() -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tenantry_local", "serve", "--port", str(free_port())],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "ready on" in line:
            return process
    raise AssertionError(f"never ready (exit {process.wait()})")


@pytest.mark.parametrize(
    "signals",
    [
        pytest.param([signal.SIGTERM], id="one-sigterm"),
        pytest.param([signal.SIGINT], id="one-sigint"),
        pytest.param([signal.SIGINT, signal.SIGTERM] * 1000, id="a-burst-of-both"),
    ],
)
def test_local_runtime_stops_cleanly(signals):
    process = serve()
    try:
        for sig in signals:
            os.kill(process.pid, sig)
        began = time.monotonic()
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError("the local runtime did not stop within 30 s") from None
    assert process.returncode == 0, output
    assert "stopping" in output
    assert time.monotonic() - began < 30
