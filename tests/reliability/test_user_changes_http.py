"""Changing users over HTTP on the local runtime (through the authorizer, at ApiUrl): status, role, MFA
requirement, sessions, deletion. Who may act on whom (roles.may_manage, roles.may_grant), another tenant's
user answering as a missing one, bad bodies, and the contract event each change publishes."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
import requests

from helpers import registration_request
from helpers.reliability import REPORT
from tenantry.roles import ROLES_HIGHEST_FIRST

CHANGE_EVENTS = ("UserStatusChanged", "UserRoleChanged", "MfaRequirementChanged", "SessionsRevoked", "UserDeleted")
# the authorizer refuses the token: API Gateway's 403, or the API's 401 with the authorizer's reason
REFUSED_SESSION = (401, 403)
MANAGED = {"Admin": ("SuperUser", "Member", "ReadOnly"), "SuperUser": ("Member", "ReadOnly")}  # the allowed cells


@pytest.fixture(scope="module")
def callers(tenantry, tenant):
    """One signed-in user of each role, with their bearer headers."""
    return {role: with_headers(tenantry, tenantry.active_user(tenant, role)) for role in ROLES_HIGHEST_FIRST}


@pytest.fixture(scope="module")
def targets(tenantry, tenant):
    """One user of each role that the refused calls aim at (they must stay as they are)."""
    return {role: tenantry.active_user(tenant, role) for role in ROLES_HIGHEST_FIRST}


def with_headers(tenantry, user: dict[str, Any]) -> dict[str, Any]:
    return {**user, "headers": tenantry.bearer(user)}


def call(api: str, headers: dict[str, str], method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{api}{path}", headers=headers, json=body, timeout=20)


def changes(user_id: str) -> list[tuple[str, str, Any]]:
    """Every change route, with a body the role rule alone decides on (role: ReadOnly, granted by both managers)."""
    return [
        ("PATCH", f"/users/{user_id}/status", {"status": "DISABLED"}),
        ("PUT", f"/users/{user_id}/role", {"role": "ReadOnly"}),
        ("PUT", f"/users/{user_id}/mfa", {"required": True}),
        ("POST", f"/users/{user_id}/sessions/revoke", None),
        ("DELETE", f"/users/{user_id}", None),
    ]


def state_of(tenantry, user: dict[str, Any]) -> dict[str, Any]:
    """What a change would touch: the profile, the Cognito user (enabled, groups), the MFA change executions."""
    cognito = tenantry.cognito.admin_get_user(UserPoolId=user["userPoolId"], Username=user["username"])
    groups = tenantry.cognito.admin_list_groups_for_user(UserPoolId=user["userPoolId"], Username=user["username"])["Groups"]
    machine = tenantry.outputs["MfaRequirementChangeStateMachineArn"]
    executions = tenantry.sfn.list_executions(stateMachineArn=machine)["executions"]
    return {
        "profile": tenantry.profile(user["userId"]),
        "enabled": cognito["Enabled"],
        "groups": sorted(g["GroupName"] for g in groups),
        "mfa_changes": sorted(e["name"] for e in executions),
    }


def wait_past_revocation(tenantry, user_id: str) -> None:
    revoked = (tenantry.profile(user_id) or {}).get("sessionsRevokedAt")
    if revoked:
        time.sleep(max(0.0, datetime.fromisoformat(revoked.replace("Z", "+00:00")).timestamp() - time.time() + 1.05))


def events_of(tenantry, user_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e["detail-type"], e["detail"]) for e in tenantry.outbound.matching(userId=user_id)]


# ------------------------------------------------------------------------------------- the role matrix
REFUSED = [(c, t) for c in ROLES_HIGHEST_FIRST for t in ROLES_HIGHEST_FIRST if t not in MANAGED.get(c, ())]


@pytest.mark.parametrize(("caller_role", "target_role"), REFUSED, ids=[f"{c}-on-{t}" for c, t in REFUSED])
def test_a_change_outside_the_role_rule_is_refused_and_changes_nothing(tenantry, api, callers, targets, caller_role, target_role):
    caller, target = callers[caller_role], targets[target_role]
    before, seen = state_of(tenantry, target), len(events_of(tenantry, target["userId"]))
    answers = [call(api, caller["headers"], method, path, body) for method, path, body in changes(target["userId"])]
    refused = [a for a in answers if a.status_code == 403 and a.json()["error"]["code"] == "FORBIDDEN"]
    unchanged = state_of(tenantry, target) == before and len(events_of(tenantry, target["userId"])) == seen
    role_matrix().add(caller_role, target_role, "refused", len(answers), len(refused), "yes" if unchanged else "no")
    assert len(refused) == len(answers), [(a.status_code, a.text[:80]) for a in answers]
    assert unchanged


@pytest.mark.parametrize("role", ROLES_HIGHEST_FIRST)
def test_nobody_changes_themselves(tenantry, api, callers, role):
    caller = callers[role]
    before = state_of(tenantry, caller)
    answers = [call(api, caller["headers"], method, path, body) for method, path, body in changes(caller["userId"])]
    refused = sum(a.status_code == 403 for a in answers)
    unchanged = state_of(tenantry, caller) == before
    role_matrix().add(role, "themselves", "refused", len(answers), refused, "yes" if unchanged else "no")
    assert refused == len(answers), [(a.status_code, a.text[:80]) for a in answers]
    assert unchanged


ALLOWED = [(c, t) for c, managed in MANAGED.items() for t in managed]


@pytest.mark.parametrize(("caller_role", "target_role"), ALLOWED, ids=[f"{c}-on-{t}" for c, t in ALLOWED])
def test_a_manager_changes_a_user_below_them_and_each_change_publishes_its_event(
    tenantry, api, tenant, callers, caller_role, target_role
):
    target = tenantry.active_user(tenant, target_role)
    uid, headers, outbound = target["userId"], callers[caller_role]["headers"], tenantry.outbound

    answer = call(api, headers, "PATCH", f"/users/{uid}/status", {"status": "DISABLED"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "DISABLED"
    assert state_of(tenantry, target)["enabled"] is False
    assert outbound.wait_for("UserStatusChanged", userId=uid, to="DISABLED")
    assert len(outbound.wait_for("SessionsRevoked", userId=uid, reason="api:disable")) == 1
    assert call(api, headers, "PATCH", f"/users/{uid}/status", {"status": "ACTIVE"}).json()["status"] == "ACTIVE"
    assert state_of(tenantry, target)["enabled"] is True
    assert outbound.wait_for("UserStatusChanged", userId=uid, to="ACTIVE")

    new_role = "ReadOnly" if target_role != "ReadOnly" else "Member"
    demoted = new_role == "ReadOnly"
    wait_past_revocation(tenantry, uid)  # (a sign-in within the disabling's revoked second would be refused)
    their_session = tenantry.bearer(target)
    answer = call(api, headers, "PUT", f"/users/{uid}/role", {"role": new_role})
    assert answer.status_code == 200, answer.text
    assert answer.json()["role"] == new_role
    assert state_of(tenantry, target)["groups"] == [new_role]
    assert [d["to"] for d in [e["detail"] for e in outbound.wait_for("UserRoleChanged", userId=uid)]] == [new_role]
    # a demoted user's tokens carry the old role: they end with the demotion; a promotion leaves them
    assert requests.get(f"{api}/me", headers=their_session, timeout=10).status_code in (REFUSED_SESSION if demoted else (200,))

    answer = call(api, headers, "PUT", f"/users/{uid}/mfa", {"required": True})
    assert answer.status_code == 202, answer.text
    execution = tenantry.wait_execution("MfaRequirementChangeStateMachineArn", f"mfa-change-{answer.json()['requestId']}")
    assert execution["status"] == "SUCCEEDED", execution
    assert len(outbound.wait_for("MfaRequirementChanged", userId=uid, required=True)) == 1

    assert call(api, headers, "POST", f"/users/{uid}/sessions/revoke").status_code == 204
    assert len(outbound.wait_for("SessionsRevoked", userId=uid, reason="api:revoke")) == 1

    assert call(api, headers, "DELETE", f"/users/{uid}").status_code == 204
    assert tenantry.profile(uid) is None
    assert not tenantry.cognito.list_users(UserPoolId=target["userPoolId"], Filter=f'sub = "{uid}"')["Users"]
    assert tenantry.item(f"EMAIL#{tenant['tenantId']}#{target['email'].lower()}", "EMAIL") is None
    assert len(outbound.wait_for("UserDeleted", userId=uid)) == 1
    assert call(api, headers, "DELETE", f"/users/{uid}").status_code == 404

    counts: dict[str, int] = {}
    for detail_type, _ in events_of(tenantry, uid):
        counts[detail_type] = counts.get(detail_type, 0) + 1
    assert counts["UserStatusChanged"] == 2 and counts["UserRoleChanged"] == 1 and counts["UserDeleted"] == 1
    # one per revocation (disabling, demotion, the revoke route), never one from the stream too
    reasons = sorted(d["reason"] for t, d in events_of(tenantry, uid) if t == "SessionsRevoked")
    assert reasons == sorted(["api:disable", "api:revoke"] + (["api:demote"] if demoted else []))
    # (reached only when every change above did what it says: 2 status changes, a role, MFA, a revocation, a delete)
    role_matrix().add(caller_role, target_role, "allowed", 6, 6, "changed, each with its event")


def role_matrix() -> Any:
    return REPORT.table(
        "roles",
        "Who may change whom, over HTTP",
        (
            "Each cell: a signed-in caller of one role and a target user of another in the same tenant; the calls are "
            "every change route (status, role, MFA requirement, sessions, deletion). *as the rule says*: 403 "
            "FORBIDDEN where the rule refuses (a caller at or below the target, or themselves), the change made "
            "where it allows (Admin over SuperUser, Member, ReadOnly; SuperUser over Member, ReadOnly). *outcome*: "
            "for refused cells, whether the target's Cognito user, profile and events were the same after."
        ),
        ("caller", "target", "rule", "calls", "as the rule says", "outcome"),
    )


def test_a_user_not_yet_activated_is_neither_enabled_nor_disabled(tenantry, api, tenant, callers):
    request_id = tenantry.register(registration_request(tenantry.request_id("u-pending"), tenant["tenantId"], "Member"))
    [registered] = tenantry.outbound.wait_for("UserRegistered", requestId=request_id)
    pending = {**registered["detail"], "userPoolId": tenant["userPoolId"]}
    pending["username"] = tenantry.profile(pending["userId"])["username"]
    before = state_of(tenantry, pending)
    for status in ("ACTIVE", "DISABLED"):
        answer = call(api, callers["Admin"]["headers"], "PATCH", f"/users/{pending['userId']}/status", {"status": status})
        assert (answer.status_code, answer.json()["error"]["code"]) == (409, "USER_NOT_ACTIVATED")
    assert state_of(tenantry, pending) == before


def test_nobody_grants_a_role_above_their_own(tenantry, api, callers, targets):
    member = targets["Member"]
    before = state_of(tenantry, member)
    answer = call(api, callers["SuperUser"]["headers"], "PUT", f"/users/{member['userId']}/role", {"role": "Admin"})
    assert answer.status_code == 403, answer.text
    assert state_of(tenantry, member) == before


# ------------------------------------------------------------------------------------- isolation
def test_another_tenants_user_answers_as_a_missing_one_and_is_untouched(tenantry, api, callers):
    other_tenant = tenantry.onboarded("shared")
    stranger = tenantry.active_user(other_tenant, "ReadOnly")
    before = state_of(tenantry, stranger)
    for (method, path, body), (_, missing_path, _) in zip(changes(stranger["userId"]), changes("no-such-user"), strict=True):
        answer = call(api, callers["Admin"]["headers"], method, path, body)
        missing = call(api, callers["Admin"]["headers"], method, missing_path, body)
        assert (answer.status_code, answer.json()) == (404, missing.json()) == (missing.status_code, missing.json())
    assert state_of(tenantry, stranger) == before
    assert [t for t, _ in events_of(tenantry, stranger["userId"]) if t in CHANGE_EVENTS] == []


# ------------------------------------------------------------------------------------- revocation bites
def test_a_revoked_session_is_refused_on_its_very_next_request(tenantry, api, tenant, callers):
    target = tenantry.active_user(tenant, "Member")
    headers = tenantry.bearer(target)
    assert requests.get(f"{api}/me", headers=headers, timeout=10).status_code == 200
    assert call(api, callers["Admin"]["headers"], "POST", f"/users/{target['userId']}/sessions/revoke").status_code == 204
    assert requests.get(f"{api}/me", headers=headers, timeout=10).status_code in REFUSED_SESSION


def test_a_deleted_users_session_is_refused_on_its_very_next_request(tenantry, api, tenant, callers):
    target = tenantry.active_user(tenant, "Member")
    headers = tenantry.bearer(target)
    assert requests.get(f"{api}/me", headers=headers, timeout=10).status_code == 200
    assert call(api, callers["Admin"]["headers"], "DELETE", f"/users/{target['userId']}").status_code == 204
    assert requests.get(f"{api}/me", headers=headers, timeout=10).status_code in REFUSED_SESSION  # no profile: none honoured


# ------------------------------------------------------------------------------------- bad bodies
BAD_BODIES = [
    ("PATCH", "status", {"status": "GONE"}, "status"),
    ("PATCH", "status", {}, "status"),
    ("PATCH", "status", {"status": "DISABLED", "tenantId": "t-other"}, "tenantId"),
    ("PUT", "role", {"role": "Owner"}, "role"),
    ("PUT", "role", {"role": None}, "role"),
    ("PUT", "mfa", {"required": "yes"}, "required"),
    ("PUT", "mfa", {"required": True, "userId": "someone"}, "userId"),
]


@pytest.mark.parametrize(("method", "route", "body", "field"), BAD_BODIES, ids=[f"{r}-{f}-{b}" for _, r, b, f in BAD_BODIES])
def test_a_bad_body_answers_400_naming_the_field_and_writes_nothing(tenantry, api, callers, targets, method, route, body, field):
    target = targets["Member"]
    before = state_of(tenantry, target)
    answer = call(api, callers["Admin"]["headers"], method, f"/users/{target['userId']}/{route}", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field
    assert state_of(tenantry, target) == before
