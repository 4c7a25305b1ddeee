"""Event identity, the pairing of each inbound request with the event that reports its failure, and that
failure event's detail."""

from __future__ import annotations

import hashlib
import re
from typing import Any

FAILURE_EVENT_FOR = {
    "TenantOnboardingRequested": "TenantOnboardingFailed",
    "TenantOffboardingRequested": "TenantOffboardingFailed",
    "UserRegistrationRequested": "UserRegistrationFailed",
    "MfaRequirementChangeRequested": "MfaRequirementChangeFailed",
}


def event_id(origin: str, detail_type: str) -> str:
    """The deterministic id of the `detail_type` event caused by `origin`.

    `origin` is what caused the event: a stream record's eventID, or a workflow execution's name. The
    state machines compute the same value with States.Hash(States.Format('{}|{}', origin, type), 'MD5'),
    so an id never depends on which component emitted the event, and a replay yields the same id.
    """
    return hashlib.md5(f"{origin}|{detail_type}".encode(), usedforsecurity=False).hexdigest()


REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # the inbound contract's requestId


def usable_request_id(value: object) -> str | None:
    """`value` if it is a request id as the inbound contract defines one, else None."""
    return value if isinstance(value, str) and REQUEST_ID.fullmatch(value) else None


def failure_detail(
    detail_type: str,
    origin: str,
    request_id: str | None,
    reason: str,
    message: str,
    field: str | None = None,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    """The detail of a `*Failed` outcome event (the shape every schemas/events/*Failed.json shares).

    `origin` makes the event id deterministic (see `event_id`); `requestId` is kept even when None (a
    request too malformed to name itself, or whose id is not one: that is not echoed to every consumer);
    `tenantId` appears only when given, `field` (the dotted path of the offending value) only when not empty.
    """
    detail: dict[str, Any] = {"eventId": event_id(origin, detail_type), "requestId": usable_request_id(request_id)}
    if tenant_id is not None:
        detail["tenantId"] = tenant_id
    detail["reason"] = reason
    detail["message"] = message
    if field:
        detail["field"] = field
    return detail
