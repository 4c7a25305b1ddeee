"""Workflow step: the Cognito usernames of a tenant's users, for offboarding."""

from dataclasses import dataclass

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.users import list_tenant_usernames


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)


def handler(event, context):
    tenant = event["tenant"]
    usernames = list_tenant_usernames(
        tenant, table_name=SETTINGS.table_name, dynamodb_client=client("dynamodb"), cognito_client=client("cognito-idp")
    )
    return {"usernames": usernames, "count": len(usernames)}
