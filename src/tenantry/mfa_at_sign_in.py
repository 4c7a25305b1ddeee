"""The check post authentication makes when MFA is required: one AdminGetUser (imports the AWS SDK)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantry.adapters import client
from tenantry.detections import mismatch_line
from tenantry.mfa import totp_enabled

if TYPE_CHECKING:
    from tenantry.cognito_events import PostAuthenticationEvent


def refuse_without_mfa(event: PostAuthenticationEvent, now_ms: int) -> dict[str, Any] | None:
    """The mismatch to log if the user signed in without the MFA their admin requires, else None."""
    user = client("cognito-idp").admin_get_user(UserPoolId=event["userPoolId"], Username=event["userName"])
    if totp_enabled(user):
        return None
    attributes = event["request"]["userAttributes"]
    return mismatch_line(attributes["sub"], attributes.get("custom:tenant_id"), now_ms)
