"""Workflow step (MFA sweep): the users who signed in recently. Dormant users are never listed, so the
sweep never makes them billable as monthly active users."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.observability import traced
from tenantry.sign_ins import recently_active_user_ids

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True)
class Settings:
    table_name: str
    mfa_sweep_active_days: int


SETTINGS = load_settings(Settings)


@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # the input is not read
    user_ids = recently_active_user_ids(SETTINGS.table_name, client("dynamodb"), SETTINGS.mfa_sweep_active_days)
    return {"userIds": user_ids, "count": len(user_ids)}
