"""Identity API handler (HTTP API, payload 2.0): every route of the API, through one Powertools resolver
(tenantry.api.app). The caller comes from the authorizer's context only."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from tenantry.activation import AccountActivation
from tenantry.adapters import client
from tenantry.adapters.dynamodb import get_plain
from tenantry.adapters.stepfunctions import start_execution, start_request_workflow
from tenantry.api import users
from tenantry.api.app import Dependencies, build_resolver
from tenantry.api.badges import BadgeServices
from tenantry.api_keys import ApiKeyStore
from tenantry.authentication import Authentication, PasswordReset, TotpSetUp
from tenantry.avatars import Avatars
from tenantry.badges import BadgeCatalogue, BadgeStore
from tenantry.config import load_settings
from tenantry.detections import Detection
from tenantry.keys import profile_key
from tenantry.observability import logger, traced
from tenantry.profile_data import ProfileDataStore
from tenantry.rate_limits import RateCounter
from tenantry.token_lookups import table_verifier
from tenantry.user_admin import Resources, UserAdmin
from tenantry.user_directory import SearchField, SearchPage, UserDirectory

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from tenantry.api.caller import Caller
    from tenantry.tokens import TokenVerifier


@dataclass(frozen=True)
class Settings:
    table_name: str
    event_bus_name: str
    mfa_requirement_change_state_machine_arn: str
    user_registration_state_machine_arn: str
    mfa_compliance_state_machine_arn: str
    avatar_bucket_name: str
    badge_bucket_name: str
    # The SDK's endpoint override: unset on AWS; offline, where the local runtime serves each pool's JWKS
    aws_endpoint_url: str = ""


SETTINGS = load_settings(Settings)
log = logger()


def profile(user_id: str) -> dict[str, Any] | None:
    return get_plain(client("dynamodb"), SETTINGS.table_name, profile_key(user_id))


def start_registration(detail: dict[str, Any]) -> bool:
    """POST /users: the UserRegistration workflow, started as the bus request starts it (`register-<requestId>`)."""
    outcome = start_request_workflow(
        client("stepfunctions"),
        SETTINGS.user_registration_state_machine_arn,
        "UserRegistrationRequested",
        detail,
        detail["requestId"],
        users.SOURCE,
    )
    log.info("registration requested", extra={"request_id": detail["requestId"], "already_started": outcome.already_started})
    return outcome.already_started


@cache
def api_key_store() -> ApiKeyStore:
    """/api-keys: the key store on the table (made at its first use)."""
    return ApiKeyStore(SETTINGS.table_name, client("dynamodb"))


def search_users(tenant_id: str, field: SearchField, value: str, limit: int, after_user_id: str | None) -> SearchPage:
    """GET /users: the caller's tenant's partition of ByTenant, then the matching profiles."""
    return UserDirectory(client("dynamodb"), SETTINGS.table_name).search(tenant_id, field, value, limit, after_user_id)


@cache
def user_admin() -> UserAdmin:
    """The user-change routes' domain object, made at their first use (no AWS client is made at import)."""
    return UserAdmin(
        Resources(SETTINGS.table_name, SETTINGS.event_bus_name, SETTINGS.mfa_requirement_change_state_machine_arn),
        client("dynamodb"),
        client("cognito-idp"),
        client("events"),
        client("stepfunctions"),
    )


@cache
def authentication() -> Authentication:
    """/auth/*: sign-in on the tenants' pools (made at first use)."""
    return Authentication(SETTINGS.table_name, client("dynamodb"), client("cognito-idp"))


def totp_set_up() -> TotpSetUp:
    return TotpSetUp(client("cognito-idp"))


def record_mfa_set_up(caller: Caller) -> str:
    """POST /me/mfa/totp/verify succeeded: start the MfaCompliance run that CloudTrail's record of the same
    VerifySoftwareToken call would start (it records a set-up-only user as compliant), without waiting for
    CloudTrail's delivery. Named after this request, so a retry starts it once."""
    request_id = str(APP.current_event.request_context.request_id)
    detection = Detection(caller.user_id, "cloudtrail", f"api:VerifySoftwareToken:{request_id}", "VerifySoftwareToken")
    outcome = start_execution(
        client("stepfunctions"), SETTINGS.mfa_compliance_state_machine_arn, detection.execution_name, detection.payload()
    )
    log.info("TOTP set up", extra={"user_id": caller.user_id, "compliance_run": outcome.execution_name})
    return outcome.execution_name


def password_reset() -> PasswordReset:
    return PasswordReset(authentication(), RateCounter(SETTINGS.table_name, client("dynamodb")), client("cognito-idp"))


def account_activation() -> AccountActivation:
    """POST /auth/activate: the activation page's call."""
    return AccountActivation(
        SETTINGS.table_name,
        client("dynamodb"),
        client("cognito-idp"),
        client("stepfunctions"),
        RateCounter(SETTINGS.table_name, client("dynamodb")),
    )


@cache
def token_verifier() -> TokenVerifier:
    return table_verifier(SETTINGS.table_name, client("dynamodb"), SETTINGS.aws_endpoint_url)


def check_token(token: str, tenant_id: str) -> dict[str, Any]:
    """POST /auth/token/verify: the authorizer's own checks, and the key's tenant."""
    return token_verifier().verify(token, expected_tenant=tenant_id)


def profile_data() -> ProfileDataStore:
    return ProfileDataStore(SETTINGS.table_name, client("dynamodb"))


@cache
def avatars() -> Avatars:
    return Avatars(SETTINGS.avatar_bucket_name, client("s3"))


def avatar_url(key: str) -> str:
    return avatars().read_url(key)


@cache
def badge_services() -> BadgeServices:
    """The catalogue (kept in memory for 5 minutes per environment), the profiles' badges, icon URLs."""
    s3 = client("s3")
    bucket = SETTINGS.badge_bucket_name

    def icon_url(key: str) -> str:
        return s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=900)

    return BadgeServices(BadgeCatalogue(bucket, s3), BadgeStore(SETTINGS.table_name, client("dynamodb")), icon_url)


APP = build_resolver(
    Dependencies(
        profiles=profile,
        api_keys=api_key_store,
        user_changes=user_admin,
        start_registration=start_registration,
        search_users=search_users,
        authentication=authentication,
        totp=totp_set_up,
        mfa_set_up=record_mfa_set_up,
        password_reset=password_reset,
        activation=account_activation,
        check_token=check_token,
        profile_data=profile_data,
        badge_services=badge_services,
        avatars=avatars,
        avatar_url=avatar_url,
    )
)


@traced
@log.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return APP.resolve(event, context)
