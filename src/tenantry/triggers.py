"""Cognito trigger logic. Every function here sits on a user's sign-up or sign-in path: it imports nothing
heavy at module level and makes no network call unless its decision needs one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tenantry.roles import highest_role

if TYPE_CHECKING:
    from tenantry.cognito_events import PostAuthenticationEvent, PreSignUpEvent, PreTokenGenerationV2Event

TENANT_ATTRIBUTE = "custom:tenant_id"
MFA_ATTRIBUTE = "custom:mfa_required"  # "false" | "true" | "setup" (see tenantry.mfa)
SELF_SIGN_UP_SOURCES = ("PreSignUp_SignUp", "PreSignUp_ExternalProvider")
# A tenant being onboarded needs its first admin before it becomes ACTIVE.
ADMIN_CREATE_ALLOWED_STATUSES = ("ACTIVE", "ONBOARDING")


class SignUpRefused(Exception):
    """Raised from pre sign-up: Cognito refuses the sign-up and reports this message."""


def tenant_claims(event: PreTokenGenerationV2Event, shared_user_pool_id: str) -> dict[str, str]:
    """The claims pre token generation adds, computed from the trigger event alone."""
    request = event.get("request", {})
    attributes = request.get("userAttributes", {})
    groups = (request.get("groupConfiguration") or {}).get("groupsToOverride") or []
    claims = {
        "tenant_id": attributes.get(TENANT_ATTRIBUTE, ""),
        "isolation": "shared" if event.get("userPoolId") == shared_user_pool_id else "dedicated",
    }
    role = highest_role(groups)
    if role:
        claims["role"] = role
    if attributes.get(MFA_ATTRIBUTE) == "setup":
        # MFA is required but the user has no authenticator app yet: this session may only set one up.
        claims["mfa_setup_only"] = "true"
    return claims


def add_token_claims(event: PreTokenGenerationV2Event, shared_user_pool_id: str) -> PreTokenGenerationV2Event:
    """Answer a V2 pre token generation event: the tenant claims go into both the ID and access token."""
    claims = tenant_claims(event, shared_user_pool_id)
    event.setdefault("response", {})["claimsAndScopeOverrideDetails"] = {
        "idTokenGeneration": {"claimsToAddOrOverride": claims},
        "accessTokenGeneration": {"claimsToAddOrOverride": claims},
    }
    return event


def check_sign_up(event: PreSignUpEvent, tenant_status: Callable[[str], str | None]) -> PreSignUpEvent:
    """Pre sign-up: refuse self sign-up, and users of a tenant that is missing or not active.

    `tenant_status(tenant_id)` is called only for administrator-created users: the only lookup this
    trigger makes, and never on a refused self sign-up.
    """
    source = event.get("triggerSource", "")
    if source in SELF_SIGN_UP_SOURCES:
        raise SignUpRefused("Self sign-up is disabled: users are created by their tenant's administrators")
    tenant_id = event.get("request", {}).get("userAttributes", {}).get(TENANT_ATTRIBUTE)
    if not tenant_id:
        raise SignUpRefused(f"{TENANT_ATTRIBUTE} is required")
    status = tenant_status(tenant_id)
    if status not in ADMIN_CREATE_ALLOWED_STATUSES:
        raise SignUpRefused(f"tenant {tenant_id} is {'unknown' if status is None else status.lower()}")
    return event


SIGNED_IN = "UserSignedIn"


def sign_in_record(event: PostAuthenticationEvent, now_epoch: int) -> dict[str, Any]:
    """The one log line post authentication writes per sign-in.

    Writing a line costs no AWS call on the sign-in path; a subscription filter on the function's log
    group (`{ $.event = "UserSignedIn" }`) hands these lines to RecordSignIns, which updates profiles.
    """
    attributes = event.get("request", {}).get("userAttributes", {})
    return {
        "event": SIGNED_IN,
        "userId": attributes.get("sub"),
        "tenantId": attributes.get(TENANT_ATTRIBUTE),
        "userPoolId": event.get("userPoolId"),
        "at": now_epoch,
    }


def mfa_required_by_attribute(event: PostAuthenticationEvent) -> bool:
    """Whether the user's administrator requires MFA that must already be in place ("true", not "setup")."""
    return event.get("request", {}).get("userAttributes", {}).get(MFA_ATTRIBUTE) == "true"
