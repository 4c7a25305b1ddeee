"""Detections of possible MFA tampering, from wherever they come, as compliance runs to start."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

MISMATCH_AT_SIGN_IN = "MfaMismatchAtSignIn"


@dataclass(frozen=True)
class Detection:
    user_id: str
    detected_by: str  # sign-in | cloudtrail | requirement-change | sweep
    detection_id: str
    cause: str = ""  # what was seen: the API call's name, the event's detail-type

    @property
    def execution_name(self) -> str:
        """One execution per detection: Step Functions refuses the name a second time."""
        digest = hashlib.sha256(self.detection_id.encode()).hexdigest()[:24]
        return f"mfa-{self.detected_by}-{digest}"

    def payload(self) -> dict[str, Any]:
        return {"userId": self.user_id, "detectedBy": self.detected_by, "detectionId": self.detection_id, "cause": self.cause}


def mismatch_line(user_id: str, tenant_id: str | None, at_ms: int) -> dict[str, Any]:
    """What post authentication logs when it refuses a sign-in for missing MFA."""
    return {"event": MISMATCH_AT_SIGN_IN, "userId": user_id, "tenantId": tenant_id, "detectionId": f"sign-in:{user_id}:{at_ms}"}


def detections_from_log_records(records: list[dict[str, Any]]) -> list[Detection]:
    return [
        Detection(r["userId"], "sign-in", r["detectionId"])
        for r in records
        if r.get("event") == MISMATCH_AT_SIGN_IN and r.get("userId") and r.get("detectionId")
    ]


def detection_from_event(event: dict[str, Any]) -> Detection | None:
    """A requirement change (Tenantry's own event) or a Cognito API call (CloudTrail); None otherwise.

    A CloudTrail record names the affected user by `additionalEventData.sub`; a record without it cannot
    be tied to a profile and is skipped (the sweep still covers that user).
    """
    detail = event.get("detail") or {}
    if event.get("source") == "tenantry" and event.get("detail-type") == "MfaRequirementChanged":
        return Detection(detail["userId"], "requirement-change", detail["eventId"], "MfaRequirementChanged")
    if event.get("source") == "aws.cognito-idp" and event.get("detail-type") == "AWS API Call via CloudTrail":
        sub = (detail.get("additionalEventData") or {}).get("sub")
        return Detection(sub, "cloudtrail", detail["eventID"], detail.get("eventName", "")) if sub else None
    return None
