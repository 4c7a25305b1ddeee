"""`/api-keys`: a tenant's machine keys, managed by that tenant's Admins (signed in: never by a key). The key
itself is shown once, in the answer to its creation; listings never show a secret or its hash. The rules
(scopes, lifetime, hashing, revocation) are tenantry.api_keys'."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from tenantry.api.errors import ApiError, error_responses, not_found
from tenantry.api.route_caller import require, verified_caller
from tenantry.api_keys import MAX_LIFETIME_DAYS, SCOPES, ApiKey, InvalidKeyRequest

if TYPE_CHECKING:
    from tenantry.api_keys import ApiKeyStore

KEY_MANAGERS = ("Admin",)


class NewApiKey(BaseModel):
    """A key to create. Types are checked here; what the values may be, by tenantry.api_keys."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[StrictStr, Field(description="What the key is for, 1 to 100 characters")]
    scopes: Annotated[list[StrictStr], Field(description=f"Any of {', '.join(SCOPES)}", json_schema_extra={"uniqueItems": True})]
    expiresInDays: Annotated[StrictInt, Field(description=f"The key's lifetime, 1 to {MAX_LIFETIME_DAYS} days")]  # noqa: N815


class CreatedApiKey(BaseModel):
    key: Annotated[str, Field(description="The key, `tk_<keyId>_<secret>`: shown this once, send it as `X-Api-Key`")]
    apiKey: ApiKey  # noqa: N815


class ApiKeyList(BaseModel):
    items: list[ApiKey]


def router(store: Callable[[], ApiKeyStore]) -> Router:
    api_keys = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    @api_keys.post(
        "/api-keys",
        summary="Create an API key of the caller's tenant (shown once)",
        operation_id="createApiKey",
        tags=["api-keys"],
        responses={201: {"description": "The key, shown once, and its record"}, **error_responses(400, 401, 403)},
    )
    def create_api_key(body: NewApiKey) -> Response[CreatedApiKey]:
        caller = require(verified_caller(api_keys), roles=KEY_MANAGERS)
        try:
            record, key = store().create(caller.tenant_id, caller.user_id, body.name, body.scopes, body.expiresInDays)
        except InvalidKeyRequest as invalid:
            raise ApiError(400, "INVALID_REQUEST", str(invalid), invalid.field) from None
        created = CreatedApiKey(key=key, apiKey=record)
        return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=created)

    @api_keys.get(
        "/api-keys",
        summary="The caller's tenant's API keys (never their secrets)",
        operation_id="listApiKeys",
        tags=["api-keys"],
        responses={200: {"description": "The tenant's keys, newest first"}, **error_responses(401, 403)},
    )
    def list_api_keys() -> ApiKeyList:
        caller = require(verified_caller(api_keys), roles=KEY_MANAGERS)
        return ApiKeyList(items=store().list(caller.tenant_id))

    @api_keys.delete(
        "/api-keys/<id>",
        summary="Revoke an API key of the caller's tenant (refused from its next request on)",
        operation_id="revokeApiKey",
        tags=["api-keys"],
        responses={204: {"description": "Revoked"}, **error_responses(401, 403, 404)},
    )
    def revoke_api_key(id: str) -> Response[Any]:  # noqa: A002 - the path's own name
        caller = require(verified_caller(api_keys), roles=KEY_MANAGERS)
        # Another tenant's key answers exactly as one that does not exist
        if store().revoke(caller.tenant_id, id) is None:
            raise not_found("no such API key")
        return Response(status_code=204)

    return api_keys
