"""Every inbound request type delivered twice and out of order: EventBridge delivers at least once, and
upstream systems retry. Counted afterwards: tenants, pools, groups, users, profiles and outbound event ids,
none of which may be doubled."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

from helpers import onboarding_request, registration_request
from helpers.reliability import REPORT
from tenantry_local.client import OutboundEvents

ONBOARDING, OFFBOARDING = "TenantOnboardingStateMachineArn", "TenantOffboardingStateMachineArn"
REGISTRATION, MFA_CHANGE = "UserRegistrationStateMachineArn", "MfaRequirementChangeStateMachineArn"
COPIES = 2


def post_twice_out_of_order(tenantry: Any, detail_type: str, details: list[dict[str, Any]]) -> int:
    """Each request twice: all first copies in one order, then all second copies in the reverse order, the
    last pair at the same moment. The number of deliveries."""
    for detail in details[:-1]:
        tenantry.post(detail_type, detail)
    both = [threading.Thread(target=tenantry.post, args=(detail_type, details[-1])) for _ in range(COPIES)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    for detail in reversed(details[:-1]):
        tenantry.post(detail_type, detail)
    return COPIES * len(details)


def all_succeeded(tenantry: Any, machine: str, names: list[str]) -> None:
    """Each execution (one per request, whatever the copies) ended, and succeeded."""
    done = tenantry.wait_executions(machine, names, timeout=90)
    assert sorted(done) == sorted(names) and all(e["status"] == "SUCCEEDED" for e in done.values()), done


def received(watch: OutboundEvents, detail_type: str, field: str, wanted: list[str], timeout: float = 30.0) -> Counter[str]:
    """How many `detail_type` events arrived for each of `wanted` (by `field`): waits until each arrived, and
    then a little more, for a second copy to show."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = Counter(
            e["detail"][field] for e in watch.drain() if e["detail-type"] == detail_type and e["detail"].get(field) in wanted
        )
        if set(found) == set(wanted):
            break
        time.sleep(0.2)
    time.sleep(1.0)
    return Counter(
        e["detail"][field] for e in watch.drain() if e["detail-type"] == detail_type and e["detail"].get(field) in wanted
    )


def test_every_inbound_request_twice_and_out_of_order_makes_each_thing_once(tenantry, runtime):
    watch = OutboundEvents(runtime.client, runtime.outputs["EventBusName"], name="reliability-duplicates")  # no settling
    table = REPORT.table(
        "duplicates",
        "Every inbound request type delivered twice and out of order",
        (
            "Each request was posted twice: the first copies in order, the second copies in reverse order, one pair "
            "at the same moment. *made*: the things the requests made, counted afterwards. *doubled*: how many of "
            "them exist more than once (duplicate outbound events: the same eventId received twice)."
        ),
        ("request type", "requests", "deliveries", "counted", "made", "doubled"),
    )
    rows: list[tuple[Any, ...]] = []

    # TenantOnboardingRequested: two shared tenants, two dedicated ones
    onboardings = [onboarding_request(tenantry.request_id("dup-on"), iso) for iso in ("shared", "dedicated") * 2]
    sent = post_twice_out_of_order(tenantry, "TenantOnboardingRequested", onboardings)
    ids = [d["requestId"] for d in onboardings]
    all_succeeded(tenantry, ONBOARDING, [f"onboard-{i}" for i in ids])
    tenants = tenantry.tenants(ids)
    per_request = Counter(t["requestId"] for t in tenants)
    pools = Counter(
        p["Name"]
        for t in tenants
        if t["isolation"] == "dedicated"
        for p in tenantry.pools_named(f"{tenantry.rt.stack_name}-{t['tenantId']}")
    )
    groups = Counter(
        (t["tenantId"], g["GroupName"])
        for t in tenants
        for g in tenantry.cognito.list_groups(UserPoolId=t["userPoolId"])["Groups"]
        if t["isolation"] == "dedicated"
    )
    admins = Counter(t["tenantId"] for t in tenants for _ in tenantry.profiles_of(t["tenantId"]))
    rows += [
        ("TenantOnboardingRequested", len(ids), sent, "tenants", len(tenants), sum(n > 1 for n in per_request.values())),
        ("", "", "", "dedicated pools", len(pools), sum(n > 1 for n in pools.values())),
        ("", "", "", "role groups (dedicated pools)", len(groups), sum(n > 1 for n in groups.values())),
        ("", "", "", "admin profiles", sum(admins.values()), sum(n > 1 for n in admins.values())),
    ]
    shared = next(t for t in tenants if t["isolation"] == "shared")

    # UserRegistrationRequested, then UserActivationRequested: four users of a shared tenant
    registrations = [registration_request(tenantry.request_id("dup-reg"), shared["tenantId"]) for _ in range(4)]
    sent = post_twice_out_of_order(tenantry, "UserRegistrationRequested", registrations)
    emails = [r["email"] for r in registrations]
    issued = received(watch, "UserActivationCodeIssued", "email", emails)
    assert set(issued) == set(emails), issued
    codes = [
        [e for e in watch.seen if e["detail-type"] == "UserActivationCodeIssued" and e["detail"]["email"] == m] for m in emails
    ]
    users = Counter(
        u["Username"] for u in tenantry.shared_users_of(shared["tenantId"]) if u["Username"].split("/", 1)[1] in emails
    )
    profiles = Counter(p["email"]["S"] for p in tenantry.profiles_of(shared["tenantId"]) if p["email"]["S"] in emails)
    rows += [
        ("UserRegistrationRequested", len(emails), sent, "Cognito users", len(users), sum(n > 1 for n in users.values())),
        ("", "", "", "profiles", sum(profiles.values()), sum(n > 1 for n in profiles.values())),
        ("", "", "", "activation codes issued", sum(len(c) for c in codes), sum(len(c) > 1 for c in codes)),
    ]
    activations = [{"requestId": tenantry.request_id("dup-act"), "code": c[0]["detail"]["code"]} for c in codes]
    sent = post_twice_out_of_order(tenantry, "UserActivationRequested", activations)
    all_succeeded(tenantry, REGISTRATION, [f"register-{r['requestId']}" for r in registrations])
    user_ids = [c[0]["detail"]["userId"] for c in codes]
    rows.append(event_row(watch, "UserActivationRequested", len(activations), sent, "UserActivated", "userId", user_ids))

    # MfaRequirementChangeRequested: require MFA of two of them
    changes = [
        {"requestId": tenantry.request_id("dup-mfa"), "tenantId": shared["tenantId"], "userId": user_id, "required": True}
        for user_id in user_ids[:2]
    ]
    sent = post_twice_out_of_order(tenantry, "MfaRequirementChangeRequested", changes)
    all_succeeded(tenantry, MFA_CHANGE, [f"mfa-change-{c['requestId']}" for c in changes])
    changed = event_row(watch, "MfaRequirementChangeRequested", len(changes), sent, "MfaRequirementChanged", "userId", user_ids)
    rows.append(changed)

    # TenantOffboardingRequested: the two dedicated tenants
    offboardings = [
        {"requestId": tenantry.request_id("dup-off"), "tenantId": t["tenantId"]} for t in tenants if t["isolation"] == "dedicated"
    ]
    sent = post_twice_out_of_order(tenantry, "TenantOffboardingRequested", offboardings)
    all_succeeded(tenantry, OFFBOARDING, [f"offboard-{o['requestId']}" for o in offboardings])
    gone = [o["tenantId"] for o in offboardings]
    rows.append(event_row(watch, "TenantOffboardingRequested", len(offboardings), sent, "TenantOffboarded", "tenantId", gone))

    # Every event Tenantry published about these tenants, by id
    mine = {t["tenantId"] for t in tenants}
    events = [e for e in watch.drain() if e["detail"].get("tenantId") in mine]
    by_id = Counter(json.dumps([e["detail-type"], e["detail"]["eventId"]]) for e in events)
    rows.append(("(all of the above)", "", "", "outbound events (by eventId)", len(by_id), sum(n > 1 for n in by_id.values())))

    for row in rows:
        table.add(*row)
    assert [row for row in rows if row[-1]] == []


def event_row(watch: Any, request_type: str, requests: int, sent: int, detail_type: str, key: str, ids: Any) -> tuple[Any, ...]:
    """A table row for requests whose outcome is one `detail_type` event each, counted by `key` among `ids`."""
    wanted = set(ids)
    made = Counter(e["detail"][key] for e in watch.wait_for(detail_type, timeout=30) if e["detail"][key] in wanted)
    return (request_type, requests, sent, f"{detail_type} events", sum(made.values()), sum(n > 1 for n in made.values()))
