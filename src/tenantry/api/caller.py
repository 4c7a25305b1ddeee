"""Who is calling: what the authorizer verified, handed to the handlers in the request context.

The authorizer writes `caller_context(claims)` (a signed-in user) or `key_context(key, rate_limited)` (a
tenant's API key) into its simple response; API Gateway passes it to the handlers as
`requestContext.authorizer.lambda`, which `caller_from_context` reads. This module is the one place both
sides agree on the keys. The tenant of a call is always the verified credential's: handlers never take it
from the path, query, headers or body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tenantry.api_keys import VerifiedKey

CONTEXT_KEYS = (
    "kind",
    "tenantId",
    "userId",
    "role",
    "username",
    "isolation",
    "mfaSetupOnly",
    "keyId",
    "scopes",
    "rateLimited",
    "refused",  # why the authorizer could not verify the request (the API answers 401 with it)
)
USER: Literal["user"] = "user"
KEY: Literal["key"] = "key"


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user_id: str  # empty for a key: a key acts for its tenant, never as a user
    role: str  # empty for a key
    username: str
    isolation: str
    mfa_setup_only: bool  # the user must set up MFA: only /me and the MFA set-up routes are open to them
    kind: Literal["user", "key"] = USER
    key_id: str = ""
    scopes: frozenset[str] = frozenset()  # a key's scopes; a user has none (their role decides)
    rate_limited: bool = False  # the key's requests of this minute are spent: the API answers 429


def caller_context(claims: dict[str, Any]) -> dict[str, Any]:
    """The authorizer context for a verified access token's claims (Cognito `sub` and `username`, and the
    `tenant_id`, `role`, `isolation`, `mfa_setup_only` claims pre token generation adds)."""
    return {
        "kind": USER,
        "tenantId": str(claims["tenant_id"]),
        "userId": str(claims["sub"]),
        "role": str(claims.get("role", "")),
        "username": str(claims.get("username", "")),
        "isolation": str(claims.get("isolation", "")),
        "mfaSetupOnly": claims.get("mfa_setup_only") == "true",
    }


def key_context(key: VerifiedKey, rate_limited: bool) -> dict[str, Any]:
    """The authorizer context for a verified API key: its tenant, id and scopes, and no user. Simple-response
    context values must be strings, numbers or booleans, so the scopes travel comma-joined."""
    return {
        "kind": KEY,
        "tenantId": key.tenantId,
        "keyId": key.keyId,
        "scopes": ",".join(key.scopes),
        "rateLimited": rate_limited,
    }


def _flag(value: Any) -> bool:
    return value is True or value == "true"  # API Gateway hands context values on as given; accept the string form too


def caller_from_context(context: dict[str, Any] | None) -> Caller | None:
    """The verified caller, or None when the request carries no authorizer context of ours."""
    if not context or not context.get("tenantId"):
        return None
    if context.get("kind") == KEY:
        if not context.get("keyId"):
            return None
        return Caller(
            tenant_id=str(context["tenantId"]),
            user_id="",
            role="",
            username="",
            isolation="",
            mfa_setup_only=False,
            kind=KEY,
            key_id=str(context["keyId"]),
            scopes=frozenset(s for s in str(context.get("scopes", "")).split(",") if s),
            rate_limited=_flag(context.get("rateLimited")),
        )
    if not context.get("userId"):
        return None
    return Caller(
        tenant_id=str(context["tenantId"]),
        user_id=str(context["userId"]),
        role=str(context.get("role", "")),
        username=str(context.get("username", "")),
        isolation=str(context.get("isolation", "")),
        mfa_setup_only=_flag(context.get("mfaSetupOnly")),
    )


def refusal_from_context(context: dict[str, Any] | None) -> str | None:
    """Why the authorizer could not verify the request, or None when it did (or the route has no authorizer)."""
    reason = (context or {}).get("refused")
    return str(reason) if reason else None
