"""EventBridge target for UserActivationRequested: use the code, resuming the registration waiting on it.

The request carries a secret, so it goes to this function (whose logs never include the event) rather
than to a state machine, whose execution history would keep it."""

from dataclasses import dataclass

from tenantry import schemas
from tenantry.activation import ActivationStore, activate
from tenantry.adapters import client
from tenantry.adapters.eventbridge import EventPublisher, OutboundEvent
from tenantry.config import load_settings
from tenantry.events import failure_detail
from tenantry.observability import logger


@dataclass(frozen=True)
class Settings:
    table_name: str
    event_bus_name: str


SETTINGS = load_settings(Settings)
log = logger()


def _reject(request_id, origin, reason, message, field=None):
    detail = failure_detail("UserActivationFailed", origin, request_id, reason, message, field)
    EventPublisher(SETTINGS.event_bus_name, client("events")).publish([OutboundEvent("UserActivationFailed", detail)])
    log.warning("activation refused", extra={"request_id": request_id, "reason": reason})
    return {"activated": False, "reason": reason}


def handler(event, context):
    detail = event.get("detail")
    request_id = detail.get("requestId") if isinstance(detail, dict) and isinstance(detail.get("requestId"), str) else None
    found = schemas.violations("UserActivationRequested", detail)
    if found:
        return _reject(request_id, request_id or event["id"], found[0].reason, found[0].message, found[0].field)
    outcome = activate(
        ActivationStore(SETTINGS.table_name, client("dynamodb")), client("stepfunctions"), detail["code"], request_id
    )
    if not outcome.activated:
        return _reject(request_id, request_id, outcome.reason, outcome.message, "code")
    log.info("activation accepted", extra={"request_id": request_id, "user_id": outcome.userId})
    return {"activated": True, "userId": outcome.userId}
