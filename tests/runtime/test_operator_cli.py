"""`tenantry`, the operator's command, against the local runtime over its endpoint, as an operator runs it:
what happened to a request and a tenant, what was undone, the archive read and replayed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from helpers import onboarding_request, registration_request
from tenantry_ops.cli import main


def tenantry_cli(runtime, capsys, *argv: str) -> tuple[int, object]:
    """The command's exit code and its --json output (parsed)."""
    capsys.readouterr()
    code = main([*argv, "--endpoint-url", runtime.endpoint, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


@pytest.fixture(scope="module")
def failed_onboarding(tenantry):
    """An onboarding whose CreateAppClient failed: its pool created, then undone."""
    request_id = tenantry.request_id("cli-fail")
    fault = tenantry.rt.faults.arm(
        {
            "service": "cognito-idp",
            "operation": "CreateUserPoolClient",
            "error": "InvalidParameterException",
            "caller": f"onboard-{request_id}/*",
        }
    )
    try:
        tenantry.post("TenantOnboardingRequested", onboarding_request(request_id, "dedicated"))
        tenantry.wait_execution("TenantOnboardingStateMachineArn", f"onboard-{request_id}")
    finally:
        tenantry.rt.faults.disarm(fault)
    return request_id


@pytest.fixture(scope="module")
def tenant_with_a_member(tenantry):
    tenant = tenantry.onboarded("shared")
    member = tenantry.register_and_activate(registration_request(tenantry.request_id("cli-member"), tenant["tenantId"]))
    return tenant, member


def test_what_happened_to_a_request_and_what_was_undone(runtime, capsys, failed_onboarding):
    code, rows = tenantry_cli(runtime, capsys, "executions", "--request", failed_onboarding)
    assert code == 0
    assert [(r["workflow"], r["name"], r["status"]) for r in rows] == [
        ("TenantOnboarding", f"onboard-{failed_onboarding}", "FAILED")
    ]
    code, story = tenantry_cli(runtime, capsys, "execution", f"onboard-{failed_onboarding}")
    assert code == 0 and story["status"] == "FAILED"
    states = [s["state"] for s in story["states"]]
    assert states.index("CreateUserPool") < states.index("CreateAppClient") < states.index("UndoUserPool")
    failed_at = next(s for s in story["states"] if s.get("error"))
    assert (failed_at["state"], failed_at["error"]["error"]) == (
        "CreateAppClient",
        "CognitoIdentityProvider.InvalidParameterException",
    )
    assert story["compensation"] == ["UndoUserPool", "DeleteUndoneUserPool", "MarkTenantFailed", "EmitOnboardingFailed"]
    assert story["error"]["error"] == "CognitoIdentityProvider.InvalidParameterException"
    assert all(s["seconds"] is not None for s in story["states"] if s["type"] != "Fail")


def secret_values(value, path=""):
    """(path, value) of every secret-named field that holds a value."""
    from tenantry_ops.executions import is_secret

    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret(key) and isinstance(item, str) and item:
                found.append((f"{path}.{key}", item))
            else:
                found += secret_values(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += secret_values(item, f"{path}[{index}]")
    return found


def test_an_executions_secrets_are_masked(runtime, capsys, tenantry, tenant_with_a_member):
    _, member = tenant_with_a_member
    name = f"register-{member['requestId']}"
    code, story = tenantry_cli(runtime, capsys, "execution", name)
    assert code == 0 and story["status"] == "SUCCEEDED"
    # the history holds secret-named fields (the activation task token, in its task parameters); none is shown
    history = tenantry.history(tenantry.execution_arn("UserRegistrationStateMachineArn", name))
    in_history = [
        found
        for event in history
        for details in event.values()
        if isinstance(details, dict)
        for text in (details.get("input"), details.get("output"), details.get("parameters"))
        if text
        for found in secret_values(json.loads(text))
    ]
    assert in_history, "the registration's history holds no secret-named field: the test proves nothing"
    assert {value for _, value in secret_values(story)} <= {"***"}
    printed = json.dumps(story)
    assert not [path for path, value in in_history if value in printed]
    assert not [code for code in tenantry.outbound.codes if code in printed]


def test_a_tenants_story(runtime, capsys, tenant_with_a_member):
    tenant, member = tenant_with_a_member
    code, story = tenantry_cli(runtime, capsys, "tenant", tenant["tenantId"])
    assert code == 0
    assert story["tenant"]["status"] == "ACTIVE" and story["pool"]["userPoolId"] == tenant["userPoolId"]
    assert {(r["role"], r["status"]): r["users"] for r in story["users"]["byRoleAndStatus"]} == {
        ("Admin", "ACTIVE"): 1,
        ("Member", "ACTIVE"): 1,
    }
    names = {r["name"] for r in story["executions"]}
    assert f"register-{member['requestId']}" in names and any(n.startswith("onboard-") for n in names)


def test_a_tenants_events_come_from_the_archive_without_activation_codes(runtime, capsys, tenant_with_a_member):
    tenant, member = tenant_with_a_member
    code, events = tenantry_cli(runtime, capsys, "events", "--tenant", tenant["tenantId"], "--since", "30m")
    assert code == 0
    types = [e["detail-type"] for e in events]
    assert {"TenantOnboardingRequested", "TenantOnboarded", "UserRegistrationRequested", "UserActivated"} <= set(types)
    assert types.index("TenantOnboardingRequested") < types.index("TenantOnboarded")
    # the one event that carries a secret is never archived: an activation code stored for a year, or replayed
    assert "UserActivationCodeIssued" not in types and "UserActivated" in types
    assert member["userId"] in {e["detail"].get("userId") for e in events}
    assert all(e["detail"].get("tenantId") in (tenant["tenantId"], None) for e in events)


def test_a_request_is_found_by_its_own_execution_not_by_a_suffix_and_within_the_window(runtime, capsys, failed_onboarding):
    suffix = failed_onboarding.split("-", 1)[1]  # ("cli-fail-<hex>": its execution's name ends with "-fail-<hex>" too)
    assert tenantry_cli(runtime, capsys, "executions", "--request", suffix) == (0, [])
    assert tenantry_cli(runtime, capsys, "executions", "--request", failed_onboarding, "--until", "1d") == (0, [])
    code, rows = tenantry_cli(runtime, capsys, "executions", "--request", failed_onboarding, "--since", "1d", "--until", "0s")
    assert code == 0 and [r["name"] for r in rows] == [f"onboard-{failed_onboarding}"]


def test_a_maps_iterations_are_told_apart(runtime, capsys, tenantry):
    """An offboarding disables its users in a Map, several at once: each iteration's states have their own
    duration and output, and the index of their iteration."""
    leaving = tenantry.onboarded("shared")
    tenantry.active_user(leaving, "Member", name="Map Iteration")
    request_id = tenantry.request_id("cli-map")
    tenantry.post("TenantOffboardingRequested", {"requestId": request_id, "tenantId": leaving["tenantId"]})
    assert tenantry.wait_execution("TenantOffboardingStateMachineArn", f"offboard-{request_id}")["status"] == "SUCCEEDED"
    code, story = tenantry_cli(runtime, capsys, "execution", f"offboard-{request_id}")
    assert code == 0
    disabled = [s for s in story["states"] if s["state"] == "DisableUser"]
    assert sorted(s["iteration"] for s in disabled) == [0, 1]  # the admin and the member
    assert all(s["type"] == "Task" and s["seconds"] is not None and "output" in s for s in disabled)
    assert not any(s["compensation"] for s in disabled)
    assert all(s["seconds"] is not None for s in story["states"])
    capsys.readouterr()
    assert main(["execution", f"offboard-{request_id}", "--io", "--endpoint-url", runtime.endpoint]) == 0
    shown = capsys.readouterr().out
    assert "DisableUser [0]" in shown and "DisableUser [1]" in shown and "\n  out: " in shown


def test_a_failure_of_the_command_itself_is_not_taken_for_not_found(runtime, capsys, monkeypatch):
    from tenantry_ops import cli

    def broken(stack, args):
        raise RuntimeError("a bug")

    monkeypatch.setitem(cli.COMMANDS, "executions", broken)  # (no command of ours fails so: one made to)
    assert main(["executions", "--endpoint-url", runtime.endpoint]) == cli.FAILED
    assert "RuntimeError: a bug" in capsys.readouterr().err


def test_sources_are_managed_with_the_command(runtime, capsys):
    code, granted = tenantry_cli(
        runtime, capsys, "sources", "grant", "cli.billing", "--requests", "UserRegistrationRequested", "--tenants", "t-1"
    )
    assert code == 0 and granted == [{"source": "cli.billing", "requestTypes": ["UserRegistrationRequested"], "tenants": ["t-1"]}]
    code, listed = tenantry_cli(runtime, capsys, "sources", "list")
    assert "cli.billing" in {row["source"] for row in listed}
    assert tenantry_cli(runtime, capsys, "sources", "revoke", "cli.billing")[0] == 0
    assert tenantry_cli(runtime, capsys, "sources", "revoke", "cli.billing")[0] == 1  # no longer registered
    assert tenantry_cli(runtime, capsys, "sources", "grant", "tenantry", "--requests", "all", "--tenants", "*")[0] == 2


def test_exit_codes_scripts_can_rely_on(runtime, capsys):
    assert tenantry_cli(runtime, capsys, "execution", "no-such-execution")[0] == 1
    assert tenantry_cli(runtime, capsys, "tenant", "tnt-no-such-tenant")[0] == 1
    assert tenantry_cli(runtime, capsys, "executions", "--workflow", "NoSuchWorkflow")[0] == 1
    assert main(["executions", "--endpoint-url", "http://127.0.0.1:9", "--json"]) == 3  # nothing listens there
    # a replay to the consumers of a window older than Step Functions' 90 days of execution names: refused
    assert tenantry_cli(runtime, capsys, "replay", "--since", "100d", "--until", "99d")[0] == 2
    with pytest.raises(SystemExit) as usage:
        main(["executions", "--since", "yesterday-ish"])
    assert usage.value.code == 2


# ------------------------------------------------------------------------------------- replay
def test_replaying_a_window_of_every_request_type_creates_nothing_twice(runtime, capsys, tenantry):
    began = datetime.now(UTC) - timedelta(seconds=1)
    # Given a window with every request type: onboardings, a registration and its activation, an MFA change,
    # an offboarding, and a refused request
    tenant = tenantry.onboarded("dedicated")
    member = tenantry.active_user(tenant, "Member")
    tenantry.post(
        "MfaRequirementChangeRequested",
        {
            "requestId": tenantry.request_id("cli-mfa"),
            "tenantId": tenant["tenantId"],
            "userId": member["userId"],
            "required": True,
        },
    )
    leaving = tenantry.onboarded("shared")
    offboarding = tenantry.request_id("cli-off")
    tenantry.post("TenantOffboardingRequested", {"requestId": offboarding, "tenantId": leaving["tenantId"]})
    tenantry.wait_execution("TenantOffboardingStateMachineArn", f"offboard-{offboarding}")
    tenantry.post(
        "TenantOnboardingRequested", onboarding_request(tenantry.request_id("cli-bad"), admin={"email": "nope", "name": "X"})
    )
    assert tenantry.wait_all_idle()
    tenantry.rt.wait_settled()
    ended = datetime.now(UTC) + timedelta(seconds=1)
    before = tenantry.footprint()
    assert before["eventIds"], "the watcher saw no event: the comparison would prove nothing"
    seen = len(tenantry.outbound.matching())
    # When the operator replays the window
    code, done = tenantry_cli(runtime, capsys, "replay", "--since", began.isoformat(), "--until", ended.isoformat())
    assert code == 0 and done[0]["state"] == "COMPLETED"
    assert tenantry.wait_all_idle()
    tenantry.rt.wait_settled()
    time.sleep(0.5)  # the replayed outbound events reach the watcher
    # Then nothing was created twice: no execution, item, pool, user or event id that was not there before
    after = tenantry.footprint()
    assert len(tenantry.outbound.matching()) > seen, "the replay delivered nothing: the comparison would prove nothing"
    for part in ("executions", "items", "users", "eventIds"):
        assert after[part] == before[part], part
