"""The one builder of `*Failed` outcome details, against every failure event's schema (no network)."""

from __future__ import annotations

import pytest

from tenantry import schemas
from tenantry.events import event_id, failure_detail

FAILURE_EVENTS = [t for t in schemas.known_detail_types() if t.endswith("Failed")]


def test_every_failure_event_of_the_contract_is_covered():
    assert {"TenantOnboardingFailed", "TenantOffboardingFailed", "UserRegistrationFailed"} <= set(FAILURE_EVENTS)
    assert {"MfaRequirementChangeFailed", "UserActivationFailed"} <= set(FAILURE_EVENTS)


@pytest.mark.parametrize("detail_type", FAILURE_EVENTS)
def test_a_failure_with_or_without_its_optional_field_matches_the_schema(detail_type):
    for field in (None, "", "admin.email"):
        detail = failure_detail(detail_type, "exec-1", "r-1", "MISSING_FIELD", "admin.email is required", field)
        assert schemas.violations(detail_type, detail) == []
        assert ("field" in detail) == bool(field)


def test_the_detail_has_the_shape_and_deterministic_id_consumers_rely_on():
    detail = failure_detail("UserRegistrationFailed", "register-r-1", None, "TENANT_NOT_ACTIVE", "no", "tenantId", tenant_id="t")
    assert detail == {
        "eventId": event_id("register-r-1", "UserRegistrationFailed"),
        "requestId": None,
        "tenantId": "t",
        "reason": "TENANT_NOT_ACTIVE",
        "message": "no",
        "field": "tenantId",
    }
