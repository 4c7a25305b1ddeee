"""The Identity API's Lambda authorizer (HTTP API, payload 2.0, simple responses): is this request's bearer
access token good right now?

Light on purpose, as it runs before every request: no Powertools, no pydantic; the AWS SDK and PyJWT load
only when there is a token to check. The token itself is never logged, only why it was refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tenantry.api.caller import caller_context
from tenantry.tokens import TokenRejected

Verify = Callable[[str], dict[str, Any]]  # access token -> claims, or TokenRejected
DENY: dict[str, Any] = {"isAuthorized": False}


def bearer_token(event: dict[str, Any]) -> str | None:
    """The token of `Authorization: Bearer <token>` (payload 2.0 lower-cases header names), or None."""
    header = (event.get("headers") or {}).get("authorization") or ""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def authorize(event: dict[str, Any], verify: Verify, refused: Callable[[str], None] = lambda reason: None) -> dict[str, Any]:
    """The simple response: authorized with the verified caller as context, or not authorized."""
    token = bearer_token(event)
    if token is None:
        refused("NO_BEARER_TOKEN")
        return DENY
    try:
        claims = verify(token)
    except TokenRejected as rejected:
        refused(rejected.reason)
        return DENY
    if not claims.get("tenant_id"):  # TokenVerifier already requires a registered tenant; never pass an empty one on
        refused("NO_TENANT")
        return DENY
    return {"isAuthorized": True, "context": caller_context(claims)}
