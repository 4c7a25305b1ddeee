"""End to end: `make demo` (python -m tenantry_local.demo) meets every expectation it prints, among them that no
password, activation or reset code, TOTP secret or code, MFA session, or access, ID or refresh token met during
the whole demo appears in any function's log line, any event (but an activation code in its own
UserActivationCodeIssued) or any execution's history."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import ROOT

LEAK_CHECK = "no password, code, session or token in any of"


@pytest.mark.e2e
def test_the_demo_meets_every_expectation_and_leaks_no_secret():
    result = subprocess.run(
        [sys.executable, "-m", "tenantry_local.demo"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    failed = [line for line in output.splitlines() if line.strip().startswith("FAIL")]
    assert result.returncode == 0 and failed == [], "\n".join(failed) or output[-3000:]
    [leak_check] = [line for line in output.splitlines() if LEAK_CHECK in line]
    assert leak_check.strip().startswith("ok"), leak_check
    assert "All expectations met." in output
