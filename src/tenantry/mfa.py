"""MFA that administrators control.

The desired setting lives in the server-only attribute `custom:mfa_required` (no app client can write it)
and is mirrored in the profile as `mfaRequired` and `mfaState`:

| custom:mfa_required | mfaState        | meaning                                                              |
| ------------------- | --------------- | -------------------------------------------------------------------- |
| "false"             | NOT_REQUIRED    | the user chooses                                                     |
| "true"              | COMPLIANT       | required, and the user has an authenticator app (TOTP) enabled       |
| "setup"             | SETUP_REQUIRED  | required, but no factor yet: tokens say `mfa_setup_only`, good only  |
|                     |                 | for setting MFA up, so the user is never locked out                  |

A user whose attribute says "true" but whose TOTP is off has tampered with their MFA: a violation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tenantry import keys
from tenantry.adapters.dynamodb import get_plain
from tenantry.events import failure_detail
from tenantry.requesters import Standing, standing_in_cognito
from tenantry.roles import may_manage
from tenantry.triggers import MFA_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_cognito_idp.type_defs import AdminGetUserResponseTypeDef
    from mypy_boto3_dynamodb import DynamoDBClient

ATTRIBUTE = MFA_ATTRIBUTE
REQUIRED, SETUP, NOT_REQUIRED = "true", "setup", "false"
STATE = {NOT_REQUIRED: "NOT_REQUIRED", REQUIRED: "COMPLIANT", SETUP: "SETUP_REQUIRED"}
SOFTWARE_TOKEN = "SOFTWARE_TOKEN_MFA"
LOCK_LIFETIME = timedelta(minutes=5)  # a compliance run's lock on a user outlives no crashed run longer


def desired_of(cognito_user: AdminGetUserResponseTypeDef) -> str:
    attributes = {a["Name"]: a["Value"] for a in cognito_user.get("UserAttributes", [])}
    value = attributes.get(ATTRIBUTE, NOT_REQUIRED)
    return value if value in STATE else NOT_REQUIRED


def totp_enabled(cognito_user: AdminGetUserResponseTypeDef) -> bool:
    return SOFTWARE_TOKEN in (cognito_user.get("UserMFASettingList") or [])


class UserDirectory:
    """A user's profile, tenant and Cognito record."""

    def __init__(self, table_name: str, dynamodb_client: DynamoDBClient, cognito_client: CognitoIdentityProviderClient):
        self._table = table_name
        self._ddb = dynamodb_client
        self._cognito = cognito_client

    def profile(self, user_id: str) -> dict[str, Any] | None:
        return get_plain(self._ddb, self._table, keys.profile_key(user_id))

    def pool_of(self, tenant_id: str) -> str | None:
        """The pool of an ACTIVE tenant (None for a tenant offboarded, failed or unknown)."""
        tenant = get_plain(self._ddb, self._table, keys.tenant_key(tenant_id))
        return tenant.get("userPoolId") if tenant and tenant.get("status") == "ACTIVE" else None

    def cognito_user(self, pool_id: str, username: str) -> AdminGetUserResponseTypeDef:
        return self._cognito.admin_get_user(UserPoolId=pool_id, Username=username)

    def standing(self, pool_id: str, username: str) -> Standing | None:
        """A requester as Cognito knows them now (enabled, role from their groups)."""
        return standing_in_cognito(self._cognito)(pool_id, username)


def _rejected(execution_name: str, request: dict[str, Any], reason: str, message: str, field: str) -> dict[str, Any]:
    failure = failure_detail(
        "MfaRequirementChangeFailed", execution_name, request["requestId"], reason, message, field, tenant_id=request["tenantId"]
    )
    return {"outcome": "REJECTED", "plan": None, "failure": failure}


def prepare_mfa_change(directory: UserDirectory, request: dict[str, Any], execution_name: str) -> dict[str, Any]:
    """Check who asks and for whom; decide the attribute value and whether TOTP can be switched on."""
    target = directory.profile(request["userId"])
    if target is None or target.get("tenantId") != request["tenantId"]:
        return _rejected(execution_name, request, "USER_NOT_IN_TENANT", "userId is not a user of this tenant", "userId")
    pool_id = directory.pool_of(request["tenantId"])
    if pool_id is None:  # offboarded (or failed) since the request was posted: its users are in no pool
        return _rejected(execution_name, request, "TENANT_NOT_ACTIVE", "tenantId does not name an active tenant", "tenantId")
    requester_id = request.get("requestedBy")
    if requester_id is not None:
        requester = directory.profile(requester_id)
        # the requester as Cognito knows them now (enabled, groups), not as their profile remembers them
        in_tenant = requester is not None and requester.get("tenantId") == request["tenantId"]
        now = directory.standing(pool_id, requester["username"]) if in_tenant and requester else None
        if now is None or not now.enabled or requester is None or requester.get("status") != "ACTIVE":
            return _rejected(
                execution_name,
                request,
                "REQUESTER_NOT_IN_TENANT",
                "requestedBy is not an active user of this tenant",
                "requestedBy",
            )
        if not may_manage(now.role, target.get("role")):
            return _rejected(
                execution_name,
                request,
                "ROLE_NOT_ALLOWED",
                f"a {now.role} cannot change MFA for a {target.get('role')}",
                "requestedBy",
            )
    user = directory.cognito_user(pool_id, target["username"])
    required = bool(request["required"])
    plan = {
        "userId": target["userId"],
        "tenantId": target["tenantId"],
        "userPoolId": pool_id,
        "username": target["username"],
        "required": required,
    }
    # Requiring MFA first tries to switch the user's registered TOTP on; the workflow falls back to the
    # set-up-only state when they have none. Releasing it leaves the user's own choice alone.
    unchanged = (desired_of(user) != NOT_REQUIRED) == required and bool(target.get("mfaRequired")) == required
    return {"outcome": "UNCHANGED" if unchanged else "APPLY", "plan": plan, "failure": None}


def check_compliance(directory: UserDirectory, user_id: str) -> dict[str, Any]:
    """Compare the desired MFA with the real one. `action` is what the compliance workflow must do:
    NONE (compliant), RECORD_STATE (compliant, the profile's `mfaState` out of date), COMPLETE_SETUP (a set-up-only
    user now has TOTP), or REVOKE (a violation)."""
    profile = directory.profile(user_id)
    pool_id = directory.pool_of(profile["tenantId"]) if profile else None
    if profile is None or pool_id is None or profile.get("status") not in ("ACTIVE", "PENDING"):
        return {"found": False, "action": "NONE"}  # unknown, offboarded or expired: nothing to enforce
    user = directory.cognito_user(pool_id, profile["username"])
    desired, enabled = desired_of(user), totp_enabled(user)
    recorded = profile.get("mfaState", STATE[NOT_REQUIRED])  # (profiles made before any change have none)
    if desired == REQUIRED and not enabled:
        action = "REVOKE"
    elif desired == SETUP and enabled:
        action = "COMPLETE_SETUP"
    elif recorded != STATE[desired]:
        action = "RECORD_STATE"  # compliant, but the profile's mirror lags (a run that failed before recording it)
    else:
        action = "NONE"
    return {
        "found": True,
        "action": action,
        "userId": user_id,
        "tenantId": profile["tenantId"],
        "userPoolId": pool_id,
        "username": profile["username"],
        "desired": desired,
        "actual": "totp" if enabled else "none",
        "mfaState": STATE[desired],  # what the profile mirrors, and what it held when read
        "recordedMfaState": recorded,
        # A lock on the user taken before this moment belongs to a run that died: it may be taken over.
        "lockStaleBefore": (datetime.now(UTC) - LOCK_LIFETIME).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
