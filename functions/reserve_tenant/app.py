"""Workflow step: reserve the tenant for an onboarding request, once per request id."""

from dataclasses import dataclass

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.observability import logger
from tenantry.tenants import TenantStore, reserve_tenant


@dataclass(frozen=True)
class Settings:
    table_name: str
    stack_name: str


SETTINGS = load_settings(Settings)
log = logger()


def handler(event, context):
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
