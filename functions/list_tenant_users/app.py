"""Workflow step: the Cognito usernames of a tenant's users, for offboarding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.users import list_tenant_usernames

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class ListTenantUsersTask(TypedDict):
    """The state input: the tenant record being offboarded."""

    tenant: dict[str, Any]


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)


def handler(event: ListTenantUsersTask, context: LambdaContext) -> dict[str, Any]:
    tenant = event["tenant"]
    usernames = list_tenant_usernames(
        tenant, table_name=SETTINGS.table_name, dynamodb_client=client("dynamodb"), cognito_client=client("cognito-idp")
    )
    return {"usernames": usernames, "count": len(usernames)}
