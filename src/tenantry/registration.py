"""Registering a user in a tenant: the checks and reservations made before anything exists in Cognito.

Everything a registration depends on comes from server-side records: the tenant (ACTIVE, its pool, its
isolation) from the tenant item, the requester's tenant from their profile, and their role and whether they are
enabled from Cognito as it is now (tenantry.requesters). The request only names them; a tenant id it carries is
checked against those records, never trusted.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tenantry import keys
from tenantry.adapters.dynamodb import get_plain, to_item
from tenantry.clock import now_iso
from tenantry.events import failure_detail
from tenantry.naming import canonical_email, cognito_username, username_too_long
from tenantry.requesters import StandingLookup
from tenantry.roles import may_grant
from tenantry.tenants import TenantStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REGISTRATION_WORKFLOW = "UserRegistration"
MAX_HANDLE_SUFFIX = 50


@dataclass
class RegistrationPlan:
    """What the registration workflow needs; every field is derived from server-side records."""

    requestId: str  # noqa: N815 - the workflow reads these names from its state
    tenantId: str  # noqa: N815
    isolation: str
    userPoolId: str  # noqa: N815
    username: str
    email: str
    name: str
    role: str
    handle: str
    emailClaim: str  # noqa: N815 - the keys compensation frees
    handleClaim: str  # noqa: N815
    activationTtlSeconds: int  # noqa: N815


class Rejected(Exception):
    def __init__(self, reason: str, message: str, field: str | None = None):
        super().__init__(message)
        self.reason, self.message, self.field = reason, message, field


def handle_for(name: str, suffix: int = 1) -> str:
    """`@PascalCaseName`, with a number from the second user of that name in a tenant on."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    base = "".join(w[:1].upper() + w[1:] for w in words) or "User"
    return f"@{base}{suffix if suffix > 1 else ''}"


class RegistrationStore:
    def __init__(self, table_name: str, dynamodb_client: DynamoDBClient):
        self._table = table_name
        self._ddb = dynamodb_client

    def get(self, key: dict[str, str]) -> dict[str, Any] | None:
        return get_plain(self._ddb, self._table, key)

    def reserve(self, plan: RegistrationPlan, execution_name: str) -> str | None:
        """Reserve request id, email and handle in one transaction.

        Returns None on success, else which reservation was taken: "request", "email" or "handle".
        """
        now = now_iso()
        guarded: list[dict[str, Any]] = [
            {
                **keys.request_key(REGISTRATION_WORKFLOW, plan.requestId),
                "entity": "Request",
                "requestId": plan.requestId,
                "ownerExecution": execution_name,
                "plan": asdict(plan),
                "createdAt": now,
            },
            {
                **keys.email_claim_key(plan.tenantId, plan.email),
                "entity": "EmailClaim",
                "tenantId": plan.tenantId,
                "requestId": plan.requestId,
                "createdAt": now,
            },
            {
                **keys.handle_claim_key(plan.tenantId, plan.handle),
                "entity": "HandleClaim",
                "tenantId": plan.tenantId,
                "requestId": plan.requestId,
                "createdAt": now,
            },
        ]
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self._table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(PK)"}}
                    for item in guarded
                ]
            )
        except self._ddb.exceptions.TransactionCanceledException as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            for position, what in enumerate(("request", "email", "handle")):
                if position < len(reasons) and reasons[position] == "ConditionalCheckFailed":
                    return what
            raise
        return None


def _check_requester(store: RegistrationStore, request: dict[str, Any], pool_id: str, standing: StandingLookup) -> None:
    requester_id = request.get("requestedBy")
    if requester_id is None:
        return  # an upstream system, authorised by IAM to post to the bus
    requester = store.get(keys.profile_key(requester_id))
    if requester is None or requester.get("tenantId") != request["tenantId"]:
        raise Rejected("REQUESTER_NOT_IN_TENANT", "requestedBy is not a user of this tenant", "requestedBy")
    now = standing(pool_id, requester["username"]) if requester.get("status") == "ACTIVE" else None
    if now is None or not now.enabled:  # not activated, disabled, or gone from Cognito
        raise Rejected("REQUESTER_NOT_ACTIVE", "requestedBy is not an active user", "requestedBy")
    if not may_grant(now.role, request["role"]):  # the role Cognito gives them now, not the profile's memory
        raise Rejected(
            "ROLE_NOT_ALLOWED",
            f"a {now.role} cannot register a {request['role']}: only Admins and SuperUsers register "
            "users, and never with a role above their own",
            "role",
        )


def prepare_registration(
    store: RegistrationStore,
    request: dict[str, Any],
    execution_name: str,
    activation_ttl_seconds: int,
    standing: StandingLookup,
) -> dict[str, Any]:
    """Decide whether `request` may proceed and reserve what it needs.

    Returns `{"outcome": "RESERVED" | "DUPLICATE" | "REJECTED", "plan": ..., "failure": ...}`.
    """
    request_id = request["requestId"]
    existing = store.get(keys.request_key(REGISTRATION_WORKFLOW, request_id))
    if existing:
        outcome = "RESERVED" if existing["ownerExecution"] == execution_name else "DUPLICATE"
        return {"outcome": outcome, "plan": existing["plan"], "failure": None}
    try:
        tenant = store.get(keys.tenant_key(request["tenantId"]))
        if tenant is None or tenant.get("status") != TenantStatus.ACTIVE:
            raise Rejected("TENANT_NOT_ACTIVE", "tenantId does not name an active tenant", "tenantId")
        _check_requester(store, request, tenant["userPoolId"], standing)
        return _reserve(store, request, tenant, execution_name, activation_ttl_seconds, standing)
    except Rejected as rejection:
        failure = failure_detail(
            "UserRegistrationFailed",
            execution_name,
            request_id,
            rejection.reason,
            rejection.message,
            rejection.field,
            tenant_id=request["tenantId"],
        )
        return {"outcome": "REJECTED", "plan": None, "failure": failure}


def _reserve(
    store: RegistrationStore,
    request: dict[str, Any],
    tenant: dict[str, Any],
    execution_name: str,
    activation_ttl_seconds: int,
    standing: StandingLookup,
) -> dict[str, Any]:
    email = canonical_email(request["email"])
    tenant_id = tenant["tenantId"]
    too_long = username_too_long(tenant["isolation"], tenant_id, email, "email")
    if too_long:
        raise Rejected("TOO_LONG", too_long, "email")
    for suffix in range(1, MAX_HANDLE_SUFFIX + 1):
        handle = handle_for(request["name"], suffix)
        plan = RegistrationPlan(
            requestId=request["requestId"],
            tenantId=tenant_id,
            isolation=tenant["isolation"],
            userPoolId=tenant["userPoolId"],
            username=cognito_username(tenant["isolation"], tenant_id, email),
            email=email,
            name=request["name"].strip(),
            role=request["role"],
            handle=handle,
            emailClaim=keys.email_claim_key(tenant_id, email)["PK"],
            handleClaim=keys.handle_claim_key(tenant_id, handle)["PK"],
            activationTtlSeconds=activation_ttl_seconds,
        )
        taken = store.reserve(plan, execution_name)
        if taken is None:
            return {"outcome": "RESERVED", "plan": asdict(plan), "failure": None}
        if taken == "request":  # a copy of this request got there first
            return prepare_registration(store, request, execution_name, activation_ttl_seconds, standing)
        if taken == "email":
            raise Rejected("EMAIL_TAKEN", "a user with this email already exists in this tenant", "email")
    raise Rejected("HANDLE_UNAVAILABLE", f"no free handle for {request['name']!r}", "name")
