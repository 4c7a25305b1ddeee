"""Committed changes (DynamoDB stream records) -> Tenantry's outbound domain events.

An event exists if and only if the change committed: the stream is the only source of entity events.
Each event's id derives from the stream record's eventID, so a replayed record yields the same ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tenantry.adapters.dynamodb import from_item
from tenantry.adapters.eventbridge import OutboundEvent
from tenantry.events import event_id
from tenantry.tenants import TenantStatus


class MalformedRecord(ValueError):
    """A stream record that cannot be read as a change of a Tenantry item."""


Image = dict[str, Any]


def _tenant_events(old: Image | None, new: Image | None) -> list[tuple[str, dict[str, Any]]]:
    if new is None:
        return []
    became = new.get("status") if (old or {}).get("status") != new.get("status") else None
    if became == TenantStatus.ACTIVE:
        detail = {
            "requestId": new["requestId"],
            "tenantId": new["tenantId"],
            "tenantName": new["tenantName"],
            "isolation": new["isolation"],
            "userPoolId": new["userPoolId"],
        }
        if new.get("plan"):
            detail["plan"] = new["plan"]
        return [("TenantOnboarded", detail)]
    if became == TenantStatus.OFFBOARDED:
        return [("TenantOffboarded", {"requestId": new["offboardingRequestId"], "tenantId": new["tenantId"]})]
    return []


_STATUS_EVENTS: dict[tuple[str | None, str | None], str] = {
    ("PENDING", "ACTIVE"): "UserActivated",
    ("PENDING", "EXPIRED"): "UserActivationExpired",
}


def _user_events(old: Image | None, new: Image | None) -> list[tuple[str, dict[str, Any]]]:
    if new is None:
        return [] if old is None else [("UserDeleted", {"tenantId": old["tenantId"], "userId": old["userId"]})]
    who = {"tenantId": new["tenantId"], "userId": new["userId"]}
    if old is None:
        return [("UserRegistered", {"requestId": new["requestId"], **who, "email": new["email"], "role": new["role"]})]
    events: list[tuple[str, dict[str, Any]]] = []
    if old.get("status") != new.get("status"):
        named = _STATUS_EVENTS.get((old.get("status"), new.get("status")))
        events.append((named, who) if named else ("UserStatusChanged", {**who, "from": old["status"], "to": new["status"]}))
    if old.get("role") != new.get("role"):
        events.append(("UserRoleChanged", {**who, "from": old["role"], "to": new["role"]}))
    before, after = set(old.get("badges") or []), set(new.get("badges") or [])
    events += [("BadgeIssued", {**who, "badge": badge}) for badge in sorted(after - before)]
    events += [("BadgeRevoked", {**who, "badge": badge}) for badge in sorted(before - after)]
    if bool(old.get("mfaRequired")) != bool(new.get("mfaRequired")):
        events.append(("MfaRequirementChanged", {**who, "required": bool(new.get("mfaRequired"))}))
    return events


def _no_events(old: Image | None, new: Image | None) -> list[tuple[str, dict[str, Any]]]:
    return []


# Which items produce events; items of other kinds (request reservations) are bookkeeping.
_MAPPERS: dict[str, Callable[[Image | None, Image | None], list[tuple[str, dict[str, Any]]]]] = {
    "Tenant": _tenant_events,
    "User": _user_events,
    # bookkeeping: reservations, uniqueness claims, activation codes (hash only; never published)
    "Request": _no_events,
    "EmailClaim": _no_events,
    "HandleClaim": _no_events,
    "Activation": _no_events,
    "PoolRegistration": _no_events,
    "ComplianceDetection": _no_events,
    "ComplianceLock": _no_events,
    "ApiKey": _no_events,
    "ApiKeyRate": _no_events,
    "RateCounter": _no_events,
    "SignInChallenge": _no_events,
    "UsedMfaCode": _no_events,
    "SourceGrant": _no_events,
}


def events_for_record(record: dict[str, Any]) -> list[OutboundEvent]:
    """The domain events a single stream record stands for (often none)."""
    try:
        change = record["dynamodb"]
        record_id = record["eventID"]
        name = record["eventName"]
    except (KeyError, TypeError) as error:
        raise MalformedRecord(f"not a DynamoDB stream record: missing {error}") from error
    old = from_item(change["OldImage"]) if change.get("OldImage") else None
    new = from_item(change["NewImage"]) if change.get("NewImage") else None
    if name in ("INSERT", "MODIFY") and new is None:
        raise MalformedRecord(f"{record_id}: {name} without a new image (is the stream NEW_AND_OLD_IMAGES?)")
    entity = (new or old or {}).get("entity")
    mapper = _MAPPERS.get(entity)  # type: ignore[arg-type]
    if mapper is None:
        raise MalformedRecord(f"{record_id}: no mapping for entity {entity!r}")
    try:
        pairs = mapper(old, new)
    except KeyError as error:
        raise MalformedRecord(f"{record_id}: {entity} item lacks {error}") from error
    # Several events of one type from one record (two badges) are told apart by their detail.
    return [
        OutboundEvent(t, {"eventId": event_id(record_id if d.get("badge") is None else f"{record_id}|{d['badge']}", t), **d})
        for t, d in pairs
    ]
