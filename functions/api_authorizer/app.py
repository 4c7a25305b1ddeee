"""Identity API Lambda authorizer: `Authorization: Bearer <access token>` of any tenant's pool, or a tenant's
`X-Api-Key` -> the simple response (authorized with the verified caller as context, or not).

No Powertools here: this runs before every API request, so its cold start stays close to the SDK's own.
The verifier, the key store and their DynamoDB client are made once per environment, at the first request
that needs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from tenantry.api.authorizer import authorize
from tenantry.config import load_settings
from tenantry.observability import traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from tenantry.api_keys import ApiKeyStore
    from tenantry.tokens import TokenVerifier


@dataclass(frozen=True)
class Settings:
    table_name: str
    # The SDK's standard endpoint override. Unset on AWS, where each pool's JWKS is Cognito's
    # (https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json); set offline, where the local
    # runtime serves the JWKS below the same endpoint the SDK calls.
    aws_endpoint_url: str = ""


SETTINGS = load_settings(Settings)


@cache
def verifier() -> TokenVerifier:
    from tenantry.adapters import client
    from tenantry.token_lookups import table_verifier

    return table_verifier(SETTINGS.table_name, client("dynamodb"), SETTINGS.aws_endpoint_url)


@cache
def key_store() -> ApiKeyStore:
    from tenantry.adapters import client
    from tenantry.api_keys import ApiKeyStore

    return ApiKeyStore(SETTINGS.table_name, client("dynamodb"))


def log_refusal(reason: str) -> None:
    print(json.dumps({"level": "INFO", "message": "request not authorized", "reason": reason}, separators=(",", ":")))


@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(event, lambda token: verifier().verify(token), log_refusal, key_store)
