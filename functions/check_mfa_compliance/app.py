"""Workflow step: a user's desired MFA against their real MFA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.mfa import UserDirectory, check_compliance
from tenantry.observability import traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class CheckComplianceTask(TypedDict):
    """The state input: the user one compliance run is about."""

    userId: str


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)


@traced
def handler(event: CheckComplianceTask, context: LambdaContext) -> dict[str, Any]:
    return check_compliance(UserDirectory(SETTINGS.table_name, client("dynamodb"), client("cognito-idp")), event["userId"])
