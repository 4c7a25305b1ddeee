"""`/me`: the signed-in caller's own profile. A user with an `mfa_setup_only` token may use these routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from tenantry.api.caller import KEY
from tenantry.api.errors import error_responses, forbidden, not_found
from tenantry.api.route_caller import verified_caller
from tenantry.profile_data import etag_of

ProfileLookup = Callable[[str], dict[str, Any] | None]  # user id (Cognito sub) -> the profile item, or None
AvatarUrl = Callable[[str], str]  # an avatar's object key -> a short-lived URL to read it


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
    avatarUrl: str | None = Field(  # noqa: N815
        default=None, description="A short-lived URL of the user's avatar, when they have uploaded one"
    )
    data: dict[str, Any] = Field(default_factory=dict, description="The user's data blob (the product's own fields)")
    dataEtag: str = Field(  # noqa: N815
        default='"v0"', description="The blob's version: send it as `If-Match` to change the blob only if unchanged since"
    )
    createdAt: str | None = None
    activatedAt: str | None = None
    lastSignInAt: str | None = None


def profile_of(item: dict[str, Any], avatar_url: Callable[[str], str] | None = None) -> Profile:
    """The API's view of a profile item; `avatar_url` makes a readable URL of the avatar's object key."""
    fields = {name: item[name] for name in Profile.model_fields if item.get(name) is not None}
    fields["dataEtag"] = etag_of(int(item.get("dataVersion", 0)))
    fields.pop("avatarUrl", None)
    if item.get("avatarKey") and avatar_url is not None:
        fields["avatarUrl"] = avatar_url(str(item["avatarKey"]))
    return Profile.model_validate(fields)


def router(profiles: ProfileLookup, avatar_url: AvatarUrl | None = None) -> Router:
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
        return profile_of(item, avatar_url)

    return me
