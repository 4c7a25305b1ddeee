"""The Identity API's resolver: one Router per resource, every error in the API's error shape, and the
OpenAPI document generated from the routes (served at `GET /openapi.json`, checked in as docs/openapi.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from tenantry.api import me
from tenantry.api.errors import error_responses, install_error_handlers

TITLE = "Tenantry Identity API"
VERSION = "0.1.0"
BEARER = "bearerAuth"
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


@dataclass(frozen=True)
class Dependencies:
    """What the routes read and write, injected (the handler passes table-backed ones, tests fakes)."""

    profiles: me.ProfileLookup


def build_resolver(dependencies: Dependencies) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    app.configure_openapi(
        title=TITLE,
        version=VERSION,
        description=(
            "Tenantry's front door for people and for machines acting for one tenant. Every call but this document "
            "needs `Authorization: Bearer <access token>`; the tenant of a call is always the credential's. "
            'Every error is `{"error": {"code", "message", "field"?}}`.'
        ),
        security_schemes={BEARER: HTTPBearer(bearerFormat="JWT", description="A Cognito access token of the tenant's pool")},
        security=[{BEARER: []}],
    )
    install_error_handlers(app)
    app.include_router(me.router(dependencies.profiles))

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document() -> Response[str]:
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json(app))

    return app


def openapi_json(app: APIGatewayHttpResolver) -> str:
    """The resolver's OpenAPI document, as served and checked in (docs/openapi.json)."""
    return json.dumps(openapi_document(app), indent=2) + "\n"


def openapi_document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """Powertools' generated document, with its validation answers as this API gives them: Powertools documents
    a 422 with its own body on every route, where the API answers 400 in the error shape (tenantry.api.errors),
    and only on routes that take input."""
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    for path in document.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and (operation.get("parameters") or operation.get("requestBody")):
                responses.setdefault("400", error_responses(400)[400] | {"content": ERROR_CONTENT})
    schemas = document.get("components", {}).get("schemas", {})
    if "ValidationError" not in json.dumps(document.get("paths", {})):  # Powertools' own error bodies, now unused
        for name in ("HTTPValidationError", "ResponseValidationError", "ValidationError"):
            schemas.pop(name, None)
    return document


def generated_openapi_json() -> str:
    """docs/openapi.json as the routes define it now (no dependency is called to describe them)."""
    return openapi_json(build_resolver(Dependencies(profiles=lambda user_id: None)))
