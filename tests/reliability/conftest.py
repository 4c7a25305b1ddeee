"""The reliability suite writes RELIABILITY.md at the end of each run that reached it."""

from __future__ import annotations

from helpers import ROOT
from helpers.reliability import REPORT


def pytest_sessionfinish(session, exitstatus):
    if REPORT.tables:
        REPORT.write(ROOT / "RELIABILITY.md")
