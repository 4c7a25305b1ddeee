"""Cognito pre token generation trigger, V2 event (every pool): tenant_id, role and isolation claims in
the ID and access tokens. No AWS SDK and no network call: the event holds everything needed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantry.config import load_settings
from tenantry.triggers import add_token_claims

if TYPE_CHECKING:  # types only: nothing more is imported on the sign-in path
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from tenantry.cognito_events import PreTokenGenerationV2Event


@dataclass(frozen=True)
class Settings:
    shared_user_pool_id: str


SETTINGS = load_settings(Settings)


def handler(event: PreTokenGenerationV2Event, context: LambdaContext) -> PreTokenGenerationV2Event:
    return add_token_claims(event, SETTINGS.shared_user_pool_id)
