"""Every source x request type x tenant cell of the source registry (PRODUCT.md, "Who may ask for what").

Each cell posts one request. Workflow requests carry an unknown field (`probe`), so a request the grant lets
through is then refused by the workflow's own validation (UNKNOWN_FIELD) and a request it does not is refused
before (UNTRUSTED_SOURCE): either way nothing is created, and which refusal came says what the registry
decided. An activation cell uses a real code of that tenant: let through, it activates the user.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from helpers import onboarding_request, registration_request
from helpers.reliability import REPORT
from tenantry.sources import ANY_TENANT, REQUEST_TYPES, SourceRegistry
from tenantry_local.client import OutboundEvents

REGISTRATION, ACTIVATION, ONBOARDING = "UserRegistrationRequested", "UserActivationRequested", "TenantOnboardingRequested"
FAILED = {
    "TenantOnboardingRequested": "TenantOnboardingFailed",
    "TenantOffboardingRequested": "TenantOffboardingFailed",
    "UserRegistrationRequested": "UserRegistrationFailed",
    "MfaRequirementChangeRequested": "MfaRequirementChangeFailed",
    "UserActivationRequested": "UserActivationFailed",
}


def expected_trusted(source: str, request_type: str, tenant: str) -> bool:
    """PRODUCT.md's rule, written out for these four sources."""
    return {
        "unregistered": False,
        "everything": True,
        "tenant-a-only": tenant == "A" and request_type != ONBOARDING,
        "registrations-only": request_type == REGISTRATION,
    }[source]


def test_every_source_request_type_and_tenant_cell(tenantry, runtime):
    watch = OutboundEvents(runtime.client, runtime.outputs["EventBusName"], name="reliability-matrix")  # no settling
    tenants = {"A": tenantry.onboarded("shared"), "B": tenantry.onboarded("shared")}
    members = {name: tenantry.active_user(tenant, "Member") for name, tenant in tenants.items()}
    run = tenantry.request_id("matrix")
    registry = SourceRegistry(tenantry.outputs["TableName"], tenantry.ddb)
    sources = {label: f"{run}.{label}" for label in ("unregistered", "everything", "tenant-a-only", "registrations-only")}
    registry.grant(sources["everything"], REQUEST_TYPES, [ANY_TENANT], "reliability")
    registry.grant(sources["tenant-a-only"], REQUEST_TYPES, [tenants["A"]["tenantId"]], "reliability")
    registry.grant(sources["registrations-only"], [REGISTRATION], [ANY_TENANT], "reliability")

    def pending_code(tenant: dict[str, Any]) -> tuple[str, str]:
        """A registration waiting for its code in `tenant`: (the code, the registered user's id)."""
        request_id = tenantry.request_id(f"{run}-code")
        email = f"{request_id}@example.com"
        tenantry.post("UserRegistrationRequested", registration_request(request_id, tenant["tenantId"], email=email))
        [issued] = watch.wait_for("UserActivationCodeIssued", timeout=30, email=email)
        return issued["detail"]["code"], issued["detail"]["userId"]

    def request(request_type: str, tenant_name: str, request_id: str) -> dict[str, Any]:
        tenant_id = tenants[tenant_name]["tenantId"]
        probe = {"probe": True}
        if request_type == ONBOARDING:
            return onboarding_request(request_id, "shared") | probe
        if request_type == "TenantOffboardingRequested":
            return {"requestId": request_id, "tenantId": tenant_id} | probe
        if request_type == REGISTRATION:
            return registration_request(request_id, tenant_id) | probe
        user = members[tenant_name]["userId"]
        return {"requestId": request_id, "tenantId": tenant_id, "userId": user, "required": True} | probe

    cells = [
        (source, request_type, tenant)
        for source in sources
        for request_type in REQUEST_TYPES
        for tenant in (("new",) if request_type == ONBOARDING else ("A", "B"))
    ]

    def one(cell: tuple[str, str, str]) -> tuple[Any, ...]:
        source, request_type, tenant = cell
        request_id = tenantry.request_id(f"{run}-cell")
        if request_type == ACTIVATION:
            code, user_id = pending_code(tenants[tenant])
            tenantry.post(ACTIVATION, {"requestId": request_id, "code": code}, source=sources[source])
            refused = watch.wait_for(FAILED[ACTIVATION], timeout=5, requestId=request_id)
            activated = [] if refused else watch.wait_for("UserActivated", timeout=20, userId=user_id)
            decided = "let through" if activated else (refused[0]["detail"]["reason"] if refused else "no answer")
        else:
            tenant_name = "A" if tenant == "new" else tenant
            tenantry.post(request_type, request(request_type, tenant_name, request_id), source=sources[source])
            answer = watch.wait_for(FAILED[request_type], timeout=30, requestId=request_id)
            reason = answer[0]["detail"]["reason"] if answer else "no answer"
            decided = {"UNKNOWN_FIELD": "let through"}.get(reason, reason)
        expected = "let through" if expected_trusted(source, request_type, tenant) else "UNTRUSTED_SOURCE"
        return source, request_type, tenant, expected, decided, "yes" if decided == expected else "no"

    with ThreadPoolExecutor(max_workers=4) as pool:
        rows = list(pool.map(one, cells))
    table = REPORT.table(
        "sources",
        "Every source x request type x tenant cell of the source registry",
        (
            "Four sources: one never registered, one granted everything for any tenant, one granted every request "
            "type for tenant A only, one granted registrations only. Workflow requests carried an unknown field, so "
            "one let through was refused next by its workflow's validation (nothing created either way); an "
            f"activation used a real code of that tenant. Cells: {len(rows)}; as expected: "
            f"{sum(r[-1] == 'yes' for r in rows)}; let through: {sum(r[4] == 'let through' for r in rows)}; "
            f"refused UNTRUSTED_SOURCE: {sum(r[4] == 'UNTRUSTED_SOURCE' for r in rows)}."
        ),
        ("source", "request type", "tenant", "expected", "decided", "as expected"),
    )
    for row in rows:
        table.add(*row)
    assert [row for row in rows if row[-1] == "no"] == []
