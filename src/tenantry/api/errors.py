"""The Identity API's one error shape, `{"error": {"code", "message", "field"?}}`, for every error it returns:
raised `ApiError`s, unknown routes, request validation failures and unexpected exceptions alike."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable code", examples=["NOT_FOUND"])
    message: str = Field(description="What went wrong, for a person")
    field: str | None = Field(default=None, description="Dotted path of the one field at fault, when there is one")


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error answer: raise it from a route."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def not_found(message: str = "not found") -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


def unauthenticated(reason: str | None = None) -> ApiError:
    """401. The code says why when the authorizer said why (`TOKEN_EXPIRED`, `TOKEN_REVOKED`, `KEY_REVOKED`,
    `NO_CREDENTIALS`, ...); the message never repeats the credential."""
    if reason is None:
        return ApiError(401, "UNAUTHENTICATED", "the request carries no verified credential")
    return ApiError(401, reason, f"the request's credential was not accepted ({reason})")


def forbidden(message: str = "the caller may not do this") -> ApiError:
    return ApiError(403, "FORBIDDEN", message)


def rate_limited() -> ApiError:
    return ApiError(429, "RATE_LIMITED", "this API key's requests for this minute are spent; retry in the next minute")


def payload_too_large(limit: int) -> ApiError:
    return ApiError(413, "PAYLOAD_TOO_LARGE", f"the request body is longer than {limit} characters", "body")


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response[str]:
    from aws_lambda_powertools.event_handler import Response, content_types

    detail: dict[str, Any] = {"code": code, "message": message}
    if field:
        detail["field"] = field
    body = json.dumps({"error": detail}, separators=(",", ":"))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def error_responses(*statuses: int) -> dict[int, Any]:
    """The OpenAPI `responses` entry of a route for these error statuses, all in the error shape."""
    descriptions = {
        400: "Invalid request",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        412: "The resource changed since the version given (If-Match)",
        413: "Request body too large",
        429: "Too many requests",
    }
    return {
        status: {"description": descriptions.get(status, "Error"), "content": {"application/json": {"model": ErrorBody}}}
        for status in statuses
    }


def _field_of(location: tuple[Any, ...]) -> str | None:
    # Powertools/pydantic locations start with where the value came from ("body", "query", ...)
    parts = [str(p) for p in location[1:]] if location and location[0] in ("body", "query", "path", "header") else []
    if not parts and location == ("body",):  # the body as a whole (missing, or not the type the route takes)
        return "body"
    return ".".join(parts) or None


def _body_is_utf8(body: str | None, base64_encoded: bool | None) -> bool:
    try:
        if body and base64_encoded:
            base64.b64decode(body).decode()
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def install_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Answer every error of `app` in the error shape."""
    from aws_lambda_powertools.event_handler.exceptions import ServiceError
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError

    from tenantry.observability import logger

    def api_error(error: ApiError) -> Response[str]:
        return error_response(error.status, error.code, error.message, error.field)

    def invalid_request(error: RequestValidationError) -> Response[str]:
        problems = error.errors()
        first = problems[0] if problems else {}
        message = "; ".join(f"{_field_of(tuple(p.get('loc', ()))) or 'request'}: {p.get('msg', 'invalid')}" for p in problems)
        return error_response(400, "INVALID_REQUEST", message or "invalid request", _field_of(tuple(first.get("loc", ()))))

    def unsupported_content_type(error: RequestUnsupportedContentType) -> Response[str]:
        return error_response(415, "UNSUPPORTED_MEDIA_TYPE", "the request body must be application/json")

    def undecodable(error: UnicodeDecodeError) -> Response[str]:
        # Powertools decodes a base64 body as UTF-8 before it validates anything: a body that is not UTF-8 is
        # the caller's mistake, not ours (any other decoding error is)
        if _body_is_utf8(app.current_event.body, app.current_event.is_base64_encoded):
            return unexpected(error)
        return error_response(400, "INVALID_REQUEST", "the request body must be JSON in UTF-8", "body")

    def service_error(error: ServiceError) -> Response[str]:
        return error_response(error.status_code, "ERROR", str(error.msg))

    def no_route(_: Exception) -> Response[str]:
        event = app.current_event
        return error_response(404, "NOT_FOUND", f"no route {event.request_context.http.method} {event.raw_path}")

    def unexpected(error: Exception) -> Response[str]:
        logger().exception("unexpected error")
        return error_response(500, "INTERNAL", "an unexpected error occurred")

    # Powertools' registration decorators are untyped: registered by call so that these handlers stay typed.
    app.exception_handler(ApiError)(api_error)
    app.exception_handler(RequestValidationError)(invalid_request)
    app.exception_handler(RequestUnsupportedContentType)(unsupported_content_type)
    app.exception_handler(ServiceError)(service_error)
    app.exception_handler(UnicodeDecodeError)(undecodable)
    app.not_found(no_route)
    app.exception_handler(Exception)(unexpected)
