"""Workflow step: what offboarding must end for a tenant: its users' Cognito usernames, and its registrations
still waiting for an activation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.observability import traced
from tenantry.users import list_tenant_usernames, pending_registration_executions

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class ListTenantUsersTask(TypedDict):
    """The state input: the tenant record being offboarded."""

    tenant: dict[str, Any]


@dataclass(frozen=True)
class Settings:
    table_name: str
    user_registration_state_machine_arn: str


SETTINGS = load_settings(Settings)


@traced
def handler(event: ListTenantUsersTask, context: LambdaContext) -> dict[str, Any]:
    tenant = event["tenant"]
    usernames = list_tenant_usernames(tenant, cognito_client=client("cognito-idp"))
    pending = pending_registration_executions(
        tenant["tenantId"], SETTINGS.user_registration_state_machine_arn, SETTINGS.table_name, client("dynamodb")
    )
    return {"usernames": usernames, "count": len(usernames), "pendingRegistrations": pending}
