"""Names that operators and users see: execution names and Cognito usernames."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]+")
_EXECUTION_NAME_MAX = 80

# Short verbs make execution lists readable: "onboard-req-42", "offboard-req-43".
WORKFLOW_PREFIXES = {
    "TenantOnboardingRequested": "onboard",
    "TenantOffboardingRequested": "offboard",
    "UserRegistrationRequested": "register",
    "MfaRequirementChangeRequested": "mfa-change",
}


def execution_name(prefix: str, request_id: object, fallback_key: str) -> str:
    """A Step Functions execution name derived from the request.

    The same request id always gives the same name, so a redelivered event cannot start a second
    execution (Step Functions refuses a name already used). A request without a usable id is named
    after `fallback_key` (the EventBridge event id) so that its rejection is still traceable.
    """
    if isinstance(request_id, str) and request_id.strip():
        body = _NOT_ALLOWED.sub("_", request_id.strip())
    else:
        body = "invalid-" + _NOT_ALLOWED.sub("_", fallback_key)
    name = f"{prefix}-{body}"
    if len(name) > _EXECUTION_NAME_MAX or (isinstance(request_id, str) and body != request_id.strip()):
        # Keep names unique when the id had to be shortened or rewritten.
        digest = hashlib.sha256(str(request_id).encode()).hexdigest()[:10]
        name = f"{name[: _EXECUTION_NAME_MAX - 11]}-{digest}"
    return name


COGNITO_USERNAME_MAX = 128  # Cognito refuses a longer username


def canonical_email(email: str) -> str:
    """An email as Tenantry keys it everywhere (claims, usernames, sign-in, search): NFKC-normalised, so that
    the same address typed with composed or decomposed characters is one address, trimmed, lower-cased."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def cognito_username(isolation: str, tenant_id: str, email: str) -> str:
    """The username of a tenant's user in Cognito.

    A dedicated pool belongs to one tenant, so the email is the username. The shared pool holds every
    shared tenant, and the same person may belong to two of them: the username is prefixed with the
    tenant id (`<tenantId>/<email>`), which the sign-in page of a tenant adds for its users.
    """
    email = canonical_email(email)
    return email if isolation == "dedicated" else f"{tenant_id}/{email}"


def username_too_long(isolation: str, tenant_id: str, email: str, field: str) -> str | None:
    """Why `email` cannot be a user's of this tenant (its username would pass Cognito's limit), naming `field`;
    None when it fits. Checked before anything is reserved, so such a request changes nothing."""
    username = cognito_username(isolation, tenant_id, email)
    if len(username) <= COGNITO_USERNAME_MAX:
        return None
    room = COGNITO_USERNAME_MAX - (len(username) - len(canonical_email(email)))
    where = "a shared-pool tenant" if isolation != "dedicated" else "a user pool"
    return f"{field} is too long: {where} takes emails of at most {room} characters"
