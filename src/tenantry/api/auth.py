"""`/auth/*` and `/me/mfa/*`: signing in (password, then the TOTP code when the user has MFA), refreshing,
signing out everywhere, and setting up an authenticator app. The work is tenantry.authentication's.

`/auth/login`, `/auth/login/mfa` and `/auth/refresh` are public (no authorizer): they name a tenant only to
find its pool; the tokens they answer with carry the tenant Cognito has for the user. Everything else is a
signed-in user's own (never a key's). A session with `mfa_setup_only` may call `/me/mfa/totp*` (and `GET /me`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tenantry.api.caller import Caller
from tenantry.api.errors import ApiError, error_responses, not_found, unauthenticated
from tenantry.api.route_caller import signed_in_user
from tenantry.authentication import ChallengeExpired, MfaChallenge, SignInRefused, Tokens, TooManyAttempts, WrongMfaCode

if TYPE_CHECKING:
    from tenantry.authentication import Authentication, TotpSetUp
    from tenantry.user_admin import UserAdmin

# The operations any caller may make without a credential (documented with `security: []`).
PUBLIC_OPERATIONS = ("logIn", "answerMfaChallenge", "refreshTokens")

TenantId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s/]+@[^@\s/]+\.[^@\s/]+$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
TotpCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
OTPAUTH_ISSUER = "Tenantry"


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenantId: Annotated[TenantId, Field(description="The tenant the user signs in to (it only finds their user pool)")]  # noqa: N815
    username: Annotated[Email, Field(description="The user's email")]
    password: Password


class MfaAnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session: Annotated[str, StringConstraints(min_length=20, max_length=4096), Field(description="The challenge's session")]
    code: Annotated[TotpCode, Field(description="The authenticator app's current 6-digit code")]


class RefreshBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenantId: TenantId  # noqa: N815
    refreshToken: Annotated[str, StringConstraints(min_length=20, max_length=8192)]  # noqa: N815


class TotpCodeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[TotpCode, Field(description="The first code the authenticator app shows")]


class TokenSet(BaseModel):
    """The caller's tokens: send the access token as `Authorization: Bearer <accessToken>`."""

    accessToken: str  # noqa: N815
    idToken: str  # noqa: N815
    refreshToken: Annotated[  # noqa: N815
        str | None,
        Field(
            description=(
                "From a refresh, the next refresh token: use it from now on, as the one sent stops working 10 seconds "
                "later. (Absent only from an app client that does not rotate: keep the one you hold.)"
            )
        ),
    ] = None
    expiresIn: Annotated[int, Field(description="Seconds until the access and ID tokens expire")]  # noqa: N815
    tokenType: Literal["Bearer"] = "Bearer"  # noqa: N815
    mfaSetupOnly: Annotated[  # noqa: N815
        bool, Field(description="MFA is required and not set up yet: these tokens may only set up TOTP (`/me/mfa/totp`)")
    ] = False


class MfaChallengeAnswer(BaseModel):
    """The user has MFA: answer with `POST /auth/login/mfa` within `expiresIn` seconds."""

    challenge: Literal["SOFTWARE_TOKEN_MFA"] = "SOFTWARE_TOKEN_MFA"
    session: str
    expiresIn: int  # noqa: N815


class TotpSecret(BaseModel):
    secretCode: Annotated[str, Field(description="The authenticator's secret (base32): shown this once")]  # noqa: N815
    otpauthUri: Annotated[str, Field(description="The same as an `otpauth://` URI, for a QR code")]  # noqa: N815


class TotpEnabled(BaseModel):
    mfa: Literal["SOFTWARE_TOKEN_MFA"] = "SOFTWARE_TOKEN_MFA"
    complianceRun: Annotated[  # noqa: N815
        str, Field(description="The MfaCompliance execution that records the MFA as in place (`mfaState` COMPLIANT)")
    ]


def _claims_of(access_token: str) -> dict[str, Any]:
    """The payload of a token Cognito has just issued to us (read, not verified: it never left this call)."""
    try:
        payload = access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_set(tokens: Tokens) -> TokenSet:
    return TokenSet(
        accessToken=tokens.access_token,
        idToken=tokens.id_token,
        refreshToken=tokens.refresh_token,
        expiresIn=tokens.expires_in,
        mfaSetupOnly=_claims_of(tokens.access_token).get("mfa_setup_only") == "true",
    )


def invalid_credentials() -> ApiError:
    return ApiError(401, "INVALID_CREDENTIALS", "the tenant, username and password do not match a user who may sign in")


def too_many_attempts() -> ApiError:
    return ApiError(429, "TOO_MANY_ATTEMPTS", "too many failed sign-ins for this account; try again later")


def wrong_code(error: WrongMfaCode, status: int = 401) -> ApiError:
    """401 where the code is the credential (answering a sign-in's challenge), 400 where the caller is signed in
    already and the code is only input (confirming an authenticator)."""
    if error.replayed:
        return ApiError(status, "MFA_CODE_ALREADY_USED", "this code was already used; wait for the next one", "code")
    return ApiError(status, "INVALID_MFA_CODE", "the code does not match", "code")


def wired(factory: Callable[[], Any] | None) -> Any:
    if factory is None:  # only the OpenAPI document is built without one
        raise ApiError(500, "INTERNAL", "sign-in is not configured")
    return factory()


def router(authentication: Callable[[], Authentication] | None, users: Callable[[], UserAdmin] | None) -> Router:
    """/auth/*: sign in, answer the MFA challenge, refresh, sign out."""
    auth = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    @auth.post(
        "/auth/login",
        summary="Sign in with a password",
        description=(
            "Tokens, or (for a user with an authenticator app) a `SOFTWARE_TOKEN_MFA` challenge to answer with "
            "`POST /auth/login/mfa`. A user whose MFA is required but not set up gets tokens with `mfaSetupOnly`, good "
            "only for `/me/mfa/totp`. An unknown tenant, an unknown user and a wrong password answer the same 401, "
            "after the same delay; after 5 failures in 15 minutes the account answers 429."
        ),
        operation_id="logIn",
        tags=["auth"],
        responses={
            200: {"description": "Tokens, or an MFA challenge"},
            **error_responses(400, 401, 415, 429),
        },
    )
    def log_in(body: LoginBody) -> TokenSet | MfaChallengeAnswer:
        try:
            outcome = wired(authentication).log_in(body.tenantId, body.username, body.password)
        except SignInRefused:
            raise invalid_credentials() from None
        except TooManyAttempts:
            raise too_many_attempts() from None
        if isinstance(outcome, MfaChallenge):
            return MfaChallengeAnswer(session=outcome.session, expiresIn=max(0, outcome.expires_at_epoch - _now()))
        return token_set(outcome)

    @auth.post(
        "/auth/login/mfa",
        summary="Answer the MFA challenge of a sign-in with the authenticator's code",
        description="A challenge is answered once, within its time; 3 wrong codes end it. A code that already signed "
        "the user in is refused.",
        operation_id="answerMfaChallenge",
        tags=["auth"],
        responses={200: {"description": "Tokens"}, **error_responses(400, 401, 415)},
    )
    def answer_mfa(body: MfaAnswerBody) -> TokenSet:
        try:
            return token_set(wired(authentication).answer_mfa(body.session, body.code))
        except ChallengeExpired:
            message = "the challenge is unknown, answered or expired: sign in again"
            raise ApiError(401, "CHALLENGE_EXPIRED", message, "session") from None
        except WrongMfaCode as error:
            raise wrong_code(error) from None

    @auth.post(
        "/auth/refresh",
        summary="New access and ID tokens from a refresh token",
        operation_id="refreshTokens",
        tags=["auth"],
        responses={200: {"description": "Tokens"}, **error_responses(400, 401, 415)},
    )
    def refresh(body: RefreshBody) -> TokenSet:
        try:
            return token_set(wired(authentication).refresh(body.tenantId, body.refreshToken))
        except SignInRefused:
            message = "the refresh token is not valid, or its sessions ended"
            raise ApiError(401, "INVALID_REFRESH_TOKEN", message, "refreshToken") from None

    @auth.post(
        "/auth/logout",
        summary="Sign out everywhere",
        description="Every session of the caller ends: their refresh tokens stop working and the API refuses every "
        "access token issued before now (SessionsRevoked, reason `signed-out`).",
        operation_id="logOut",
        tags=["auth"],
        responses={204: {"description": "Signed out"}, **error_responses(401, 403, 404)},
    )
    def log_out() -> Response[Any]:
        caller = signed_in_user(auth)
        admin: UserAdmin = wired(users)
        user = admin.user_of_tenant(caller.tenant_id, caller.user_id)
        if user is None:
            raise not_found("no profile for the caller")
        request_id = str((auth.current_event.get("requestContext") or {})["requestId"])
        admin.revoke_sessions(user, "signed-out", request_id)
        return Response(status_code=204)

    return auth


def totp_router(totp: Callable[[], TotpSetUp] | None, mfa_set_up: Callable[[Caller], str]) -> Router:
    """/me/mfa/totp*: the caller sets up an authenticator app with their own access token."""
    mfa = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    def bearer_token() -> str:
        header = str((mfa.current_event.get("headers") or {}).get("authorization") or "")
        return header.partition(" ")[2].strip()

    @mfa.post(
        "/me/mfa/totp",
        summary="Start setting up an authenticator app",
        description="A new TOTP secret for the caller (also with an `mfaSetupOnly` session); confirm it with "
        "`POST /me/mfa/totp/verify`.",
        operation_id="beginTotpSetUp",
        tags=["me"],
        responses={200: {"description": "The secret"}, **error_responses(401, 403)},
    )
    def begin_totp() -> TotpSecret:
        caller = signed_in_user(mfa, setting_up_mfa=True)
        secret = _user_token_call(lambda: wired(totp).begin(bearer_token()))
        label = caller.username.replace("/", ":")
        uri = f"otpauth://totp/{OTPAUTH_ISSUER}:{label}?secret={secret}&issuer={OTPAUTH_ISSUER}"
        return TotpSecret(secretCode=secret, otpauthUri=uri)

    @mfa.post(
        "/me/mfa/totp/verify",
        summary="Confirm the authenticator app with its first code",
        description="TOTP becomes the caller's MFA: the next sign-in asks for a code, and a user whose administrator "
        "requires MFA is recorded as compliant (through the MfaCompliance workflow).",
        operation_id="verifyTotpSetUp",
        tags=["me"],
        responses={200: {"description": "TOTP is on"}, **error_responses(400, 401, 403, 415)},  # 400: a wrong code
    )
    def verify_totp(body: TotpCodeBody) -> TotpEnabled:
        caller = signed_in_user(mfa, setting_up_mfa=True)
        try:
            _user_token_call(lambda: wired(totp).verify(bearer_token(), body.code))
        except WrongMfaCode as error:
            raise wrong_code(error, 400) from None
        return TotpEnabled(complianceRun=mfa_set_up(caller))

    return mfa


def _user_token_call(call: Callable[[], Any]) -> Any:
    """A Cognito call made with the caller's own access token: Cognito refusing the token is a 401."""
    from botocore.exceptions import ClientError

    try:
        return call()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NotAuthorizedException":
            raise unauthenticated("TOKEN_REVOKED") from None
        raise


def _now() -> int:
    import time

    return int(time.time())
