"""Who is calling: what the authorizer verified, handed to the handlers in the request context.

The authorizer writes `caller_context(claims)` into its simple response; API Gateway passes it to the
handlers as `requestContext.authorizer.lambda`, which `caller_from_context` reads. This module is the one
place both sides agree on the keys. The tenant of a call is always the verified credential's: handlers
never take it from the path, query, headers or body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONTEXT_KEYS = ("tenantId", "userId", "role", "username", "isolation", "mfaSetupOnly")


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user_id: str
    role: str
    username: str
    isolation: str
    mfa_setup_only: bool  # the user must set up MFA: only /me and the MFA set-up routes are open to them


def caller_context(claims: dict[str, Any]) -> dict[str, Any]:
    """The authorizer context for a verified access token's claims (Cognito `sub` and `username`, and the
    `tenant_id`, `role`, `isolation`, `mfa_setup_only` claims pre token generation adds)."""
    return {
        "tenantId": str(claims["tenant_id"]),
        "userId": str(claims["sub"]),
        "role": str(claims.get("role", "")),
        "username": str(claims.get("username", "")),
        "isolation": str(claims.get("isolation", "")),
        "mfaSetupOnly": claims.get("mfa_setup_only") == "true",
    }


def caller_from_context(context: dict[str, Any] | None) -> Caller | None:
    """The verified caller, or None when the request carries no authorizer context of ours."""
    if not context or not context.get("tenantId") or not context.get("userId"):
        return None
    setup_only = context.get("mfaSetupOnly")
    return Caller(
        tenant_id=str(context["tenantId"]),
        user_id=str(context["userId"]),
        role=str(context.get("role", "")),
        username=str(context.get("username", "")),
        isolation=str(context.get("isolation", "")),
        # API Gateway hands context values on as given; accept the string form too
        mfa_setup_only=setup_only is True or setup_only == "true",
    )
