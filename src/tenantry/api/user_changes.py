"""Changing one user of the caller's tenant: status, role, MFA requirement, sessions, deletion. Signed-in
Admins and SuperUsers only (never a key), and only on users below their own role (`roles.may_manage`, the
rule the bus's MFA workflow applies too); a new role only under `roles.may_grant`. The work is
tenantry.user_admin's; the contract's events follow from the profile's changes (the stream), except
SessionsRevoked, an outcome that user_admin publishes itself."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from tenantry.api.errors import ApiError, error_responses, forbidden, not_found
from tenantry.api.me import AvatarUrl, Profile, profile_of
from tenantry.api.route_caller import require, verified_caller
from tenantry.roles import MANAGING_ROLES, ROLES_HIGHEST_FIRST, may_grant, may_manage
from tenantry.user_admin import Conflict, NotActivated, TenantNotActive

if TYPE_CHECKING:
    from tenantry.api.caller import Caller
    from tenantry.user_admin import UserAdmin

Role = Literal["Admin", "SuperUser", "Member", "ReadOnly"]
assert set(Role.__args__) == set(ROLES_HIGHEST_FIRST)  # type: ignore[attr-defined]  # the body's choices are the roles


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Annotated[Literal["ACTIVE", "DISABLED"], Field(description="DISABLED also revokes every session")]


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Annotated[Role, Field(description="The new role: never above the caller's own")]


class MfaChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    required: Annotated[StrictBool, Field(description="Whether the user must use an authenticator app")]


class Accepted(BaseModel):
    requestId: Annotated[str, Field(description="The MfaRequirementChange execution is `mfa-change-<requestId>`")]  # noqa: N815


def _target(users: UserAdmin, caller: Caller, user_id: str) -> dict[str, Any]:
    """The user the caller may act on: 404 for a user of no tenant of theirs, 403 outside the role rule."""
    user = users.user_of_tenant(caller.tenant_id, user_id)
    if user is None:  # another tenant's user answers exactly as a missing one
        raise not_found("no such user")
    if user["userId"] == caller.user_id or not may_manage(caller.role, user.get("role")):
        raise forbidden(f"a {caller.role} may not change this {user.get('role')}")
    return user


def _doing(work: Callable[[], Any]) -> Any:
    """`work()`, its domain failures answered as the API's 409s."""
    try:
        return work()
    except TenantNotActive:
        raise ApiError(409, "TENANT_NOT_ACTIVE", "the caller's tenant is not active") from None
    except NotActivated:
        raise ApiError(409, "USER_NOT_ACTIVATED", "only an activated user is enabled or disabled") from None
    except Conflict:
        raise ApiError(409, "CONFLICT", "the user changed meanwhile; read it again") from None


def router(users: Callable[[], UserAdmin] | None, avatar_url: AvatarUrl | None = None) -> Router:
    changes = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    def admin() -> UserAdmin:
        if users is None:  # only the OpenAPI document is built without one
            raise ApiError(500, "INTERNAL", "user changes are not configured")
        return users()

    def target(caller: Caller, user_id: str) -> dict[str, Any]:
        return _target(admin(), caller, user_id)

    def request_id() -> str:
        """API Gateway's id of this request: what an event it causes is named after (a deterministic id)."""
        return str((changes.current_event.get("requestContext") or {})["requestId"])

    def managing_caller() -> Caller:
        return require(verified_caller(changes), roles=MANAGING_ROLES)

    @changes.patch(
        "/users/<id>/status",
        summary="Enable or disable a user (disabling revokes every session)",
        operation_id="setUserStatus",
        tags=["users"],
        responses={200: {"description": "The user's profile"}, **error_responses(400, 401, 403, 404, 409)},
    )
    def set_status(id: str, body: StatusChange) -> Profile:  # noqa: A002 - the path's own name
        user = target(managing_caller(), id)
        return profile_of(_doing(lambda: admin().set_status(user, body.status, request_id())), avatar_url)

    @changes.put(
        "/users/<id>/role",
        summary="Change a user's role",
        operation_id="setUserRole",
        tags=["users"],
        responses={200: {"description": "The user's profile"}, **error_responses(400, 401, 403, 404, 409)},
    )
    def set_role(id: str, body: RoleChange) -> Profile:  # noqa: A002
        caller = managing_caller()
        user = target(caller, id)
        if not may_grant(caller.role, body.role):
            raise forbidden(f"a {caller.role} may not grant {body.role}")
        return profile_of(_doing(lambda: admin().set_role(user, body.role, request_id())), avatar_url)

    @changes.put(
        "/users/<id>/mfa",
        summary="Require or release MFA for a user (the MfaRequirementChange workflow)",
        operation_id="setUserMfa",
        tags=["users"],
        responses={
            202: {"description": "The change is under way", "content": {"application/json": {"model": Accepted}}},
            **error_responses(400, 401, 403, 404),
        },
    )
    def set_mfa(id: str, body: MfaChange) -> Response[str]:  # noqa: A002
        caller = managing_caller()
        user = target(caller, id)
        request_id = admin().change_mfa(user, body.required, caller.user_id, f"api-{uuid.uuid4().hex}")
        return Response(
            status_code=202, content_type=content_types.APPLICATION_JSON, body=Accepted(requestId=request_id).model_dump_json()
        )

    @changes.post(
        "/users/<id>/sessions/revoke",
        summary="Revoke every session of a user (refused from their next request on)",
        operation_id="revokeUserSessions",
        tags=["users"],
        responses={204: {"description": "Revoked"}, **error_responses(401, 403, 404, 409)},
    )
    def revoke_sessions(id: str) -> Response[Any]:  # noqa: A002
        user = target(managing_caller(), id)
        _doing(lambda: admin().revoke_sessions(user, "api:revoke", request_id()))
        return Response(status_code=204)

    @changes.delete(
        "/users/<id>",
        summary="Delete a user: the Cognito user and the profile",
        operation_id="deleteUser",
        tags=["users"],
        responses={204: {"description": "Deleted"}, **error_responses(401, 403, 404, 409)},
    )
    def delete_user(id: str) -> Response[Any]:  # noqa: A002
        user = target(managing_caller(), id)
        _doing(lambda: admin().delete(user))
        return Response(status_code=204)

    return changes
