"""Fixtures for tests on the local runtime (tests/runtime and tests/reliability): one runtime per test session
(moto's state is per process), built from the real template, and a watcher of Tenantry's outbound events."""

from __future__ import annotations

import pytest

from helpers import ACTIVATION_TTL_SECONDS, ROOT, free_port
from helpers.tenantry import CheckedOutboundEvents, Tenantry


@pytest.fixture(scope="session")
def runtime():
    from tenantry_local.runtime import LocalRuntime

    # A short activation TTL so that expiry can be observed; everything else as deployed, but for the sweep.
    rt = LocalRuntime(
        ROOT,
        port=free_port(),
        log_dir=ROOT / ".local" / "test-logs",
        # The MFA sweep only when its test fires it: on the runtime's time scale its 6-hour schedule would
        # fire every few minutes, each time checking every user signed in during the run.
        parameters={"ActivationCodeTtlSeconds": str(ACTIVATION_TTL_SECONDS), "MfaSweepSchedule": "rate(365 days)"},
    ).start()
    yield rt
    rt.stop()


@pytest.fixture(scope="session")
def outbound(runtime):
    return CheckedOutboundEvents(runtime)


@pytest.fixture(autouse=True)
def _every_published_event_matches_its_schema(request):
    """After each test on the runtime: no leftover fault, and every event published so far is valid."""
    yield
    if "runtime" in request.fixturenames:
        request.getfixturevalue("runtime").faults.clear()
    if "outbound" in request.fixturenames:
        outbound = request.getfixturevalue("outbound")
        outbound.drain()
        assert outbound.violations == [], outbound.violations


@pytest.fixture(scope="session")
def tenantry(runtime, outbound):
    return Tenantry(runtime, outbound)


@pytest.fixture(scope="session")
def api(tenantry):
    """The Identity API's base URL: the stack output ApiUrl, as the runtime serves it."""
    return tenantry.outputs["ApiUrl"]


@pytest.fixture(scope="module")
def tenant(tenantry):
    """A shared-pool tenant of the test module's own (a module may define its own `tenant`)."""
    return tenantry.onboarded("shared")
