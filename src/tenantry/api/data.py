"""Profile data blobs: `PATCH /me/data` (the caller's own), `PUT` and `PATCH /users/{id}/data` (Admins,
SuperUsers and keys with `users:write`, on users of their tenant). PATCH is an RFC 7396 merge patch; every write
answers the blob and its `ETag`, and takes `If-Match` so that a writer who read an older version gets 412
instead of overwriting a change it never saw. A PATCH without `If-Match` still never loses a concurrent
change: it merges onto the version it read, conditioned on that version, and reads again if it lost the race.
The rules (RFC 7396, depth, size, DynamoDB's numbers, versions) are tenantry.profile_data's."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from pydantic import BaseModel, Field

from tenantry.api.caller import Caller
from tenantry.api.errors import ApiError, error_responses, not_found
from tenantry.api.route_caller import NO_ME, require, signed_in_user, verified_caller
from tenantry.profile_data import MAX_DATA_BYTES, MAX_DEPTH, DataTooLarge, InvalidData, UserNotFound, VersionMismatch
from tenantry.roles import MANAGING_ROLES, ROLES_HIGHEST_FIRST

if TYPE_CHECKING:
    from tenantry.profile_data import ProfileDataStore

WRITE_SCOPE = "users:write"
LIMITS = f"A JSON object of at most {MAX_DATA_BYTES} bytes (compact JSON) and {MAX_DEPTH} levels of nesting."


class DataBlob(BaseModel):
    data: dict[str, Any]
    etag: Annotated[str, Field(description="The blob's version, also the `ETag` header: send it as `If-Match`")]


def _answer(data: dict[str, Any], etag: str) -> Response[str]:
    body = DataBlob(data=data, etag=etag).model_dump_json()
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body, headers={"ETag": etag})


def _writing(work: Callable[[], tuple[dict[str, Any], str]]) -> Response[str]:
    """`work()`'s blob, its failures in the error shape."""
    try:
        return _answer(*work())
    except InvalidData as invalid:
        raise ApiError(400, "INVALID_REQUEST", str(invalid), invalid.field) from None
    except DataTooLarge as too_large:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", str(too_large), "body") from None
    except UserNotFound:
        raise not_found("no such user") from None
    except VersionMismatch as stale:
        message = f"the data changed since that version: it is now {stale.etag}"
        raise ApiError(412, "PRECONDITION_FAILED", message, "If-Match") from None


BlobBody = Annotated[dict[str, Any], Body(description=LIMITS)]
IfMatch = Annotated[
    str | None,
    Header(alias="if-match", min_length=1, max_length=64, description="Write only if the blob is at this ETag"),
]
UserId = Annotated[str, Path(min_length=1, max_length=128, description="The user's id")]
WRITE_RESPONSES = {
    200: {"description": "The stored blob", "content": {"application/json": {"model": DataBlob}}},
    **error_responses(400, 401, 403, 404, 412, 413, 415),
}


def router(store: Callable[[], ProfileDataStore] | None) -> Router:
    data = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    def blobs() -> ProfileDataStore:
        if store is None:  # only the OpenAPI document is built without one
            raise ApiError(500, "INTERNAL", "profile data is not configured")
        return store()

    def writer() -> Caller:
        return require(verified_caller(data), roles=MANAGING_ROLES, scope=WRITE_SCOPE)

    @data.patch(
        "/me/data",
        summary="Merge into the caller's own data blob (RFC 7396)",
        description=LIMITS + " `null` removes a member.",
        operation_id="patchMyData",
        tags=["me"],
        responses=WRITE_RESPONSES,
    )
    def patch_my_data(body: BlobBody, if_match: IfMatch = None) -> Response[str]:
        caller = require(signed_in_user(data, key_refusal=NO_ME), roles=ROLES_HIGHEST_FIRST)  # any role
        return _writing(lambda: blobs().apply(caller.user_id, caller.tenant_id, body, replace=False, if_match=if_match))

    @data.put(
        "/users/<id>/data",
        summary="Replace a user's data blob",
        description=LIMITS,
        operation_id="putUserData",
        tags=["users"],
        responses=WRITE_RESPONSES,
    )
    def put_user_data(id: UserId, body: BlobBody, if_match: IfMatch = None) -> Response[str]:  # noqa: A002
        caller = writer()
        return _writing(lambda: blobs().apply(id, caller.tenant_id, body, replace=True, if_match=if_match))

    @data.patch(
        "/users/<id>/data",
        summary="Merge into a user's data blob (RFC 7396)",
        description=LIMITS + " `null` removes a member.",
        operation_id="patchUserData",
        tags=["users"],
        responses=WRITE_RESPONSES,
    )
    def patch_user_data(id: UserId, body: BlobBody, if_match: IfMatch = None) -> Response[str]:  # noqa: A002
        caller = writer()
        return _writing(lambda: blobs().apply(id, caller.tenant_id, body, replace=False, if_match=if_match))

    return data
