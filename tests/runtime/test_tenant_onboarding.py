"""TenantOnboarding, executed for real: template.yaml on the local runtime, the real definition run by
moto's Step Functions interpreter, the real handlers, Cognito and DynamoDB through their APIs."""

from __future__ import annotations

import json
import threading
import time

import pytest

from helpers import onboarding_request
from tenantry import schemas

MACHINE = "TenantOnboardingStateMachineArn"
PROTECTED = {"custom:tenant_id", "custom:mfa_required"}


def onboard(tenantry, request_id, isolation="shared", **overrides):
    tenantry.post("TenantOnboardingRequested", onboarding_request(request_id, isolation, **overrides))
    return tenantry.wait_execution(MACHINE, f"onboard-{request_id}")


def assert_valid_events(events):
    for event in events:
        schemas.check(event["detail-type"], event["detail"])
        assert event["source"] == "tenantry"


# ------------------------------------------------------------------------------------- happy paths
def test_shared_tenant_is_onboarded_into_the_shared_pool(tenantry, outbound):
    # Given a request for a shared tenant
    request_id = tenantry.request_id()
    # When it is posted to the bus
    execution = onboard(tenantry, request_id, "shared")
    # Then the execution, named after the request, succeeds through the shared path
    assert execution["status"] == "SUCCEEDED"
    assert execution["name"] == f"onboard-{request_id}"
    states = tenantry.states(execution["executionArn"])
    assert states == [
        "ValidateRequest",
        "IsRequestValid",
        "ReserveTenant",
        "IsFirstCopyOfRequest",
        "ChooseIsolation",
        "UseSharedUserPool",
        "CreateTenantAdmin",
        "AddAdminToGroup",
        "ActivateTenant",
        "TenantOnboarded",
    ]
    [tenant] = tenantry.tenants_for_request(request_id)
    assert tenant["status"] == "ACTIVE"
    assert tenant["userPoolId"] == tenantry.outputs["SharedUserPoolId"]
    # And the admin exists in the shared pool, in Admin, with the tenant id from the tenant record
    [admin] = tenantry.shared_users_of(tenant["tenantId"])
    attributes = {a["Name"]: a["Value"] for a in admin["Attributes"]}
    assert attributes["custom:tenant_id"] == tenant["tenantId"]
    groups = tenantry.cognito.admin_list_groups_for_user(UserPoolId=tenant["userPoolId"], Username=admin["Username"])
    assert [g["GroupName"] for g in groups["Groups"]] == ["Admin"]
    # And its profile is keyed by the Cognito sub
    profile = tenantry.item(f"USER#{attributes['sub']}", "PROFILE")
    assert profile["role"] == "Admin" and profile["tenantId"] == tenant["tenantId"]
    # And TenantOnboarded is published from the stream, valid against its schema
    [event] = outbound.wait_for("TenantOnboarded", requestId=request_id)
    assert event["detail"]["tenantId"] == tenant["tenantId"]
    assert event["detail"]["isolation"] == "shared"
    assert_valid_events(outbound.matching(requestId=request_id))


def test_dedicated_tenant_gets_its_own_locked_down_pool(tenantry, outbound):
    request_id = tenantry.request_id()
    execution = onboard(tenantry, request_id, "dedicated")
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    [tenant] = tenantry.tenants_for_request(request_id)
    assert tenant["status"] == "ACTIVE"
    pool_id = tenant["userPoolId"]
    assert pool_id != tenantry.outputs["SharedUserPoolId"]
    pool = tenantry.cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    # admin-create-only, TOTP MFA optional, Tenantry's triggers
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    mfa = tenantry.cognito.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert mfa["MfaConfiguration"] == "OPTIONAL" and mfa["SoftwareTokenMfaConfiguration"]["Enabled"] is True
    shared = tenantry.cognito.describe_user_pool(UserPoolId=tenantry.outputs["SharedUserPoolId"])["UserPool"]
    assert pool["LambdaConfig"] == shared["LambdaConfig"]
    # one app client that cannot write protected attributes
    [client] = tenantry.cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=10)["UserPoolClients"]
    details = tenantry.cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"])["UserPoolClient"]
    assert not PROTECTED & set(details["WriteAttributes"])
    assert tenant["appClientId"] == client["ClientId"]
    # the four role groups and the admin in Admin
    groups = tenantry.cognito.list_groups(UserPoolId=pool_id)["Groups"]
    assert {g["GroupName"]: g["Precedence"] for g in groups} == {"Admin": 0, "SuperUser": 1, "Member": 2, "ReadOnly": 3}
    users = tenantry.cognito.list_users(UserPoolId=pool_id)["Users"]
    assert [u["Username"] for u in users] == [f"admin.{request_id}@example.com"]
    [event] = outbound.wait_for("TenantOnboarded", requestId=request_id)
    assert event["detail"]["userPoolId"] == pool_id and event["detail"]["isolation"] == "dedicated"
    assert_valid_events(outbound.matching(requestId=request_id))


# ------------------------------------------------------------------------------------- duplicates
def test_the_same_request_twice_gives_one_tenant(tenantry, outbound):
    request_id = tenantry.request_id()
    first = onboard(tenantry, request_id, "dedicated")
    assert first["status"] == "SUCCEEDED"
    # a redelivered copy is absorbed: the execution name is taken
    onboard(tenantry, request_id, "dedicated")
    executions = tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[MACHINE])["executions"]
    assert [e["name"] for e in executions].count(f"onboard-{request_id}") == 1
    [tenant] = tenantry.tenants_for_request(request_id)
    assert len(tenantry.pools_named(f"tenantry-{tenant['tenantId']}")) == 1
    assert len(outbound.matching("TenantOnboarded", requestId=request_id)) == 1


def test_a_copy_under_another_execution_name_is_ignored_by_the_reservation(tenantry):
    # Given a tenant onboarded for a request
    request_id = tenantry.request_id()
    assert onboard(tenantry, request_id, "dedicated")["status"] == "SUCCEEDED"
    # When an operator starts the workflow again with the same request under another name
    detail = onboarding_request(request_id, "dedicated")
    arn = tenantry.sfn.start_execution(
        stateMachineArn=tenantry.outputs[MACHINE],
        name=f"manual-{request_id}",
        input=json.dumps({"detailType": "TenantOnboardingRequested", "detail": detail}),
    )["executionArn"]
    described = tenantry.wait_execution(MACHINE, f"manual-{request_id}")
    # Then it stops at the reservation and creates nothing
    assert described["status"] == "SUCCEEDED"
    assert tenantry.states(arn)[-1] == "DuplicateRequestIgnored"
    [tenant] = tenantry.tenants_for_request(request_id)
    assert len(tenantry.pools_named(f"tenantry-{tenant['tenantId']}")) == 1


def test_concurrent_copies_create_exactly_one_tenant(tenantry, outbound):
    request_id = tenantry.request_id()
    detail = onboarding_request(request_id, "dedicated")
    # Two copies via the bus, and two executions under different names, all at once
    names = [f"race-a-{request_id}", f"race-b-{request_id}"]
    barrier = threading.Barrier(4)

    def via_bus():
        barrier.wait()
        tenantry.post("TenantOnboardingRequested", detail)

    def via_sfn(name):
        barrier.wait()
        tenantry.sfn.start_execution(
            stateMachineArn=tenantry.outputs[MACHINE],
            name=name,
            input=json.dumps({"detailType": "TenantOnboardingRequested", "detail": detail}),
        )

    threads = [threading.Thread(target=via_bus), threading.Thread(target=via_bus)]
    threads += [threading.Thread(target=via_sfn, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    finished = [tenantry.wait_execution(MACHINE, n) for n in [f"onboard-{request_id}", *names]]
    paths = {e["name"]: (e["status"], tenantry.states(e["executionArn"])) for e in finished}
    assert all(status == "SUCCEEDED" for status, _ in paths.values()), paths
    endings = sorted(states[-1] for _, states in paths.values())
    assert endings == ["DuplicateRequestIgnored", "DuplicateRequestIgnored", "TenantOnboarded"], paths
    [tenant] = tenantry.tenants_for_request(request_id)
    assert len(tenantry.pools_named(f"tenantry-{tenant['tenantId']}")) == 1
    assert len(outbound.wait_for("TenantOnboarded", timeout=30, requestId=request_id)) == 1, outbound.seen[-6:]


@pytest.fixture
def one_core_kept_busy():
    """The load under which racing copies once lost their TenantOnboarded (a CI machine's other work)."""
    import subprocess
    import sys

    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield
    burner.kill()
    burner.wait()


def test_racing_copies_under_load_publish_one_event_per_committed_change(tenantry, outbound, one_core_kept_busy):
    # Given racing copies of several requests at once, round after round, with one core kept busy
    request_ids = []
    for _ in range(10):
        request_id = tenantry.request_id("load")
        detail = onboarding_request(request_id, "dedicated")
        copies = ["bus", "bus", f"race-a-{request_id}", f"race-b-{request_id}"]
        barrier = threading.Barrier(len(copies))

        def post(copy, detail=detail, barrier=barrier):
            barrier.wait()
            if copy == "bus":
                tenantry.post("TenantOnboardingRequested", detail)
            else:
                tenantry.sfn.start_execution(
                    stateMachineArn=tenantry.outputs[MACHINE],
                    name=copy,
                    input=json.dumps({"detailType": "TenantOnboardingRequested", "detail": detail}),
                )

        threads = [threading.Thread(target=post, args=(copy,)) for copy in copies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name in (f"onboard-{request_id}", *copies[2:]):
            assert tenantry.wait_execution(MACHINE, name)["status"] == "SUCCEEDED"
        request_ids.append(request_id)
    # When every change has been delivered
    assert tenantry.rt.wait_settled(30)
    # Then each committed tenant, and each committed admin profile, has exactly one entity event
    committed = {rid: tenantry.tenants_for_request(rid) for rid in request_ids}
    assert all(len(t) == 1 and t[0]["status"] == "ACTIVE" for t in committed.values()), committed
    tenant_ids = {t[0]["tenantId"] for t in committed.values()}
    onboarded = [e for e in outbound.matching("TenantOnboarded") if e["detail"]["requestId"] in committed]
    assert sorted(e["detail"]["requestId"] for e in onboarded) == sorted(request_ids)
    assert {e["detail"]["tenantId"] for e in onboarded} == tenant_ids
    registered = [e for e in outbound.matching("UserRegistered") if e["detail"]["requestId"] in committed]
    assert sorted(e["detail"]["requestId"] for e in registered) == sorted(request_ids)
    # And no event stands for a write of a cancelled transaction (the losing copies' tenants)
    assert {e["detail"]["tenantId"] for e in registered} == tenant_ids


# ------------------------------------------------------------------------------------- invalid requests
INVALID = [
    pytest.param({"tenantName": None}, "MISSING_FIELD", "tenantName", id="missing-name"),
    pytest.param({"isolation": "hybrid"}, "VALUE_NOT_ALLOWED", "isolation", id="unknown-isolation"),
    pytest.param({"admin": {"email": "not-an-email", "name": "Ada"}}, "INVALID_FORMAT", "admin.email", id="malformed-email"),
    pytest.param({"tenantName": "x" * 101}, "TOO_LONG", "tenantName", id="oversized-name"),
    pytest.param({"admin": {"email": "a@b.example"}}, "MISSING_FIELD", "admin.name", id="missing-admin-name"),
    pytest.param({"plan": 7}, "WRONG_TYPE", "plan", id="wrong-type"),
    pytest.param({"tenantId": "tnt-chosen-by-caller"}, "UNKNOWN_FIELD", "tenantId", id="caller-chosen-tenant-id"),
]


@pytest.mark.parametrize(("change", "reason", "field"), INVALID)
def test_invalid_requests_create_nothing_and_say_which_field(tenantry, outbound, change, reason, field):
    request_id = tenantry.request_id("bad")
    detail = onboarding_request(request_id, "shared")
    for key, value in change.items():
        if value is None:
            detail.pop(key)
        else:
            detail[key] = value
    pools_before = len(tenantry.cognito.list_user_pools(MaxResults=60)["UserPools"])
    tenantry.post("TenantOnboardingRequested", detail)
    execution = tenantry.wait_execution(MACHINE, f"onboard-{request_id}")
    assert execution["status"] == "FAILED"
    assert execution["error"] == reason
    assert tenantry.states(execution["executionArn"])[-1] == "RequestRejected"
    [event] = outbound.wait_for("TenantOnboardingFailed", requestId=request_id)
    assert event["detail"]["reason"] == reason
    assert event["detail"]["field"] == field
    assert field in event["detail"]["message"]
    schemas.check("TenantOnboardingFailed", event["detail"])
    assert tenantry.tenants_for_request(request_id) == []
    assert tenantry.item(f"REQUEST#TenantOnboarding#{request_id}", "REQUEST") is None
    assert len(tenantry.cognito.list_user_pools(MaxResults=60)["UserPools"]) == pools_before


def test_a_request_without_request_id_is_rejected_and_traceable(tenantry, outbound):
    detail = onboarding_request("unused")
    detail.pop("requestId")
    detail["tenantName"] = f"No id {tenantry.request_id()}"
    tenantry.post("TenantOnboardingRequested", detail)
    executions = []
    for _ in range(400):
        executions = [
            e
            for e in tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[MACHINE])["executions"]
            if e["name"].startswith("onboard-invalid-") and e["status"] != "RUNNING"
        ]
        if executions:
            break
        time.sleep(0.05)
    assert executions, "no execution was started for the request without requestId"
    failures = outbound.wait_for("TenantOnboardingFailed", reason="MISSING_FIELD", field="requestId")
    assert failures and failures[0]["detail"]["requestId"] is None


# ------------------------------------------------------------------------------------- failures half-way
STEPS_DEDICATED = [
    # (a pool is looked for by its name: a failed create may still have made it, its answer lost)
    ("CreateUserPool", "cognito-idp", "CreateUserPool", "", ["FindLostUserPool", "LostUserPoolFound"]),
    ("EnableTotpMfa", "cognito-idp", "SetUserPoolMfaConfig", "", ["UndoUserPool", "DeleteUndoneUserPool"]),
    ("CreateAppClient", "cognito-idp", "CreateUserPoolClient", "", ["UndoUserPool", "DeleteUndoneUserPool"]),
    ("CreateRoleGroups", "cognito-idp", "CreateGroup", "", ["UndoUserPool", "DeleteUndoneUserPool"]),
    (  # (the admin is undone too: a failed create may still have made it, its answer lost)
        "CreateTenantAdmin",
        "cognito-idp",
        "AdminCreateUser",
        "",
        ["UndoTenantAdmin", "UndoUserPoolIfDedicated", "UndoUserPool", "DeleteUndoneUserPool"],
    ),
    (
        "AddAdminToGroup",
        "cognito-idp",
        "AdminAddUserToGroup",
        "",
        ["UndoTenantAdmin", "UndoUserPoolIfDedicated", "UndoUserPool", "DeleteUndoneUserPool"],
    ),
    (
        "ActivateTenant",
        "dynamodb",
        "TransactWriteItems",
        ":active",
        ["UndoTenantAdmin", "UndoUserPoolIfDedicated", "UndoUserPool", "DeleteUndoneUserPool"],
    ),
]
STEPS_SHARED = [
    ("CreateTenantAdmin", "cognito-idp", "AdminCreateUser", "", ["UndoTenantAdmin", "UndoUserPoolIfDedicated"]),
    ("AddAdminToGroup", "cognito-idp", "AdminAddUserToGroup", "", ["UndoTenantAdmin", "UndoUserPoolIfDedicated"]),
    ("ActivateTenant", "dynamodb", "TransactWriteItems", ":active", ["UndoTenantAdmin", "UndoUserPoolIfDedicated"]),
]


@pytest.mark.parametrize(
    ("isolation", "step", "service", "operation", "match", "undo"),
    [("dedicated", *s) for s in STEPS_DEDICATED] + [("shared", *s) for s in STEPS_SHARED],
    ids=[f"dedicated-{s[0]}" for s in STEPS_DEDICATED] + [f"shared-{s[0]}" for s in STEPS_SHARED],
)
def test_a_failure_at_each_step_leaves_nothing_behind(tenantry, outbound, isolation, step, service, operation, match, undo):
    # Given a step that fails with an error no retry will fix
    error = "ResourceNotFoundException" if service == "dynamodb" else "InvalidParameterException"
    tenantry.arm_fault(service=service, operation=operation, error=error, message=f"injected at {step}", match=match)
    request_id = tenantry.request_id("fail")
    # When a tenant is onboarded
    execution = onboard(tenantry, request_id, isolation)
    # Then the execution fails after running exactly the compensation states for what existed
    assert execution["status"] == "FAILED"
    states = tenantry.states(execution["executionArn"])
    assert step in states
    expected_ending = [*undo, "MarkTenantFailed", "EmitOnboardingFailed", "OnboardingFailed"]
    assert states[-len(expected_ending) :] == expected_ending
    assert not {"ActivateTenant", "TenantOnboarded"} & set(states[states.index(step) + 1 :])
    # And nothing is left: no pool, no user, no profile, no ACTIVE record
    [tenant] = tenantry.tenants_for_request(request_id)
    assert tenant["status"] == "FAILED"
    assert tenantry.pools_named(f"tenantry-{tenant['tenantId']}") == []
    assert tenantry.shared_users_of(tenant["tenantId"]) == []
    assert tenantry.profiles_of(tenant["tenantId"]) == []
    # And the failure is announced with what went wrong
    [event] = outbound.wait_for("TenantOnboardingFailed", requestId=request_id)
    assert event["detail"]["reason"] == "PROVISIONING_FAILED"
    assert error in event["detail"]["message"]
    assert event["detail"]["tenantId"] == tenant["tenantId"]
    schemas.check("TenantOnboardingFailed", event["detail"])
    assert outbound.matching("TenantOnboarded", requestId=request_id) == []


def test_cognito_throttling_is_retried_then_succeeds(tenantry):
    tenantry.arm_fault(
        service="cognito-idp", operation="CreateGroup", error="TooManyRequestsException", message="Rate exceeded", count=3
    )
    tenantry.arm_fault(
        service="cognito-idp", operation="AdminCreateUser", error="TooManyRequestsException", message="Rate exceeded", count=2
    )
    request_id = tenantry.request_id("throttled")
    execution = onboard(tenantry, request_id, "dedicated")
    assert execution["status"] == "SUCCEEDED"
    failures = [
        e["taskFailedEventDetails"]["error"] for e in tenantry.history(execution["executionArn"]) if e["type"] == "TaskFailed"
    ]
    assert failures.count("CognitoIdentityProvider.TooManyRequestsException") == 5
    assert tenantry.rt.faults.pending() == []
    [tenant] = tenantry.tenants_for_request(request_id)
    assert tenant["status"] == "ACTIVE"
    assert len(tenantry.cognito.list_groups(UserPoolId=tenant["userPoolId"])["Groups"]) == 4
