"""`/me`: the signed-in caller's own profile. A user with an `mfa_setup_only` token may use these routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from tenantry.api.caller import KEY
from tenantry.api.errors import error_responses, forbidden, not_found
from tenantry.api.route_caller import verified_caller

ProfileLookup = Callable[[str], dict[str, Any] | None]  # user id (Cognito sub) -> the profile item, or None


class Profile(BaseModel):
    """A user's profile, as the API shows it."""

    userId: Annotated[str, Field(description="The user's id (their Cognito `sub`)")]
    tenantId: str
    username: str
    email: str
    name: str | None = None
    handle: str | None = Field(default=None, description="Unique in the tenant, `@PascalCaseName`")
    role: Annotated[str, Field(description="Admin, SuperUser, Member or ReadOnly")]
    status: Annotated[str, Field(description="PENDING, ACTIVE, EXPIRED or DISABLED")]
    mfaRequired: bool | None = None
    mfaState: str | None = None
    badges: list[str] = Field(default_factory=list)
    createdAt: str | None = None
    activatedAt: str | None = None
    lastSignInAt: str | None = None


def profile_of(item: dict[str, Any]) -> Profile:
    return Profile.model_validate({name: item[name] for name in Profile.model_fields if item.get(name) is not None})


def router(profiles: ProfileLookup) -> Router:
    me = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    @me.get(
        "/me",
        summary="The caller's own profile",
        operation_id="getMe",
        tags=["me"],
        responses={200: {"description": "The caller's profile"}, **error_responses(401, 403, 404)},
    )
    def get_me() -> Profile:
        caller = verified_caller(me)
        if caller.kind == KEY:  # a key acts for its tenant, never as a user: it has no profile of its own
            raise forbidden("an API key has no /me: it acts for its tenant, not as a user")
        item = profiles(caller.user_id)
        # A profile of another tenant answers exactly as one that does not exist
        if item is None or item.get("tenantId") != caller.tenant_id:
            raise not_found("no profile for the caller")
        return profile_of(item)

    return me
