"""Workflow step: reserve the tenant for an onboarding request, once per request id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.observability import logger, traced
from tenantry.tenants import TenantStore, reserve_tenant

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class ReserveTenantTask(TypedDict):
    """The state input: the validated request and the execution handling it."""

    request: dict[str, Any]
    executionName: str


@dataclass(frozen=True)
class Settings:
    table_name: str
    stack_name: str


SETTINGS = load_settings(Settings)
log = logger()


@traced
def handler(event: ReserveTenantTask, context: LambdaContext) -> dict[str, Any]:
    store = TenantStore(SETTINGS.table_name, client("dynamodb"))
    reservation = reserve_tenant(store, event["request"], event["executionName"], SETTINGS.stack_name)
    log.info(
        "tenant reservation",
        extra={
            "outcome": reservation.outcome,
            "tenant_id": reservation.tenant.tenantId,
            "request_id": event["request"]["requestId"],
        },
    )
    return reservation.as_dict()
