"""Workflow step: a user's desired MFA against their real MFA."""

from dataclasses import dataclass

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.mfa import UserDirectory, check_compliance


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)


def handler(event, context):
    return check_compliance(UserDirectory(SETTINGS.table_name, client("dynamodb"), client("cognito-idp")), event["userId"])
