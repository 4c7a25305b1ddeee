"""Identity API handler (HTTP API, payload 2.0): every route of the API, through one Powertools resolver
(tenantry.api.app). The caller comes from the authorizer's context only."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from tenantry.adapters import client
from tenantry.adapters.dynamodb import get_plain
from tenantry.adapters.stepfunctions import start_request_workflow
from tenantry.api import users
from tenantry.api.app import Dependencies, build_resolver
from tenantry.api_keys import ApiKeyStore
from tenantry.config import load_settings
from tenantry.keys import profile_key
from tenantry.observability import logger
from tenantry.user_admin import Resources, UserAdmin
from tenantry.user_directory import SearchField, SearchPage, UserDirectory

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True)
class Settings:
    table_name: str
    event_bus_name: str
    mfa_requirement_change_state_machine_arn: str
    user_registration_state_machine_arn: str


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


APP = build_resolver(
    Dependencies(
        profiles=profile,
        api_keys=api_key_store,
        user_changes=user_admin,
        start_registration=start_registration,
        search_users=search_users,
    )
)


@log.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return APP.resolve(event, context)
