"""Checking inbound requests against the contract before a workflow touches anything."""

from __future__ import annotations

from typing import Any

from tenantry import schemas
from tenantry.events import FAILURE_EVENT_FOR, failure_detail
from tenantry.naming import username_too_long
from tenantry.tenants import new_tenant_id


def check_request(detail_type: str, detail: Any, execution_name: str) -> dict[str, Any]:
    """Validate `detail`; on rejection, also build the detail of the failure event to emit.

    The result always has the same keys, so the state machine can branch on `valid` without guessing:
    `{"valid", "requestId", "request", "failure"}`.
    """
    request_id = detail.get("requestId") if isinstance(detail, dict) else None
    request_id = request_id if isinstance(request_id, str) else None
    if detail_type not in FAILURE_EVENT_FOR:
        raise ValueError(f"{detail_type} is not a request Tenantry accepts")
    found = (
        schemas.violations(detail_type, detail)
        if isinstance(detail, dict)
        else [schemas.Violation("WRONG_TYPE", "", "detail must be a JSON object")]
    )
    if not found and detail_type == "TenantOnboardingRequested":
        found = _admin_username_fits(detail)
    if not found:
        return {"valid": True, "requestId": request_id, "request": detail, "failure": None}
    first = found[0]
    message = "; ".join(v.message for v in found)
    failure = failure_detail(FAILURE_EVENT_FOR[detail_type], execution_name, request_id, first.reason, message, first.field)
    return {"valid": False, "requestId": request_id, "request": None, "failure": failure}


def _admin_username_fits(detail: dict[str, Any]) -> list[schemas.Violation]:
    """The admin's email must make a username Cognito takes (`<tenantId>/<email>` in the shared pool): a
    violation now, not a failure after the tenant was reserved. Tenant ids all have the same length."""
    too_long = username_too_long(detail["isolation"], new_tenant_id(), detail["admin"]["email"], "admin.email")
    return [schemas.Violation("TOO_LONG", "admin.email", too_long)] if too_long else []
