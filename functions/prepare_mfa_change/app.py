"""Workflow step: may this requester change MFA for this user, and is there anything to change?"""

from dataclasses import dataclass

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.mfa import UserDirectory, prepare_mfa_change


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)


def handler(event, context):
    directory = UserDirectory(SETTINGS.table_name, client("dynamodb"), client("cognito-idp"))
    return prepare_mfa_change(directory, event["request"], event["executionName"])
