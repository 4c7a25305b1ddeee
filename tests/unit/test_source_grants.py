"""The source registry: grants, their cache, and what they cover (tenantry.sources)."""

from __future__ import annotations

import pytest

from helpers import UNIT_TABLE
from tenantry.sources import ANY_TENANT, REQUEST_TYPES, Grant, SourceRegistry, refusal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_grant_is_read_once_per_cache_period_and_a_revocation_bites_after_it(ddb):
    clock, reads = Clock(), []
    original = ddb.get_item

    def counting_get_item(**kwargs):
        reads.append(kwargs["Key"])
        return original(**kwargs)

    ddb.get_item = counting_get_item
    registry = SourceRegistry(UNIT_TABLE, ddb, cache_seconds=60, clock=clock)
    SourceRegistry(UNIT_TABLE, ddb).grant("crm", REQUEST_TYPES, [ANY_TENANT], "ops")
    assert all(registry.lookup("crm") is not None for _ in range(5))
    assert len(reads) == 1  # one read, not one per request
    SourceRegistry(UNIT_TABLE, ddb).revoke("crm")  # another environment's operator command
    clock.now += 59
    assert registry.lookup("crm") is not None  # still cached
    clock.now += 2
    assert registry.lookup("crm") is None and len(reads) == 2


@pytest.mark.parametrize(
    ("request_type", "tenant_id", "why"),
    [
        ("UserRegistrationRequested", "t-1", None),
        ("UserRegistrationRequested", "t-2", "source crm may not act for tenant t-2"),
        ("UserRegistrationRequested", None, "source crm may not act for tenant None"),
        ("TenantOnboardingRequested", None, "source crm may act for named tenants only, and may not onboard new ones"),
        ("MfaRequirementChangeRequested", "t-1", "source crm may not post MfaRequirementChangeRequested"),
    ],
)
def test_a_grant_for_some_tenants_and_types_covers_those_only(request_type, tenant_id, why):
    grant = Grant("crm", frozenset({"UserRegistrationRequested", "TenantOnboardingRequested"}), frozenset({"t-1"}))
    assert grant.refusal(request_type, tenant_id) == why


def test_any_tenant_covers_onboarding_and_no_grant_covers_nothing():
    grant = Grant("crm", frozenset(REQUEST_TYPES), frozenset({ANY_TENANT}))
    assert all(grant.refusal(t, "t-9") is None for t in REQUEST_TYPES)
    assert refusal(None, "nobody", "UserRegistrationRequested", "t-1") == "source nobody is not registered"


@pytest.mark.parametrize(
    ("source", "types", "tenants"),
    [
        ("crm", ["TenantDeleteEverything"], [ANY_TENANT]),
        ("crm", [], [ANY_TENANT]),
        ("crm", ["UserRegistrationRequested"], []),
        ("crm", ["UserRegistrationRequested"], [ANY_TENANT, "t-1"]),
        ("tenantry", ["UserRegistrationRequested"], [ANY_TENANT]),
        ("aws.cognito-idp", ["UserRegistrationRequested"], [ANY_TENANT]),
    ],
)
def test_a_grant_that_makes_no_sense_is_refused_and_nothing_is_written(ddb, source, types, tenants):
    registry = SourceRegistry(UNIT_TABLE, ddb)
    with pytest.raises(ValueError):
        registry.grant(source, types, tenants, "ops")
    assert registry.all() == []
