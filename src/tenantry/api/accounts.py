"""The public account routes (`/auth/password/*`, `/auth/activate`) and `/auth/token/verify` for a tenant's
backend (an API key with `tokens:verify`). The work is tenantry.authentication's, tenantry.activation's and
tenantry.tokens'. Neither a code nor a password nor a token is ever logged or put in an event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tenantry.activation import Refused
from tenantry.api.auth import Email, TenantId, too_many_attempts, wired
from tenantry.api.errors import ApiError, error_responses, unauthenticated
from tenantry.api.route_caller import require, verified_caller
from tenantry.authentication import InvalidResetCode, PasswordRejected, TooManyAttempts
from tenantry.tokens import TokenRejected

if TYPE_CHECKING:
    from tenantry.activation import AccountActivation
    from tenantry.authentication import PasswordReset

PUBLIC_OPERATIONS = ("forgotPassword", "resetPassword", "activateAccount")
VERIFY_SCOPE = "tokens:verify"
# An activation code is `secrets.token_urlsafe(32)`: 43 URL-safe characters
ActivationCode = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
ResetCode = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[0-9]+$")]
# Cognito refuses a password that starts or ends with a space: said here, naming the field
NewPassword = Annotated[str, StringConstraints(min_length=8, max_length=256, pattern=r"^\S(.*\S)?$")]
ACTIVATION_ERRORS = {"INVALID_CODE": 400, "CODE_EXPIRED": 400, "CODE_ALREADY_USED": 409}

# (token, the key's tenant) -> the token's verified claims, or TokenRejected
TokenCheck = Callable[[str, str], dict[str, Any]]


class ForgotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenantId: TenantId  # noqa: N815
    username: Annotated[Email, Field(description="The user's email")]


class ResetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenantId: TenantId  # noqa: N815
    username: Annotated[Email, Field(description="The user's email")]
    code: Annotated[ResetCode, Field(description="The code Cognito emailed")]
    password: NewPassword


class ActivateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[ActivationCode, Field(description="The activation code from the user's email")]
    password: Annotated[NewPassword, Field(description="The password the user chooses")]


class VerifyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=1, max_length=8192), Field(description="An access token")]


class Accepted(BaseModel):
    message: str


class ActivatedAccount(BaseModel):
    userId: str  # noqa: N815
    tenantId: str  # noqa: N815
    status: Literal["ACTIVATING"] = Field(
        default="ACTIVATING", description="The registration resumes: the profile becomes ACTIVE moments later"
    )


class VerifiedToken(BaseModel):
    claims: Annotated[dict[str, Any], Field(description="The access token's verified claims")]


def router(password_reset: Callable[[], PasswordReset] | None, activation: Callable[[], AccountActivation] | None) -> Router:
    """The public account routes: forgotten passwords and activation."""
    accounts = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    def source_ip() -> str:
        return str(((accounts.current_event.get("requestContext") or {}).get("http") or {}).get("sourceIp") or "")

    @accounts.post(
        "/auth/password/forgot",
        summary="Ask for a password reset code",
        description="Cognito emails a code to the account's verified address. The answer is the same whether or not "
        "the account exists; requests are limited per account and per source address (429).",
        operation_id="forgotPassword",
        tags=["auth"],
        responses={
            202: {"description": "A code was sent if the account exists", "content": {"application/json": {"model": Accepted}}},
            **error_responses(400, 415, 429),
        },
    )
    def forgot(body: ForgotBody) -> Response[str]:
        try:
            wired(password_reset).forgot(body.tenantId, body.username, source_ip())
        except TooManyAttempts:
            raise ApiError(429, "TOO_MANY_ATTEMPTS", "too many reset requests; try again later") from None
        accepted = Accepted(message="if the account exists, a code is on its way to its email")
        return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=accepted.model_dump_json())

    @accounts.post(
        "/auth/password/reset",
        summary="Set a new password with the emailed code",
        description="A wrong or expired code and an unknown account answer the same 400; 5 wrong codes in 15 minutes answer 429.",
        operation_id="resetPassword",
        tags=["auth"],
        responses={204: {"description": "The password is changed"}, **error_responses(400, 415, 429)},
    )
    def reset(body: ResetBody) -> Response[Any]:
        try:
            wired(password_reset).reset(body.tenantId, body.username, body.code, body.password)
        except InvalidResetCode:
            raise ApiError(400, "INVALID_CODE", "the code is not valid for this account", "code") from None
        except PasswordRejected as rejected:
            raise ApiError(400, "INVALID_PASSWORD", f"the password is not allowed: {rejected}", "password") from None
        except TooManyAttempts:
            raise too_many_attempts() from None
        return Response(status_code=204)

    @accounts.post(
        "/auth/activate",
        summary="Activate an account with its code and choose its password",
        description="The activation page's call: the waiting registration resumes (as `UserActivationRequested` does) "
        "and the password is set. Errors as on the bus: `INVALID_CODE`, `CODE_EXPIRED` (400), `CODE_ALREADY_USED` "
        "(409); wrong codes are limited per source address (429).",
        operation_id="activateAccount",
        tags=["auth"],
        responses={200: {"description": "Activated"}, **error_responses(400, 409, 415, 429)},
    )
    def activate(body: ActivateBody) -> ActivatedAccount:
        request_id = f"api-activate-{uuid.uuid4().hex}"
        try:
            outcome = wired(activation).activate(body.code, body.password, request_id, source_ip())
        except TooManyAttempts:
            raise ApiError(429, "TOO_MANY_ATTEMPTS", "too many wrong codes from this address; try again later") from None
        except PasswordRejected as rejected:
            raise ApiError(400, "INVALID_PASSWORD", f"the password is not allowed: {rejected}", "password") from None
        if isinstance(outcome, Refused):
            raise ApiError(ACTIVATION_ERRORS.get(outcome.reason, 400), outcome.reason, outcome.message, "code")
        return ActivatedAccount(userId=outcome.userId, tenantId=outcome.tenantId)

    return accounts


def token_router(check_token: TokenCheck | None) -> Router:
    """`/auth/token/verify`, a tenant's key's."""
    tokens = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    @tokens.post(
        "/auth/token/verify",
        summary="Verify an access token of the key's tenant",
        description="For a tenant's backend that receives tokens itself (tokens never travel in URLs): the claims, "
        "or 401 with the reason (`TOKEN_EXPIRED`, `TOKEN_REVOKED`, `TOKEN_WRONG_TENANT`, ...). An API key with "
        "`tokens:verify` only.",
        operation_id="verifyToken",
        tags=["auth"],
        responses={200: {"description": "The token's claims"}, **error_responses(400, 401, 403, 415)},
    )
    def verify(body: VerifyBody) -> VerifiedToken:
        caller = verified_caller(tokens)
        require(caller, roles=(), scope=VERIFY_SCOPE)  # a key's call only: no user role opens it
        if check_token is None:
            raise ApiError(500, "INTERNAL", "token verification is not configured")
        try:
            return VerifiedToken(claims=check_token(body.token, caller.tenant_id))
        except TokenRejected as rejected:
            raise unauthenticated(f"TOKEN_{rejected.reason}") from None

    return tokens
