"""Signing a tenant's users in behind the Identity API: password, MFA challenge, refresh, TOTP set-up.

The flow is `ADMIN_USER_PASSWORD_AUTH` (AdminInitiateAuth), called by the API function with its IAM role: the
browser sends the password to the API over TLS and never holds a client secret, and the app clients enable no
flow a browser could use with a plain password (README, "Signing in"). The caller names a tenant and an
email; the tenant's pool, app client and the shared pool's `<tenantId>/<email>` username are found here, from
the tenant record, never taken from the caller.

Every failure to sign in (unknown tenant, unknown user, wrong password, a user not yet activated) is the same
`SignInRefused`, answered no sooner than `failure_floor_seconds` after the attempt began, so that neither the
answer nor its timing says which it was. Failures are counted per account (`LOGIN_FAILURES`; each attempt is
taken before it is tried and given back when it succeeds, so parallel guesses are counted too), wrong TOTP
codes with them: past the limit the account answers `TooManyAttempts` without Cognito being asked.

An MFA challenge is remembered server-side under the SHA-256 of Cognito's session (never the session itself):
which pool, client and user it belongs to (the caller cannot name another user when answering it), until when
it may be answered, and how many wrong codes it has had. A code that signed the user in once is refused
again while it could still verify (a replay), whatever Cognito does.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tenantry import keys
from tenantry.adapters.dynamodb import get_plain, to_item
from tenantry.naming import canonical_email, cognito_username
from tenantry.rate_limits import Limit, RateCounter

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient

LOGIN_FAILURES = Limit("login-failure", attempts=5, window_seconds=15 * 60)
CHALLENGE_SECONDS = 180  # as long as Cognito keeps an authentication session by default (3 minutes)
MFA_ATTEMPTS_PER_CHALLENGE = 3
USED_CODE_SECONDS = 120  # a TOTP code verifies for at most its 30 s step and the steps either side
SOFTWARE_TOKEN_MFA: Final = "SOFTWARE_TOKEN_MFA"


class SignInRefused(Exception):
    """Unknown tenant, unknown user, wrong password or refresh token: one answer for all."""


class TooManyAttempts(Exception):
    """The account's failed sign-ins of this window are spent."""


class ChallengeExpired(Exception):
    """The MFA challenge is unknown, already answered, expired or out of attempts: sign in again."""


class WrongMfaCode(Exception):
    """The code does not verify, or it already signed this user in (`replayed`)."""

    def __init__(self, replayed: bool = False):
        super().__init__("replayed" if replayed else "mismatch")
        self.replayed = replayed


@dataclass(frozen=True)
class TenantPool:
    tenant_id: str
    user_pool_id: str
    client_id: str
    isolation: str


@dataclass(frozen=True)
class Tokens:
    access_token: str
    id_token: str
    expires_in: int
    # From a refresh: the next refresh token (the one sent retires 10 s later), or None from an app client that
    # does not rotate them (a dedicated pool onboarded before rotation: the caller keeps the one it holds)
    refresh_token: str | None


@dataclass(frozen=True)
class MfaChallenge:
    session: str
    expires_at_epoch: int


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def account_of(tenant_id: str, email: str) -> str:
    """The subject an account's attempts are counted under (RateCounter hashes it)."""
    return f"{tenant_id}\n{canonical_email(email)}"


def _tokens(result: dict[str, Any]) -> Tokens:
    authenticated = result["AuthenticationResult"]
    return Tokens(
        access_token=authenticated["AccessToken"],
        id_token=authenticated["IdToken"],
        expires_in=int(authenticated.get("ExpiresIn", 3600)),
        refresh_token=authenticated.get("RefreshToken"),
    )


class Authentication:
    def __init__(
        self,
        table_name: str,
        dynamodb_client: DynamoDBClient,
        cognito_client: CognitoIdentityProviderClient,
        failure_floor_seconds: float = 0.4,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._table = table_name
        self._ddb = dynamodb_client
        self._cognito = cognito_client
        self._rates = RateCounter(table_name, dynamodb_client, clock)
        self._floor = failure_floor_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep

    # ------------------------------------------------------------------ the tenant's pool
    def pool_of(self, tenant_id: str) -> TenantPool | None:
        """The pool and app client of an ACTIVE tenant; None for any other tenant id."""
        if not tenant_id:
            return None
        tenant = get_plain(self._ddb, self._table, keys.tenant_key(tenant_id))
        if not tenant or tenant.get("status") != "ACTIVE" or not tenant.get("userPoolId") or not tenant.get("appClientId"):
            return None
        return TenantPool(tenant_id, tenant["userPoolId"], tenant["appClientId"], tenant.get("isolation", "shared"))

    # ------------------------------------------------------------------ password
    def log_in(self, tenant_id: str, email: str, password: str) -> Tokens | MfaChallenge:
        """Tokens, or the MFA challenge to answer with `answer_mfa`; SignInRefused or TooManyAttempts."""
        started = self._monotonic()
        account = account_of(tenant_id, email)
        if not self._rates.take(LOGIN_FAILURES, account):
            raise TooManyAttempts(tenant_id)
        try:
            outcome = self._log_in(tenant_id, email, password)
        except SignInRefused:
            self._sleep(max(0.0, self._floor - (self._monotonic() - started)))
            raise
        self._rates.refund(LOGIN_FAILURES, account)  # the password was right: not a failure
        return outcome

    def _log_in(self, tenant_id: str, email: str, password: str) -> Tokens | MfaChallenge:
        pool = self.pool_of(tenant_id)
        if pool is None:
            raise SignInRefused(tenant_id)
        username = cognito_username(pool.isolation, tenant_id, email)
        errors = self._cognito.exceptions
        try:
            result = self._cognito.admin_initiate_auth(
                UserPoolId=pool.user_pool_id,
                ClientId=pool.client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except (
            errors.NotAuthorizedException,
            errors.UserNotFoundException,
            errors.UserNotConfirmedException,
            errors.PasswordResetRequiredException,
            errors.UserLambdaValidationException,  # a trigger refused the sign-in (post authentication: MFA)
        ) as refused:
            raise SignInRefused(tenant_id) from refused
        if result.get("ChallengeName") == SOFTWARE_TOKEN_MFA:
            return self._remember_challenge(pool, username, email, result["Session"])
        if "AuthenticationResult" not in result:  # NEW_PASSWORD_REQUIRED: a user who has not activated yet
            raise SignInRefused(tenant_id)
        return _tokens(dict(result))

    def _remember_challenge(self, pool: TenantPool, username: str, email: str, session: str) -> MfaChallenge:
        expires = int(self._clock()) + CHALLENGE_SECONDS
        self._ddb.put_item(
            TableName=self._table,
            Item=to_item(
                {
                    **keys.sign_in_challenge_key(_sha256(session)),
                    "entity": keys.SIGN_IN_CHALLENGE.name,
                    "tenantId": pool.tenant_id,
                    "userPoolId": pool.user_pool_id,
                    "clientId": pool.client_id,
                    "username": username,
                    "account": account_of(pool.tenant_id, email),  # whose failures a wrong code counts against
                    "attempts": 0,
                    "expiresAtEpoch": expires,
                    "ttl": expires + 3600,
                }
            ),
        )
        return MfaChallenge(session, expires)

    # ------------------------------------------------------------------ the MFA code
    def answer_mfa(self, session: str, code: str) -> Tokens:
        """Tokens for the challenge's user; ChallengeExpired or WrongMfaCode."""
        key = keys.sign_in_challenge_key(_sha256(session))
        challenge = get_plain(self._ddb, self._table, key)
        if challenge is None or int(challenge["expiresAtEpoch"]) <= self._clock():
            raise ChallengeExpired()
        pool_id, username = challenge["userPoolId"], challenge["username"]
        account = str(challenge.get("account", ""))
        if not self._rates.take(LOGIN_FAILURES, account):  # wrong codes are failed sign-ins of the account too
            raise TooManyAttempts(str(challenge.get("tenantId", "")))
        if not self._first_use_of(pool_id, username, code):
            raise WrongMfaCode(replayed=True)
        errors = self._cognito.exceptions
        try:
            result = self._cognito.admin_respond_to_auth_challenge(
                UserPoolId=pool_id,
                ClientId=challenge["clientId"],
                ChallengeName=SOFTWARE_TOKEN_MFA,
                Session=session,
                ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code},
            )
        except errors.CodeMismatchException:
            self._count_wrong_code(key)
            raise WrongMfaCode() from None
        except (errors.NotAuthorizedException, errors.ExpiredCodeException, errors.ResourceNotFoundException):
            self._forget(key)
            self._forget_use_of(pool_id, username, code)  # the code never signed anyone in: it stays usable
            raise ChallengeExpired() from None
        self._forget(key)  # answered: the same session is never honoured again
        self._rates.refund(LOGIN_FAILURES, account)
        return _tokens(dict(result))

    def _first_use_of(self, pool_id: str, username: str, code: str) -> bool:
        expires = int(self._clock()) + USED_CODE_SECONDS
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=to_item(
                    {
                        **keys.used_mfa_code_key(pool_id, username, _sha256(code)),
                        "entity": keys.USED_MFA_CODE.name,
                        "usableUntil": expires,
                        "ttl": expires,
                    }
                ),
                ConditionExpression="attribute_not_exists(PK) OR usableUntil < :now",
                ExpressionAttributeValues=to_item({":now": int(self._clock())}),
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _forget_use_of(self, pool_id: str, username: str, code: str) -> None:
        self._ddb.delete_item(TableName=self._table, Key=to_item(keys.used_mfa_code_key(pool_id, username, _sha256(code))))

    def _count_wrong_code(self, key: dict[str, str]) -> None:
        answer = self._ddb.update_item(
            TableName=self._table,
            Key=to_item(key),
            UpdateExpression="ADD attempts :one",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=to_item({":one": 1}),
            ReturnValues="UPDATED_NEW",
        )
        if int(answer["Attributes"]["attempts"]["N"]) >= MFA_ATTEMPTS_PER_CHALLENGE:
            self._forget(key)

    def _forget(self, key: dict[str, str]) -> None:
        self._ddb.delete_item(TableName=self._table, Key=to_item(key))

    # ------------------------------------------------------------------ refresh
    def refresh(self, tenant_id: str, refresh_token: str) -> Tokens:
        """New access and ID tokens, and the next refresh token, from a refresh token of the tenant's pool;
        SignInRefused otherwise (also for a refresh token whose sessions were signed out, or that a refresh
        already retired)."""
        pool = self.pool_of(tenant_id)
        if pool is None:
            raise SignInRefused(tenant_id)
        errors = self._cognito.exceptions
        try:
            # (An app client that rotates refresh tokens refuses REFRESH_TOKEN_AUTH; this call serves both kinds.)
            result = self._cognito.get_tokens_from_refresh_token(ClientId=pool.client_id, RefreshToken=refresh_token)
        except (errors.NotAuthorizedException, errors.UserNotFoundException, errors.RefreshTokenReuseException) as refused:
            raise SignInRefused(tenant_id) from refused
        return _tokens(dict(result))


class TotpSetUp:
    """A user setting up their authenticator app with their own access token (Cognito's user-token calls,
    which need no IAM permission: the token is the authority)."""

    def __init__(self, cognito_client: CognitoIdentityProviderClient):
        self._cognito = cognito_client

    def begin(self, access_token: str) -> str:
        """The new authenticator's secret (base32), shown to the user once."""
        return self._cognito.associate_software_token(AccessToken=access_token)["SecretCode"]

    def verify(self, access_token: str, code: str) -> None:
        """Check the app's first code; on success TOTP becomes the user's MFA (enabled, preferred).
        WrongMfaCode otherwise."""
        errors = self._cognito.exceptions
        try:
            answer = self._cognito.verify_software_token(AccessToken=access_token, UserCode=code)
        except (errors.CodeMismatchException, errors.EnableSoftwareTokenMFAException):
            raise WrongMfaCode() from None
        if answer.get("Status") != "SUCCESS":
            raise WrongMfaCode()
        self._cognito.set_user_mfa_preference(
            AccessToken=access_token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )


PASSWORD_RESETS_PER_ACCOUNT = Limit("password-reset-account", attempts=5, window_seconds=3600)
PASSWORD_RESETS_PER_SOURCE = Limit("password-reset-source", attempts=20, window_seconds=3600)
WRONG_RESET_CODES = Limit("password-reset-wrong-code", attempts=5, window_seconds=15 * 60)


class InvalidResetCode(Exception):
    """The reset code is wrong or expired, or there is no such account (one answer for all)."""


class PasswordRejected(Exception):
    """The new password breaks the pool's password policy; `message` is Cognito's."""


class PasswordReset:
    """Cognito's forgotten-password code flow behind the API, for a tenant's users: the code goes to the user's
    verified email (Cognito sends it); neither the answer nor its timing says whether the account exists (every
    request answers no sooner than the floor; Cognito's own throttling of an existing account is not passed
    on). Requests are limited per account and per source address, wrong codes per account."""

    def __init__(
        self,
        authentication: Authentication,
        rates: RateCounter,
        cognito_client: CognitoIdentityProviderClient,
        floor_seconds: float = 0.4,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._auth = authentication
        self._rates = rates
        self._cognito = cognito_client
        self._floor = floor_seconds
        self._monotonic = monotonic
        self._sleep = sleep

    def _answer_after_floor(self, started: float) -> None:
        self._sleep(max(0.0, self._floor - (self._monotonic() - started)))

    def forgot(self, tenant_id: str, email: str, source_ip: str) -> None:
        """Send a reset code if there is such an account; TooManyAttempts past either limit."""
        started = self._monotonic()
        account = account_of(tenant_id, email)
        if not self._rates.take(PASSWORD_RESETS_PER_SOURCE, source_ip) or not self._rates.take(
            PASSWORD_RESETS_PER_ACCOUNT, account
        ):
            raise TooManyAttempts(tenant_id)
        try:
            pool = self._auth.pool_of(tenant_id)
            if pool is None:
                return
            errors = self._cognito.exceptions
            with contextlib.suppress(
                errors.UserNotFoundException,
                errors.InvalidParameterException,  # no verified email to send the code to: said to nobody
                errors.NotAuthorizedException,
                errors.LimitExceededException,  # only an existing account is throttled: not said either
            ):
                self._cognito.forgot_password(
                    ClientId=pool.client_id, Username=cognito_username(pool.isolation, tenant_id, email)
                )
        finally:
            self._answer_after_floor(started)

    def reset(self, tenant_id: str, email: str, code: str, password: str) -> None:
        """Set the new password with the emailed code; InvalidResetCode, PasswordRejected or TooManyAttempts."""
        started = self._monotonic()
        account = account_of(tenant_id, email)
        if not self._rates.take(WRONG_RESET_CODES, account):
            raise TooManyAttempts(tenant_id)
        try:
            self._reset(tenant_id, email, code, password)
        except InvalidResetCode:
            self._answer_after_floor(started)
            raise
        except PasswordRejected:
            self._rates.refund(WRONG_RESET_CODES, account)  # the code was never tried
            raise
        self._rates.refund(WRONG_RESET_CODES, account)

    def _reset(self, tenant_id: str, email: str, code: str, password: str) -> None:
        pool = self._auth.pool_of(tenant_id)
        if pool is None:
            raise InvalidResetCode(tenant_id)
        errors = self._cognito.exceptions
        try:
            self._cognito.confirm_forgot_password(
                ClientId=pool.client_id,
                Username=cognito_username(pool.isolation, tenant_id, email),
                ConfirmationCode=code,
                Password=password,
            )
        except (errors.InvalidPasswordException, errors.InvalidParameterException) as rejected:
            raise PasswordRejected(str(rejected.response.get("Error", {}).get("Message", ""))) from None
        except (
            errors.CodeMismatchException,
            errors.ExpiredCodeException,
            errors.UserNotFoundException,
            errors.LimitExceededException,  # only an existing account is throttled: answered as a wrong code
        ):
            raise InvalidResetCode(tenant_id) from None
