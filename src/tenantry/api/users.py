"""`/users`: registering a tenant's users and reading their profiles (Admins and SuperUsers).

Registration is the UserRegistration workflow's, started exactly as a bus request starts it; this module only
checks the input, says 403 up front when the role rule (tenantry.roles.may_grant, the workflow's own check)
refuses, and names the request. Reads are the caller's tenant's only: a user of another tenant answers 404.

Who may is `route_caller.require`'s: Admins and SuperUsers, and for the reads a tenant's key with `users:read`.
A key with `users:write` registers users up to Member (`roles.may_grant_by_key`): a tenant's machine acts for
the tenant, not as a person with a role, so it never creates someone who manages users.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from tenantry import schemas
from tenantry.api.caller import KEY, USER, Caller
from tenantry.api.errors import ApiError, error_responses, not_found
from tenantry.api.me import AvatarUrl, Profile, ProfileLookup, profile_of
from tenantry.api.route_caller import require, verified_caller
from tenantry.roles import KEY_GRANTS_AT_MOST, MANAGING_ROLES, may_grant, may_grant_by_key
from tenantry.user_directory import SearchField, SearchPage

REGISTRATION_REQUESTED = "UserRegistrationRequested"
READ_SCOPE = "users:read"
WRITE_SCOPE = "users:write"
SOURCE = "tenantry.identity-api"  # the `source` of the workflow input, where a bus request has its sender's

# a valid UserRegistrationRequested detail -> True when its request id had already started its execution
RegistrationStarter = Callable[[dict[str, Any]], bool]
# (tenant id, field, value, limit, after user id) -> one page of matching profiles
UserSearch = Callable[[str, SearchField, str, int, str | None], SearchPage]


class RegistrationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(description="The new user's email (unique in the tenant, whatever its case)")]
    name: Annotated[str, Field(description="Their display name; their handle is made from it")]
    role: Annotated[str, Field(description="Admin, SuperUser, Member or ReadOnly; never above the caller's own")]


class RegistrationAccepted(BaseModel):
    requestId: Annotated[str, Field(description="The registration's request id: its execution is `register-<requestId>`")]


class UserPage(BaseModel):
    users: list[Profile]
    cursor: Annotated[str | None, Field(description="Pass as `cursor` for the next page; null on the last")] = None


def not_wired(*_: Any) -> Any:
    raise RuntimeError("the /users routes were built without their dependencies")


def request_id_for(caller: Caller, idempotency_key: str | None) -> str:
    """The registration's request id: derived from tenant, caller and `Idempotency-Key` when there is one, so
    the same key from the same caller names the same request (and so the same execution) again."""
    if idempotency_key is None:
        return f"api-{uuid.uuid4().hex}"
    who = caller.user_id or f"key:{caller.key_id}"  # a key's requests are its own, not a user's
    digest = hashlib.sha256("\n".join((caller.tenant_id, who, idempotency_key)).encode()).hexdigest()
    return f"api-{digest[:40]}"


def encode_cursor(tenant_id: str, user_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"t": tenant_id, "u": user_id}, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, tenant_id: str) -> str:
    """The user id a page ends at, from a cursor this API gave the caller's tenant; anything else is a 400."""
    invalid = ApiError(400, "INVALID_REQUEST", "cursor: not a cursor of this search", "cursor")
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(value, dict) or set(value) != {"t", "u"} or value["t"] != tenant_id:
        raise invalid
    if not isinstance(value["u"], str) or not value["u"]:
        raise invalid
    return value["u"]


def router(
    profiles: ProfileLookup, start_registration: RegistrationStarter, search: UserSearch, avatar_url: AvatarUrl | None = None
) -> Router:
    users = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    @users.post(
        "/users",
        summary="Register a user in the caller's tenant",
        description=(
            "Starts the UserRegistration workflow with the caller as requester; the new user gets an activation "
            "code. The same `Idempotency-Key` from the same caller starts one registration and answers the same "
            "`requestId`."
        ),
        operation_id="registerUser",
        tags=["users"],
        responses={
            202: {
                "description": "Registration started",
                "content": {"application/json": {"model": RegistrationAccepted}},
            },
            **error_responses(400, 401, 403, 415),
        },
    )
    def register_user(
        body: RegistrationBody,
        idempotency_key: Annotated[
            str | None, Header(alias="idempotency-key", min_length=1, max_length=200, description="Idempotency-Key")
        ] = None,
    ) -> Response[str]:
        caller = require(verified_caller(users), roles=MANAGING_ROLES, scope=WRITE_SCOPE)
        request_id = request_id_for(caller, idempotency_key)
        detail = body.model_dump() | {"requestId": request_id, "tenantId": caller.tenant_id}
        if caller.kind == USER:  # the workflow applies the role rule to the requester as Cognito knows them
            detail["requestedBy"] = caller.user_id
        found = schemas.violations(REGISTRATION_REQUESTED, detail)
        if found:
            raise ApiError(400, "INVALID_REQUEST", "; ".join(v.message for v in found), found[0].field)
        if caller.kind == KEY and not may_grant_by_key(body.role):
            raise ApiError(
                403, "ROLE_NOT_ALLOWED", f"an API key registers users up to {KEY_GRANTS_AT_MOST}, not {body.role}", "role"
            )
        if caller.kind == USER and not may_grant(caller.role, body.role):  # the workflow's rule, said before it starts
            raise ApiError(403, "ROLE_NOT_ALLOWED", f"a {caller.role} cannot register a {body.role}", "role")
        start_registration(detail)
        accepted = RegistrationAccepted(requestId=request_id).model_dump_json()
        return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=accepted)

    @users.get(
        "/users/<id>",
        summary="A user's profile",
        operation_id="getUser",
        tags=["users"],
        responses={200: {"description": "The user's profile"}, **error_responses(401, 403, 404)},
    )
    def get_user(id: Annotated[str, Path(min_length=1, max_length=128, description="The user's id")]) -> Profile:  # noqa: A002
        user_id = id
        caller = require(verified_caller(users), roles=MANAGING_ROLES, scope=READ_SCOPE)
        item = profiles(user_id)
        # A profile of another tenant answers exactly as one that does not exist
        if item is None or item.get("tenantId") != caller.tenant_id:
            raise not_found("no such user")
        return profile_of(item, avatar_url)

    @users.get(
        "/users",
        summary="Find users of the caller's tenant by email, handle or name",
        description="Exactly one of `email` (exact, any case), `handle` (exact) or `name` (a prefix). Paginated.",
        operation_id="searchUsers",
        tags=["users"],
        responses={200: {"description": "A page of matching profiles"}, **error_responses(400, 401, 403)},
    )
    def search_users(
        email: Annotated[str | None, Query(min_length=1, max_length=254)] = None,
        handle: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
        name: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 25,
        cursor: Annotated[str | None, Query(min_length=1, max_length=1024)] = None,
    ) -> UserPage:
        caller = require(verified_caller(users), roles=MANAGING_ROLES, scope=READ_SCOPE)
        filters: tuple[tuple[SearchField, str | None], ...] = (("email", email), ("handle", handle), ("name", name))
        given = [(field, value) for field, value in filters if value is not None]
        if len(given) != 1:
            raise ApiError(400, "INVALID_REQUEST", "give exactly one of email, handle or name", given[1][0] if given else "email")
        after = decode_cursor(cursor, caller.tenant_id) if cursor is not None else None
        field, value = given[0]
        page = search(caller.tenant_id, field, value, limit, after)
        next_cursor = encode_cursor(caller.tenant_id, page.last_user_id) if page.last_user_id else None
        return UserPage(users=[profile_of(p, avatar_url) for p in page.profiles], cursor=next_cursor)

    return users
