"""Workflow step: may this requester change MFA for this user, and is there anything to change?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.mfa import UserDirectory, prepare_mfa_change
from tenantry.observability import traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class PrepareMfaChangeTask(TypedDict):
    """The state input: the validated request and the execution handling it."""

    request: dict[str, Any]
    executionName: str


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)


@traced
def handler(event: PrepareMfaChangeTask, context: LambdaContext) -> dict[str, Any]:
    directory = UserDirectory(SETTINGS.table_name, client("dynamodb"), client("cognito-idp"))
    return prepare_mfa_change(directory, event["request"], event["executionName"])
