"""Identity API handler (HTTP API, payload 2.0): every route of the API, through one Powertools resolver
(tenantry.api.app). The caller comes from the authorizer's context only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantry.adapters import client
from tenantry.adapters.dynamodb import get_plain
from tenantry.api.app import Dependencies, build_resolver
from tenantry.config import load_settings
from tenantry.keys import profile_key
from tenantry.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)
log = logger()


def profile(user_id: str) -> dict[str, Any] | None:
    return get_plain(client("dynamodb"), SETTINGS.table_name, profile_key(user_id))


APP = build_resolver(Dependencies(profiles=profile))


@log.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return APP.resolve(event, context)
