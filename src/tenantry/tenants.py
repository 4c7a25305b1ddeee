"""Tenants: reserving a tenant for an onboarding request, exactly once per request id."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tenantry import keys
from tenantry.adapters.dynamodb import get_plain, to_item
from tenantry.clock import now_iso
from tenantry.naming import canonical_email, cognito_username
from tenantry.roles import role_groups

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ONBOARDING_WORKFLOW = "TenantOnboarding"


class TenantStatus:
    ONBOARDING = "ONBOARDING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    OFFBOARDING = "OFFBOARDING"
    OFFBOARDED = "OFFBOARDED"


@dataclass
class TenantPlan:
    """What the onboarding workflow needs to provision one tenant."""

    tenantId: str  # noqa: N815 - the workflow reads these names from its state
    tenantName: str  # noqa: N815
    isolation: str
    plan: str
    adminEmail: str  # noqa: N815
    adminName: str  # noqa: N815
    adminUsername: str  # noqa: N815
    userPoolName: str  # noqa: N815
    roleGroups: list[dict[str, object]]  # noqa: N815


@dataclass(frozen=True)
class Reservation:
    outcome: str  # "RESERVED": this execution provisions the tenant; "DUPLICATE": another one did or does
    tenant: TenantPlan
    ownerExecution: str  # noqa: N815

    def as_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "tenant": asdict(self.tenant), "ownerExecution": self.ownerExecution}


def new_tenant_id() -> str:
    return f"tnt-{uuid.uuid4().hex[:16]}"


def plan_tenant(request: dict[str, Any], tenant_id: str, stack_name: str) -> TenantPlan:
    email = canonical_email(request["admin"]["email"])
    return TenantPlan(
        tenantId=tenant_id,
        tenantName=request["tenantName"].strip(),
        isolation=request["isolation"],
        plan=request.get("plan", "standard"),
        adminEmail=email,
        adminName=request["admin"]["name"].strip(),
        adminUsername=cognito_username(request["isolation"], tenant_id, email),
        userPoolName=f"{stack_name}-{tenant_id}",
        roleGroups=role_groups(),
    )


class TenantStore:
    """Tenant and reservation items in the Tenantry table."""

    def __init__(self, table_name: str, dynamodb_client: DynamoDBClient):
        self._table = table_name
        self._ddb = dynamodb_client

    def reserve(self, request_id: str, plan: TenantPlan, execution_name: str) -> bool:
        """Write the reservation and the ONBOARDING tenant atomically; False when the request id is taken."""
        now = now_iso()
        reservation = {
            **keys.request_key(ONBOARDING_WORKFLOW, request_id),
            "entity": "Request",
            "requestId": request_id,
            "tenantId": plan.tenantId,
            "ownerExecution": execution_name,
            "plan": asdict(plan),
            "createdAt": now,
        }
        tenant = {
            **keys.tenant_key(plan.tenantId),
            "entity": "Tenant",
            "tenantId": plan.tenantId,
            "tenantName": plan.tenantName,
            "isolation": plan.isolation,
            "plan": plan.plan,
            "status": TenantStatus.ONBOARDING,
            "requestId": request_id,
            "adminEmail": plan.adminEmail,
            "onboardingExecution": execution_name,
            "createdAt": now,
            "updatedAt": now,
        }
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(reservation),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(tenant),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                ]
            )
        except self._ddb.exceptions.TransactionCanceledException:
            return False
        return True

    def reservation(self, request_id: str) -> dict[str, Any] | None:
        return get_plain(self._ddb, self._table, keys.request_key(ONBOARDING_WORKFLOW, request_id))


def reserve_tenant(
    store: TenantStore,
    request: dict[str, Any],
    execution_name: str,
    stack_name: str,
    make_id: Callable[[], str] = new_tenant_id,
) -> Reservation:
    """Reserve a tenant for `request`: the same requestId always yields the same tenant.

    The reservation and the tenant record are written in one transaction guarded on the request id, so
    of two copies of a request arriving at once exactly one wins; the other learns the winner's tenant.
    """
    request_id = request["requestId"]
    plan = plan_tenant(request, make_id(), stack_name)
    if store.reserve(request_id, plan, execution_name):
        return Reservation("RESERVED", plan, execution_name)
    existing = store.reservation(request_id)
    if existing is None:  # the tenant id collided, not the request: vanishingly rare, and safe to retry
        raise RuntimeError(f"reservation for {request_id} was refused but does not exist")
    # A retried invocation of the owner itself must carry on where it left off, not stop as a duplicate.
    outcome = "RESERVED" if existing["ownerExecution"] == execution_name else "DUPLICATE"
    return Reservation(outcome, TenantPlan(**existing["plan"]), existing["ownerExecution"])
