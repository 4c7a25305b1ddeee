"""Cognito pre token generation trigger, V2 event (every pool): tenant_id, role and isolation claims in
the ID and access tokens. No AWS SDK and no network call: the event holds everything needed."""

from dataclasses import dataclass

from tenantry.config import load_settings
from tenantry.triggers import add_token_claims


@dataclass(frozen=True)
class Settings:
    shared_user_pool_id: str


SETTINGS = load_settings(Settings)


def handler(event, context):
    return add_token_claims(event, SETTINGS.shared_user_pool_id)
