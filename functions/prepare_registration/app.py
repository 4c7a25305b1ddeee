"""Workflow step: check the tenant and the requester's role, reserve request id, email and handle."""

from dataclasses import dataclass

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.observability import logger
from tenantry.registration import RegistrationStore, prepare_registration


@dataclass(frozen=True)
class Settings:
    table_name: str
    activation_code_ttl_seconds: int


SETTINGS = load_settings(Settings)
log = logger()


def handler(event, context):
    request = event["request"]
    store = RegistrationStore(SETTINGS.table_name, client("dynamodb"))
    result = prepare_registration(store, request, event["executionName"], SETTINGS.activation_code_ttl_seconds)
    log.info(
        "registration prepared",
        extra={
            "request_id": request["requestId"],
            "outcome": result["outcome"],
            "reason": (result["failure"] or {}).get("reason"),
        },
    )
    return result
