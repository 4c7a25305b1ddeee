"""What a tenant's Admin or SuperUser does to one user of their tenant: status, role, MFA requirement,
sessions, deletion. Who may do it is `tenantry.roles` (`may_manage`, `may_grant`); this module only does it.

Every change touches Cognito first and the profile last: the profile's change is what the DynamoDB stream
turns into the contract's event (UserStatusChanged, UserRoleChanged, UserDeleted), so no event announces
a change Cognito did not make. When the profile write fails after Cognito changed, the Cognito change is
undone (status, role); deletion and revocation instead repeat safely (each step is idempotent), so a retry
finishes what a failure left.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tenantry import keys
from tenantry.adapters.dynamodb import from_item, get_plain, to_item
from tenantry.adapters.eventbridge import EventPublisher, OutboundEvent
from tenantry.adapters.stepfunctions import start_request_workflow
from tenantry.clock import iso
from tenantry.events import event_id
from tenantry.mfa import UserDirectory
from tenantry.naming import canonical_email
from tenantry.roles import rank

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_stepfunctions import SFNClient

MFA_CHANGE = "MfaRequirementChangeRequested"
SWITCHABLE = ("ACTIVE", "DISABLED")  # the statuses an admin moves a user between
API_SOURCE = "tenantry.api"  # the `source` the workflows see for a request made over the Identity API


class TenantNotActive(Exception):
    """The caller's tenant has no active pool (offboarded meanwhile)."""


class NotActivated(Exception):
    """Only an activated user is enabled or disabled: a PENDING or EXPIRED one is activation's business."""


class Conflict(Exception):
    """The profile changed (or went) between the lookup and the write."""


@dataclass(frozen=True)
class Resources:
    table_name: str
    event_bus_name: str
    mfa_requirement_change_state_machine_arn: str


def revocation_time(now: datetime) -> datetime:
    """`now` rounded up to the next whole second: tokens carry whole seconds (`iat`), and the verifier refuses
    every token issued at or before this instant, so no token of the revoked sessions can slip through."""
    return datetime.fromtimestamp(math.floor(now.timestamp()) + 1, UTC)


class UserAdmin:
    """Changes to one user of a tenant, through Cognito (the pool named by the tenant record), the profile and
    the MfaRequirementChange workflow."""

    def __init__(
        self,
        resources: Resources,
        dynamodb_client: DynamoDBClient,
        cognito_client: CognitoIdentityProviderClient,
        events_client: EventBridgeClient,
        sfn_client: SFNClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._r = resources
        self._ddb = dynamodb_client
        self._cognito = cognito_client
        self._events = EventPublisher(resources.event_bus_name, events_client)
        self._sfn = sfn_client
        self._directory = UserDirectory(resources.table_name, dynamodb_client, cognito_client)
        self._clock = clock

    def user_of_tenant(self, tenant_id: str, user_id: str) -> dict[str, Any] | None:
        """The profile of `user_id` if they are a user of `tenant_id`; None for a missing user and for another
        tenant's alike (one read, nothing else)."""
        profile = get_plain(self._ddb, self._r.table_name, keys.profile_key(user_id))
        return profile if profile is not None and profile.get("tenantId") == tenant_id else None

    def _pool(self, user: dict[str, Any]) -> str:
        pool_id = self._directory.pool_of(user["tenantId"])
        if pool_id is None:
            raise TenantNotActive(user["tenantId"])
        return pool_id

    def _update_profile(
        self, user: dict[str, Any], expression: str, values: dict[str, Any], condition: str = ""
    ) -> dict[str, Any]:
        """Update the profile only while it is still this tenant's user (and `condition` holds); the new profile."""
        text = expression + condition
        names = {name: name[1:] for name in ("#status", "#role") if name in text}
        try:
            answer = self._ddb.update_item(
                TableName=self._r.table_name,
                Key=to_item(keys.profile_key(user["userId"])),
                UpdateExpression=expression,
                ConditionExpression="tenantId = :tenant" + (f" AND {condition}" if condition else ""),
                **({"ExpressionAttributeNames": names} if names else {}),  # type: ignore[arg-type]
                ExpressionAttributeValues=to_item({":tenant": user["tenantId"], **values}),
                ReturnValues="ALL_NEW",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException as error:
            raise Conflict(user["userId"]) from error
        return from_item(answer["Attributes"])

    def set_status(self, user: dict[str, Any], status: str, origin: str) -> dict[str, Any]:
        """ACTIVE enables the Cognito user, DISABLED disables them and revokes their sessions; then the profile."""
        if user.get("status") not in SWITCHABLE:
            raise NotActivated(user["userId"])
        pool_id = self._pool(user)
        enable, disable = self._cognito.admin_enable_user, self._cognito.admin_disable_user
        do, undo = (disable, enable) if status == "DISABLED" else (enable, disable)
        do(UserPoolId=pool_id, Username=user["username"])
        try:
            if status == "DISABLED":
                self._revoke(user, pool_id, "api:disable", origin)
            return self._update_profile(user, "SET #status = :s, updatedAt = :now", {":s": status, ":now": iso(self._clock())})
        except Exception:
            if user.get("status") != status:  # leave Cognito as the profile still says
                undo(UserPoolId=pool_id, Username=user["username"])
            raise

    def set_role(self, user: dict[str, Any], role: str, origin: str) -> dict[str, Any]:
        """Move the user from their group to `role`'s, then the profile; undone in reverse on a failure. A
        demotion also revokes their sessions (an access token carries the role it was issued with)."""
        old = user["role"]
        if old == role:
            return user
        pool_id = self._pool(user)
        name = {"UserPoolId": pool_id, "Username": user["username"]}
        self._cognito.admin_add_user_to_group(**name, GroupName=role)
        try:
            self._cognito.admin_remove_user_from_group(**name, GroupName=old)
            try:
                if rank(role) > rank(old):  # their tokens still carry the higher role: their sessions end now
                    self._revoke(user, pool_id, "api:demote", origin)
                return self._update_profile(
                    user,
                    "SET #role = :new, updatedAt = :now",
                    {":new": role, ":old": old, ":now": iso(self._clock())},
                    "#role = :old",
                )
            except Exception:
                self._cognito.admin_add_user_to_group(**name, GroupName=old)
                raise
        except Exception:
            self._cognito.admin_remove_user_from_group(**name, GroupName=role)
            raise

    def change_mfa(self, user: dict[str, Any], required: bool, requested_by: str, request_id: str) -> str:
        """Start the MfaRequirementChange workflow as a bus request would (it applies the same role rule to
        `requested_by`); the execution is `mfa-change-<request_id>`."""
        detail = {
            "requestId": request_id,
            "tenantId": user["tenantId"],
            "userId": user["userId"],
            "required": required,
            "requestedBy": requested_by,
        }
        start_request_workflow(
            self._sfn, self._r.mfa_requirement_change_state_machine_arn, MFA_CHANGE, detail, request_id, API_SOURCE
        )
        return request_id

    def revoke_sessions(self, user: dict[str, Any], reason: str, origin: str) -> str:
        """Sign the user out everywhere, record the time (the authorizer refuses older tokens), announce
        SessionsRevoked; the time recorded."""
        return self._revoke(user, self._pool(user), reason, origin)

    def _revoke(self, user: dict[str, Any], pool_id: str, reason: str, origin: str) -> str:
        self._cognito.admin_user_global_sign_out(UserPoolId=pool_id, Username=user["username"])
        revoked_at = iso(revocation_time(self._clock()))  # after the sign-out succeeded
        self._update_profile(
            user,
            "SET sessionsRevokedAt = :at",
            {":at": revoked_at},
            "(attribute_not_exists(sessionsRevokedAt) OR sessionsRevokedAt <= :at)",
        )
        # SessionsRevoked is an outcome, not a profile change: published here (MfaCompliance publishes its
        # own revocations), never by the stream, so each revocation is announced once.
        detail = {"tenantId": user["tenantId"], "userId": user["userId"], "revokedAt": revoked_at, "reason": reason}
        event = OutboundEvent("SessionsRevoked", {"eventId": event_id(f"{origin}|{reason}", "SessionsRevoked"), **detail})
        if self._events.publish([event]):
            raise RuntimeError("SessionsRevoked was not accepted by the bus")
        return revoked_at

    def delete(self, user: dict[str, Any]) -> None:
        """Delete the Cognito user, free their email and handle, delete the profile (last, so a retry after a
        failure finds the user and finishes)."""
        pool_id = self._pool(user)
        with contextlib.suppress(self._cognito.exceptions.UserNotFoundException):  # deleted by an earlier attempt
            self._cognito.admin_delete_user(UserPoolId=pool_id, Username=user["username"])
        claims = [keys.email_claim_key(user["tenantId"], canonical_email(str(user["email"])))]
        if user.get("handle"):
            claims.append(keys.handle_claim_key(user["tenantId"], user["handle"]))
        for key in claims:  # only the claims this user's registration made
            with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):  # gone, or another user's
                self._ddb.delete_item(
                    TableName=self._r.table_name,
                    Key=to_item(key),
                    ConditionExpression="requestId = :request",
                    ExpressionAttributeValues=to_item({":request": user.get("requestId", "")}),
                )
        try:
            self._ddb.delete_item(
                TableName=self._r.table_name,
                Key=to_item(keys.profile_key(user["userId"])),
                ConditionExpression="tenantId = :tenant",
                ExpressionAttributeValues=to_item({":tenant": user["tenantId"]}),
            )
        except self._ddb.exceptions.ConditionalCheckFailedException as error:
            raise Conflict(user["userId"]) from error
