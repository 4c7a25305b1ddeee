"""Event identity and the pairing of each inbound request with the event that reports its failure."""

from __future__ import annotations

import hashlib

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
