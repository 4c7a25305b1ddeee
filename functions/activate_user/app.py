"""EventBridge target for UserActivationRequested: use the code, resuming the registration waiting on it.

The request carries a secret, so it goes to this function (whose logs never include the event) rather
than to a state machine, whose execution history would keep it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypedDict, cast

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from tenantry import schemas
from tenantry.activation import ActivationStore, Refused, activate, code_hash
from tenantry.adapters import client
from tenantry.adapters.eventbridge import EventPublisher, OutboundEvent
from tenantry.config import load_settings
from tenantry.events import failure_detail
from tenantry.observability import logger, traced
from tenantry.sources import ANY_TENANT, UNTRUSTED_SOURCE, SourceRegistry, refusal

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True)
class Settings:
    table_name: str
    event_bus_name: str


SETTINGS = load_settings(Settings)
log = logger()
ACTIVATION = "UserActivationRequested"


@cache
def sources() -> SourceRegistry:
    """The registry, made on first use; its cache of grants lives as long as this execution environment."""
    return SourceRegistry(SETTINGS.table_name, client("dynamodb"))


class ActivationRequest(TypedDict):
    """A UserActivationRequested detail, once its schema has accepted it."""

    requestId: str
    code: str


def _reject(request_id: str | None, origin: str, reason: str, message: str, field: str | None = None) -> dict[str, Any]:
    detail = failure_detail("UserActivationFailed", origin, request_id, reason, message, field)
    EventPublisher(SETTINGS.event_bus_name, client("events")).publish([OutboundEvent("UserActivationFailed", detail)])
    log.warning("activation refused", extra={"request_id": request_id, "reason": reason})
    return {"activated": False, "reason": reason}


@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    bridge_event = EventBridgeEvent(event)
    detail: object = bridge_event.get("detail")  # anything a sender put there, until its schema accepts it
    request_id = detail.get("requestId") if isinstance(detail, dict) and isinstance(detail.get("requestId"), str) else None
    found = schemas.violations("UserActivationRequested", detail)
    if found:
        return _reject(request_id, request_id or bridge_event.get_id, found[0].reason, found[0].message, found[0].field)
    request = cast(ActivationRequest, detail)
    store = ActivationStore(SETTINGS.table_name, client("dynamodb"))
    untrusted = _untrusted(bridge_event.source, store, request["code"])
    if untrusted:
        return _reject(request["requestId"], request["requestId"], UNTRUSTED_SOURCE, untrusted)
    outcome = activate(store, client("stepfunctions"), request["code"], request["requestId"])
    if isinstance(outcome, Refused):
        return _reject(request["requestId"], request["requestId"], outcome.reason, outcome.message, "code")
    log.info("activation accepted", extra={"request_id": request["requestId"], "user_id": outcome.userId})
    return {"activated": True, "userId": outcome.userId}


def _untrusted(source: str, store: ActivationStore, code: str) -> str | None:
    """Why `source` may not post this activation (None: it may). The request names no tenant: a grant for
    some tenants only is judged on the tenant of the code's registration, read before the code is used."""
    grant = sources().lookup(source)
    if grant is None or ANY_TENANT in grant.tenants or ACTIVATION not in grant.request_types:
        return refusal(grant, source, ACTIVATION, None)
    record = store.get(code_hash(code))
    if record is None:  # a wrong code: refused as such, naming no tenant
        return None
    return grant.refusal(ACTIVATION, record["tenantId"])
