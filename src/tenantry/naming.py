"""Names that operators and users see: execution names and Cognito usernames."""

from __future__ import annotations

import hashlib
import re

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


def cognito_username(isolation: str, tenant_id: str, email: str) -> str:
    """The username of a tenant's user in Cognito.

    A dedicated pool belongs to one tenant, so the email is the username. The shared pool holds every
    shared tenant, and the same person may belong to two of them: the username is prefixed with the
    tenant id (`<tenantId>/<email>`), which the sign-in page of a tenant adds for its users.
    """
    email = email.strip().lower()
    return email if isolation == "dedicated" else f"{tenant_id}/{email}"
