"""The Identity API's resolver: one Router per resource, every error in the API's error shape, and the
OpenAPI document generated from the routes (served at `GET /openapi.json`, checked in as docs/openapi.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

from tenantry.api import accounts, api_keys, auth, avatars, badges, data, me, user_changes, users
from tenantry.api.caller import refusal_from_context
from tenantry.api.errors import (
    error_response,
    error_responses,
    install_error_handlers,
    payload_too_large,
    rate_limited,
    unauthenticated,
)
from tenantry.api.route_caller import authorizer_context, caller_of
from tenantry.api_keys import ApiKeyStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from tenantry.activation import AccountActivation
    from tenantry.api.caller import Caller
    from tenantry.authentication import Authentication, PasswordReset, TotpSetUp
    from tenantry.avatars import Avatars
    from tenantry.profile_data import ProfileDataStore
    from tenantry.user_admin import UserAdmin

TITLE = "Tenantry Identity API"
VERSION = "0.1.0"
BEARER = "bearerAuth"
API_KEY = "apiKey"
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


@dataclass(frozen=True)
class Dependencies:
    """What the routes read and write, injected (the handler passes table-backed ones, tests fakes)."""

    profiles: me.ProfileLookup
    api_keys: Callable[[], ApiKeyStore]  # made at its first use
    user_changes: Callable[[], UserAdmin] | None = None  # changes of users, made at first use (None: only describing)
    # registering and finding users (the defaults refuse: only describing the routes needs no wiring)
    start_registration: users.RegistrationStarter = users.not_wired
    search_users: users.UserSearch = users.not_wired
    # signing in and setting up TOTP (None: only describing); the MfaCompliance run that records a set-up
    authentication: Callable[[], Authentication] | None = None
    totp: Callable[[], TotpSetUp] | None = None
    mfa_set_up: Callable[[Caller], str] = users.not_wired
    password_reset: Callable[[], PasswordReset] | None = None
    activation: Callable[[], AccountActivation] | None = None
    check_token: accounts.TokenCheck | None = None
    # profile data, badges and avatars (None: only describing); avatar_url signs a URL to read an avatar
    profile_data: Callable[[], ProfileDataStore] | None = None
    badge_services: Callable[[], badges.BadgeServices] | None = None
    avatars: Callable[[], Avatars] | None = None
    avatar_url: me.AvatarUrl | None = None


def build_resolver(dependencies: Dependencies) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    app.configure_openapi(
        title=TITLE,
        version=VERSION,
        description=(
            "Tenantry's front door for people and for machines acting for one tenant. Every call but this document "
            "and the public sign-in calls (`security: []`) needs `Authorization: Bearer <access token>` or a tenant's "
            "`X-Api-Key`; the tenant of a call is always the "
            "credential's. A key past its per-minute limit answers 429. "
            'Every error is `{"error": {"code", "message", "field"?}}`.'
        ),
        security_schemes={
            BEARER: HTTPBearer(bearerFormat="JWT", description="A Cognito access token of the tenant's pool"),
            API_KEY: APIKey.model_validate(
                {
                    "name": "X-Api-Key",
                    "in": APIKeyIn.header,
                    "description": "A tenant's API key `tk_<keyId>_<secret>`: acts for that tenant within its scopes",
                }
            ),
        },
        security=[{BEARER: []}, {API_KEY: []}],
    )
    install_error_handlers(app)
    app.use(middlewares=[admit])
    app.include_router(me.router(dependencies.profiles, dependencies.avatar_url))
    app.include_router(auth.router(dependencies.authentication, dependencies.user_changes))
    app.include_router(auth.totp_router(dependencies.totp, dependencies.mfa_set_up))
    app.include_router(accounts.router(dependencies.password_reset, dependencies.activation))
    app.include_router(accounts.token_router(dependencies.check_token))
    app.include_router(api_keys.router(dependencies.api_keys))
    app.include_router(user_changes.router(dependencies.user_changes, dependencies.avatar_url))
    app.include_router(
        users.router(dependencies.profiles, dependencies.start_registration, dependencies.search_users, dependencies.avatar_url)
    )
    app.include_router(data.router(dependencies.profile_data))
    app.include_router(badges.router(dependencies.badge_services))
    app.include_router(avatars.router(dependencies.avatars))

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document() -> Response[str]:
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json(app))

    return app


# No request of this API needs more: its bodies are a few fields (profile data blobs, later, set their own limit)
MAX_BODY_CHARACTERS = 16 * 1024


def admit(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """The authorizer's verdict, enforced before any route runs, in the error shape: 401 with its reason for a
    request it could not verify, 429 for a key whose requests of this minute are spent (an HTTP API authorizer
    can only allow, or deny with API Gateway's own 403, so it passes its verdict on in the context)."""
    refusal = refusal_from_context(authorizer_context(app.current_event))
    error = unauthenticated(refusal) if refusal else None
    caller = caller_of(app.current_event)
    if error is None and caller is not None and caller.rate_limited:
        error = rate_limited()
    if error is None and len(app.current_event.body or "") > MAX_BODY_CHARACTERS:
        error = payload_too_large(MAX_BODY_CHARACTERS)
    if error is not None:
        return error_response(error.status, error.code, error.message, error.field)
    return next_middleware(app)


def openapi_json(app: APIGatewayHttpResolver) -> str:
    """The resolver's OpenAPI document, as served and checked in (docs/openapi.json)."""
    return json.dumps(openapi_document(app), indent=2) + "\n"


def openapi_document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """Powertools' generated document, with its validation answers as this API gives them: Powertools documents
    a 422 with its own body on every route, where the API answers 400 in the error shape (tenantry.api.errors),
    and only on routes that take input. Every route may answer 429: a key past its limit gets it before any route
    runs (`admit`), and every route that takes a body may answer 413. A 204 is documented without a body, as it
    is answered."""
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    for path in document.get("paths", {}).values():
        for operation in path.values():
            if operation.get("operationId") in auth.PUBLIC_OPERATIONS + accounts.PUBLIC_OPERATIONS:
                operation["security"] = []  # no credential: Powertools leaves an empty list out
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and (operation.get("parameters") or operation.get("requestBody")):
                responses.setdefault("400", error_responses(400)[400] | {"content": ERROR_CONTENT})
            responses.setdefault("429", error_responses(429)[429] | {"content": ERROR_CONTENT})
            if operation.get("requestBody"):
                responses.setdefault("413", error_responses(413)[413] | {"content": ERROR_CONTENT})
            if "204" in responses:  # Powertools documents a JSON body for every status; a 204 has none
                responses["204"].pop("content", None)
    schemas = document.get("components", {}).get("schemas", {})
    if "ValidationError" not in json.dumps(document.get("paths", {})):  # Powertools' own error bodies, now unused
        for name in ("HTTPValidationError", "ResponseValidationError", "ValidationError"):
            schemas.pop(name, None)
    return document


def generated_openapi_json() -> str:
    """docs/openapi.json as the routes define it now (no dependency is called to describe them)."""
    return openapi_json(build_resolver(Dependencies(profiles=lambda user_id: None, api_keys=lambda: cast(ApiKeyStore, None))))
