"""Cognito throttled during 100 concurrent registrations and 20 concurrent onboardings: all complete, none
lost, none doubled. Every figure is counted from the run."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from helpers import onboarding_request, registration_request
from helpers.reliability import REPORT
from tenantry_local.client import OutboundEvents

ONBOARDING, REGISTRATION = "TenantOnboardingStateMachineArn", "UserRegistrationStateMachineArn"
REGISTRATIONS, ONBOARDINGS = 100, 20
# Cognito says "slow down" this many times to each kind of call the two workflows make, to whichever comes
THROTTLED = {"CreateUserPool": 4, "CreateUserPoolClient": 4, "CreateGroup": 10, "AdminCreateUser": 30, "AdminAddUserToGroup": 30}


def test_cognito_throttled_under_concurrent_registrations_and_onboardings(tenantry, runtime):
    watch = OutboundEvents(runtime.client, runtime.outputs["EventBusName"], name="reliability-load")  # no settling
    tenant = tenantry.onboarded("shared")
    run = uuid.uuid4().hex[:6]
    faults = [
        tenantry.rt.faults.arm({"service": "cognito-idp", "operation": op, "error": "TooManyRequestsException", "count": n})
        for op, n in THROTTLED.items()
    ]
    # (names of their own: more than 50 namesakes in a tenant run out of handles, a limit of its own)
    registrations = [
        registration_request(f"load-{run}-r{n}", tenant["tenantId"], name=f"Load User {n:03d}") for n in range(REGISTRATIONS)
    ]
    onboardings = [onboarding_request(f"load-{run}-t{n}", "dedicated" if n % 4 == 0 else "shared") for n in range(ONBOARDINGS)]
    posts = [("UserRegistrationRequested", r) for r in registrations] + [("TenantOnboardingRequested", o) for o in onboardings]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:  # all at once, as a burst of upstream requests
        list(pool.map(lambda post: tenantry.post(*post), posts))
    # A registration is complete when it waits for its user's code: Cognito user, profile and code made
    names = [f"register-{r['requestId']}" for r in registrations]
    registered = tenantry.wait_executions(REGISTRATION, names, "IssueActivationCodeAndWait", timeout=240)
    onboarded = tenantry.wait_executions(ONBOARDING, [f"onboard-{o['requestId']}" for o in onboardings], timeout=240)
    seconds = time.monotonic() - started
    for fault in faults:
        tenantry.rt.faults.disarm(fault)
    emails = {r["email"] for r in registrations}
    codes: Counter[str] = Counter()
    deadline = time.monotonic() + 30  # a code is mailed once its registration waits for it
    while time.monotonic() < deadline and len(codes) < len(registered):
        mailed = [e["detail"]["email"] for e in watch.drain() if e["detail-type"] == "UserActivationCodeIssued"]
        codes = Counter(email for email in mailed if email in emails)
        time.sleep(0.2)
    users = Counter(
        u["Username"].split("/", 1)[1]
        for u in tenantry.shared_users_of(tenant["tenantId"])
        if u["Username"].split("/", 1)[1] in emails
    )
    profiles = Counter(p["email"]["S"] for p in tenantry.profiles_of(tenant["tenantId"]) if p["email"]["S"] in emails)
    tenants = tenant_records(tenantry, f"load-{run}-t")
    per_request = Counter(t["requestId"]["S"] for t in tenants)
    dedicated = [t["tenantId"]["S"] for t in tenants if t["isolation"]["S"] == "dedicated"]
    pools = Counter(len(tenantry.pools_named(f"{tenantry.rt.stack_name}-{tenant_id}")) for tenant_id in dedicated)
    rows = [
        (
            "UserRegistrationRequested",
            REGISTRATIONS,
            sum(e.get("state") == "IssueActivationCodeAndWait" or e["status"] == "SUCCEEDED" for e in registered.values()),
            sum(1 for email in emails if users[email] and profiles[email] and codes[email]),
            REGISTRATIONS - len(users),
            sum(n > 1 for n in users.values()) + sum(n > 1 for n in profiles.values()) + sum(n > 1 for n in codes.values()),
        ),
        (
            "TenantOnboardingRequested",
            ONBOARDINGS,
            sum(e["status"] == "SUCCEEDED" for e in onboarded.values()),
            sum(t["status"]["S"] == "ACTIVE" for t in tenants),  # (an ACTIVE tenant record for each)
            ONBOARDINGS - len(per_request),
            sum(n > 1 for n in per_request.values()) + sum(n for count, n in pools.items() if count != 1),
        ),
    ]
    table = REPORT.table(
        "load",
        f"Cognito throttled during {REGISTRATIONS} concurrent registrations and {ONBOARDINGS} concurrent onboardings",
        (
            f"All {REGISTRATIONS + ONBOARDINGS} requests were posted at once (16 at a time), while Cognito answered "
            f"TooManyRequestsException {sum(f.fired for f in faults)} times "
            f"({', '.join(f'{f.operation} {f.fired}' for f in faults)}). {seconds:.0f} s from the first post until "
            "every registration waited for its user's code and every onboarding had ended. *completed*: a registration "
            "waiting for the code (or done), an onboarding that succeeded; *made*: a Cognito user, a profile and a "
            "mailed code for a registration, an ACTIVE tenant for an onboarding; *lost*: requests that left no user "
            "or tenant; *doubled*: users, profiles, codes, tenants or dedicated pools made more than once (or a "
            "dedicated tenant with no pool)."
        ),
        ("request", "posted", "completed", "made", "lost", "doubled"),
    )
    for row in rows:
        table.add(*row)
    assert sum(f.fired for f in faults) > 0, "Cognito was never throttled"
    assert rows[0][1:] == (REGISTRATIONS, REGISTRATIONS, REGISTRATIONS, 0, 0), rows[0]
    assert rows[1][1:] == (ONBOARDINGS, ONBOARDINGS, ONBOARDINGS, 0, 0), rows[1]


def tenant_records(tenantry: Any, request_prefix: str) -> list[dict[str, Any]]:
    """Every tenant record whose onboarding request id starts with `request_prefix` (a scan: a doubled tenant
    would not be found through its request's reservation, which names one)."""
    pages = tenantry.ddb.get_paginator("scan").paginate(
        TableName=tenantry.outputs["TableName"],
        FilterExpression="entity = :tenant AND begins_with(requestId, :prefix)",
        ExpressionAttributeValues={":tenant": {"S": "Tenant"}, ":prefix": {"S": request_prefix}},
    )
    return [item for page in pages for item in page["Items"]]
