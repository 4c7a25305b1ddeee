"""Workflow step: check the tenant and the requester's role, reserve request id, email and handle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.observability import logger, traced
from tenantry.registration import RegistrationStore, prepare_registration
from tenantry.requesters import standing_in_cognito

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class PrepareRegistrationTask(TypedDict):
    """The state input: the validated request and the execution handling it."""

    request: dict[str, Any]
    executionName: str


@dataclass(frozen=True)
class Settings:
    table_name: str
    activation_code_ttl_seconds: int


SETTINGS = load_settings(Settings)
log = logger()


@traced
def handler(event: PrepareRegistrationTask, context: LambdaContext) -> dict[str, Any]:
    request = event["request"]
    store = RegistrationStore(SETTINGS.table_name, client("dynamodb"))
    standing = standing_in_cognito(client("cognito-idp"))  # asked only when a request names its requester
    result = prepare_registration(store, request, event["executionName"], SETTINGS.activation_code_ttl_seconds, standing)
    log.info(
        "registration prepared",
        extra={
            "request_id": request["requestId"],
            "outcome": result["outcome"],
            "reason": (result["failure"] or {}).get("reason"),
        },
    )
    return result
