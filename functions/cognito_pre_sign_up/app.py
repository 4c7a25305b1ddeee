"""Cognito pre sign-up trigger (every pool): the second lock behind AllowAdminCreateUserOnly. A refused
self sign-up costs no lookup; an administrator-created user costs one GetItem (the tenant's status)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantry.config import load_settings
from tenantry.triggers import check_sign_up

if TYPE_CHECKING:  # types only: nothing more is imported on the sign-in path
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from tenantry.cognito_events import PreSignUpEvent


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)


def tenant_status(tenant_id: str) -> str | None:
    from tenantry.tenants_lookup import tenant_status as lookup  # the AWS SDK loads only when needed

    return lookup(SETTINGS.table_name, tenant_id)


def handler(event: PreSignUpEvent, context: LambdaContext) -> PreSignUpEvent:
    return check_sign_up(event, tenant_status)
