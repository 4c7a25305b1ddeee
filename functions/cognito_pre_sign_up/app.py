"""Cognito pre sign-up trigger (every pool): the second lock behind AllowAdminCreateUserOnly. A refused
self sign-up costs no lookup; an administrator-created user costs one GetItem (the tenant's status)."""

from dataclasses import dataclass

from tenantry.config import load_settings
from tenantry.triggers import check_sign_up


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)


def tenant_status(tenant_id):
    from tenantry.tenants_lookup import tenant_status as lookup  # the AWS SDK loads only when needed

    return lookup(SETTINGS.table_name, tenant_id)


def handler(event, context):
    return check_sign_up(event, tenant_status)
