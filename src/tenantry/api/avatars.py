"""`POST /me/avatar`: a presigned S3 upload form for the caller's new avatar. The key is the API's, under the
caller's tenant and user; the type (PNG, JPEG, WebP) and size (1 MiB) are in the POST policy, which S3 itself
enforces. The profile's `avatarUrl` points at the picture once S3 has it (tenantry.avatars)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from tenantry.api.errors import ApiError, error_responses
from tenantry.api.route_caller import NO_ME, require, signed_in_user
from tenantry.roles import ROLES_HIGHEST_FIRST

if TYPE_CHECKING:
    from tenantry.avatars import Avatars


class AvatarRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contentType: Annotated[  # noqa: N815
        Literal["image/png", "image/jpeg", "image/webp"], Field(description="The picture's type: the upload must be it")
    ]


class AvatarUpload(BaseModel):
    """POST the file as multipart/form-data to `url`: every one of `fields`, then `file` last."""

    url: str
    fields: dict[str, str]
    key: Annotated[str, Field(description="Where the picture will be: chosen by the API")]
    expiresIn: Annotated[int, Field(description="Seconds the form is good for")]  # noqa: N815
    maxBytes: Annotated[int, Field(description="The largest picture S3 accepts with this form")]  # noqa: N815


def router(avatars: Callable[[], Avatars] | None) -> Router:
    avatar = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    @avatar.post(
        "/me/avatar",
        summary="An upload form for the caller's avatar",
        description="A presigned S3 POST: PNG, JPEG or WebP, at most 1 MiB, for 5 minutes; S3 refuses any other upload. "
        "The profile's `avatarUrl` shows the picture once it is uploaded.",
        operation_id="createAvatarUpload",
        tags=["me"],
        responses={200: {"description": "The upload form"}, **error_responses(400, 401, 403, 415)},
    )
    def create_upload(body: AvatarRequest) -> AvatarUpload:
        caller = require(signed_in_user(avatar, key_refusal=NO_ME), roles=ROLES_HIGHEST_FIRST)  # any role
        if avatars is None:  # only the OpenAPI document is built without one
            raise ApiError(500, "INTERNAL", "avatars are not configured")
        form = avatars().upload_form(caller.tenant_id, caller.user_id, body.contentType)
        return AvatarUpload(url=form.url, fields=form.fields, key=form.key, expiresIn=form.expires_in, maxBytes=form.max_bytes)

    return avatar
