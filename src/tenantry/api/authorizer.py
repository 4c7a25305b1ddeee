"""The Identity API's Lambda authorizer (HTTP API, payload 2.0, simple responses): is this request's bearer
access token, or its tenant API key (`X-Api-Key`), good right now?

An HTTP API authorizer can only allow or deny (API Gateway's own 403, outside the API's error shape), so
it always allows and puts its verdict in the context: the verified caller, or `refused` with the reason;
the API function answers 401 (or 429) in the error shape before any route runs. A key's request is also
counted against the key's per-minute limit here (one conditional write), and one past the limit is passed
on with `rateLimited: true`.

Light on purpose, as it runs before every request: no Powertools, no pydantic; the AWS SDK and PyJWT load
only when there is a token to check. Neither token nor key is ever logged, only why it was refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from tenantry.api.caller import caller_context, key_context
from tenantry.tokens import TokenRejected

if TYPE_CHECKING:
    from tenantry.api_keys import RefusedKey, VerifiedKey

Verify = Callable[[str], dict[str, Any]]  # access token -> claims, or TokenRejected


class KeyChecks(Protocol):
    """What the authorizer needs of tenantry.api_keys.ApiKeyStore."""

    def verify(self, presented: str) -> VerifiedKey | RefusedKey: ...

    def take_request(self, key: VerifiedKey) -> bool: ...


def not_verified(reason: str, log: Callable[[str], None]) -> dict[str, Any]:
    """Let the request on to the API function with the reason it is not verified, for the function to answer
    401 in the API's error shape before any route runs (tenantry.api.app.admit). An HTTP API authorizer that
    says no gets API Gateway's own 403 `{"message": "Forbidden"}`: no 401, no reason, not the API's shape."""
    log(reason)
    return {"isAuthorized": True, "context": {"refused": reason}}


def bearer_token(event: dict[str, Any]) -> str | None:
    """The token of `Authorization: Bearer <token>` (payload 2.0 lower-cases header names), or None."""
    header = (event.get("headers") or {}).get("authorization") or ""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def api_key(event: dict[str, Any]) -> str | None:
    """The value of `X-Api-Key` (payload 2.0 lower-cases header names), or None when there is none."""
    value = ((event.get("headers") or {}).get("x-api-key") or "").strip()
    return value or None


def authorize(
    event: dict[str, Any],
    verify: Verify,
    refused: Callable[[str], None] = lambda reason: None,
    key_checks: Callable[[], KeyChecks] | None = None,
) -> dict[str, Any]:
    """The simple response: authorized with the verified caller as context, or not authorized. A request
    with `X-Api-Key` is a key's (checked by `key_checks()`, made only when a key comes); one with both a key
    and an `Authorization` header is refused rather than guessed at."""
    presented = api_key(event)
    if presented is not None:
        return authorize_key(event, presented, key_checks, refused)
    token = bearer_token(event)
    if token is None:
        has_header = bool((event.get("headers") or {}).get("authorization"))
        return not_verified("MALFORMED_AUTHORIZATION" if has_header else "NO_CREDENTIALS", refused)
    try:
        claims = verify(token)
    except TokenRejected as rejected:
        return not_verified(f"TOKEN_{rejected.reason}", refused)
    if not claims.get("tenant_id"):  # TokenVerifier already requires a registered tenant; never pass an empty one on
        return not_verified("TOKEN_NO_TENANT", refused)
    return {"isAuthorized": True, "context": caller_context(claims)}


def authorize_key(
    event: dict[str, Any], presented: str, key_checks: Callable[[], KeyChecks] | None, refused: Callable[[str], None]
) -> dict[str, Any]:
    """A key's simple response: one read to verify it, one conditional write to count the request."""
    from tenantry.api_keys import RefusedKey  # only when a key comes: bearer requests never load it

    if (event.get("headers") or {}).get("authorization"):
        return not_verified("KEY_AND_TOKEN", refused)
    if key_checks is None:
        return not_verified("KEYS_NOT_ACCEPTED", refused)
    checks = key_checks()
    verified = checks.verify(presented)
    if isinstance(verified, RefusedKey):
        return not_verified(f"KEY_{verified.reason}", refused)
    return {"isAuthorized": True, "context": key_context(verified, rate_limited=not checks.take_request(verified))}
