"""MFA that administrators control, and what happens when a user switches it off (local runtime)."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tenantry.token_lookups import registrations_from_table, revocations_from_table
from tenantry.tokens import TokenRejected, TokenVerifier

CHANGE, COMPLIANCE = "MfaRequirementChangeStateMachineArn", "MfaComplianceStateMachineArn"


@pytest.fixture(scope="module")
def tenant(tenantry):
    return tenantry.onboarded("dedicated")


@pytest.fixture
def without_cloudtrail(runtime):
    """CloudTrail reaches EventBridge minutes after a call on AWS; tests of the other paths switch the local
    emulation off so that path 2 does not get there first."""
    runtime.cloudtrail.enabled = False
    yield
    runtime.cloudtrail.enabled = True


def sign_in(tenantry, user, mfa_code=None):
    """Password sign-in; answers the TOTP challenge when Cognito asks for one."""
    result = tenantry.sign_in(user["clientId"], user["username"], user["password"], mfa_code)
    assert result.get("ChallengeName") != "SOFTWARE_TOKEN_MFA", "Cognito asked for a TOTP code"
    return result


def set_up_totp(tenantry, user):
    """What the user does in the app: associate an authenticator, verify it, prefer it."""
    tenantry.set_up_totp(sign_in(tenantry, user, mfa_code=tenantry.totp_now())["AuthenticationResult"]["AccessToken"])
    wait_compliance_idle(tenantry)  # the checks these calls started (CloudTrail) have decided


def change_mfa(tenantry, tenant, user, required, requested_by=None):
    request_id = tenantry.request_id("mfa")
    detail = {"requestId": request_id, "tenantId": tenant["tenantId"], "userId": user["userId"], "required": required}
    if requested_by:
        detail["requestedBy"] = requested_by
    tenantry.post("MfaRequirementChangeRequested", detail)
    execution = tenantry.wait_execution(CHANGE, f"mfa-change-{request_id}")
    if not tenantry.rt.streams.paused:  # (a paused stream holds the change's own check back on purpose)
        wait_compliance_idle(tenantry)
    return request_id, execution


def wait_compliance_idle(tenantry, timeout=30.0):
    """Until no compliance run is going: the checks a change or a set-up started have all decided."""
    assert tenantry.wait_idle(COMPLIANCE, timeout), "compliance runs still going"


def mfa_of(tenantry, user):
    found = tenantry.cognito.admin_get_user(UserPoolId=user["userPoolId"], Username=user["username"])
    attributes = {a["Name"]: a["Value"] for a in found["UserAttributes"]}
    return attributes.get("custom:mfa_required"), "SOFTWARE_TOKEN_MFA" in (found.get("UserMFASettingList") or [])


def claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def compliance_runs(tenantry, user_id):
    runs = []
    for execution in tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[COMPLIANCE])["executions"]:
        described = tenantry.sfn.describe_execution(executionArn=execution["executionArn"])
        if json.loads(described["input"])["userId"] == user_id:
            runs.append(described)
    return runs


def compliant_member_signed_in(tenantry, tenant):
    """A Member whose admin requires MFA, with TOTP set up and found compliant, signed in with a code: the
    user, and their tokens."""
    user = tenantry.active_user(tenant, "Member")
    set_up_totp(tenantry, user)
    change_mfa(tenantry, tenant, user, True)
    wait_compliance_end(tenantry, user["userId"], "Compliant")
    return user, sign_in(tenantry, user, mfa_code=tenantry.totp_now())["AuthenticationResult"]


def wait_compliance_end(tenantry, user_id, state, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in compliance_runs(tenantry, user_id):
            if run["status"] != "RUNNING" and tenantry.states(run["executionArn"])[-1] == state:
                return run
        time.sleep(0.1)
    raise AssertionError(f"no compliance run of {user_id} ended in {state}")


def verifier_of(tenantry):
    """The authorizer's TokenVerifier over this stack's table and pools."""
    return TokenVerifier(
        "us-east-1",
        registrations_from_table(tenantry.outputs["TableName"], tenantry.ddb),
        revocations_from_table(tenantry.outputs["TableName"], tenantry.ddb),
        jwks_url=lambda pool: f"{tenantry.rt.endpoint}/{pool}/.well-known/jwks.json",
    )


def assert_thrown_out(tenantry, outbound, tenant, user, tokens, detected_by):
    """Everything a caught user must see: sessions revoked (Cognito refuses the old access and refresh
    tokens, Tenantry's verifier refuses the access token), TOTP back on, both events naming the path."""
    run = wait_compliance_end(tenantry, user["userId"], "SessionsRevoked", timeout=40)
    assert json.loads(run["input"])["detectedBy"] == detected_by
    assert mfa_of(tenantry, user) == ("true", True)
    with pytest.raises(tenantry.cognito.exceptions.NotAuthorizedException):
        tenantry.cognito.get_user(AccessToken=tokens["AccessToken"])
    with pytest.raises(tenantry.cognito.exceptions.NotAuthorizedException):
        tenantry.cognito.get_tokens_from_refresh_token(ClientId=user["clientId"], RefreshToken=tokens["RefreshToken"])
    with pytest.raises(TokenRejected) as rejected:
        verifier_of(tenantry).verify(tokens["AccessToken"])
    assert rejected.value.reason == "REVOKED"
    [violation] = outbound.wait_for("MfaComplianceViolated", userId=user["userId"])
    assert violation["detail"] | {"eventId": None} == {
        "eventId": None,
        "tenantId": tenant["tenantId"],
        "userId": user["userId"],
        "desired": "true",
        "actual": "none",
        "detectedBy": detected_by,
    }
    [revoked] = outbound.wait_for("SessionsRevoked", userId=user["userId"])
    assert revoked["detail"]["reason"] == f"mfa-compliance:{detected_by}"
    return run


def admin_get_user_calls(runtime, user, action):
    """`action()`'s result, and how many AdminGetUser calls were made for `user` meanwhile."""

    def count():
        return sum(1 for op, body in list(runtime.calls.recent) if op == "cognito-idp:AdminGetUser" and user["username"] in body)

    before = count()
    result = action()
    return result, count() - before


# ------------------------------------------------------------------------------------- requirement changes
def test_an_admin_requires_mfa_of_a_user_with_an_authenticator(tenantry, outbound, tenant):
    admin, user = tenantry.active_user(tenant, "Admin"), tenantry.active_user(tenant, "Member")
    set_up_totp(tenantry, user)
    request_id, execution = change_mfa(tenantry, tenant, user, True, requested_by=admin["userId"])
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert "EnableRegisteredTotp" in tenantry.states(execution["executionArn"])
    assert mfa_of(tenantry, user) == ("true", True)
    profile = tenantry.item(f"USER#{user['userId']}", "PROFILE")
    assert profile["mfaRequired"] is True and profile["mfaState"] == "COMPLIANT"
    assert outbound.wait_for("MfaRequirementChanged", userId=user["userId"], required=True)
    # path 3: the change is checked, and a compliant user sees no side effect
    wait_compliance_end(tenantry, user["userId"], "Compliant")
    assert outbound.matching("SessionsRevoked", userId=user["userId"]) == []


def test_requiring_mfa_of_a_user_without_a_factor_does_not_lock_them_out(tenantry, outbound, tenant):
    user = tenantry.active_user(tenant, "Member")
    _, execution = change_mfa(tenantry, tenant, user, True)
    assert execution["status"] == "SUCCEEDED"
    assert "MfaAwaitsSetUp" in tenantry.states(execution["executionArn"])
    assert mfa_of(tenantry, user) == ("setup", False)
    assert tenantry.item(f"USER#{user['userId']}", "PROFILE")["mfaState"] == "SETUP_REQUIRED"
    wait_compliance_end(tenantry, user["userId"], "Compliant")
    # They can still sign in, with a session good only for setting MFA up
    (result, calls) = admin_get_user_calls(tenantry.rt, user, lambda: sign_in(tenantry, user))
    assert calls == 0
    assert claims(result["AuthenticationResult"]["AccessToken"])["mfa_setup_only"] == "true"
    # Once they set an authenticator up, a check completes the set-up: MFA enforced from then on
    set_up_totp(tenantry, user)
    start = tenantry.sfn.start_execution(
        stateMachineArn=tenantry.outputs[COMPLIANCE],
        name=f"setup-{user['userId'][:8]}",
        input=json.dumps({"userId": user["userId"], "detectedBy": "sweep", "detectionId": "test-setup"}),
    )
    tenantry.wait_execution(COMPLIANCE, start["executionArn"].rsplit(":", 1)[-1])
    assert mfa_of(tenantry, user) == ("true", True)


@pytest.mark.parametrize(
    ("requester_role", "target_role"),
    [("Member", "ReadOnly"), ("SuperUser", "Admin"), ("SuperUser", "SuperUser"), ("Admin", "Admin")],  # roles.may_manage
)
def test_only_admins_and_superusers_below_them_change_mfa(tenantry, outbound, tenant, requester_role, target_role):
    requester, target = tenantry.active_user(tenant, requester_role), tenantry.active_user(tenant, target_role)
    request_id, execution = change_mfa(tenantry, tenant, target, True, requested_by=requester["userId"])
    assert execution["status"] == "FAILED" and execution["error"] == "ROLE_NOT_ALLOWED"
    assert mfa_of(tenantry, target)[0] in (None, "false")
    [event] = outbound.wait_for("MfaRequirementChangeFailed", requestId=request_id)
    assert event["detail"]["field"] == "requestedBy"


# ------------------------------------------------------------------------------------- path 1: sign-in
def test_a_user_who_switches_off_required_mfa_is_thrown_out_at_sign_in(tenantry, outbound, tenant, without_cloudtrail):
    # Given a user whose admin requires MFA, signed in with TOTP
    user = tenantry.active_user(tenant, "Member")
    set_up_totp(tenantry, user)
    change_mfa(tenantry, tenant, user, True)
    wait_compliance_end(tenantry, user["userId"], "Compliant")
    tokens, calls = admin_get_user_calls(
        tenantry.rt, user, lambda: sign_in(tenantry, user, mfa_code=tenantry.totp_now())["AuthenticationResult"]
    )
    assert calls == 1  # post authentication checks the real MFA once
    # When they switch their TOTP off with their own access token
    tenantry.cognito.set_user_mfa_preference(AccessToken=tokens["AccessToken"], SoftwareTokenMfaSettings={"Enabled": False})
    assert mfa_of(tenantry, user) == ("true", False)
    # Then the next sign-in (now without MFA) is refused with a clear message, after exactly one AdminGetUser
    refused, calls = admin_get_user_calls(
        tenantry.rt,
        user,
        lambda: pytest.raises(tenantry.cognito.exceptions.UserLambdaValidationException, sign_in, tenantry, user),
    )
    assert calls == 1 and "MFA is required" in str(refused.value)
    # And a compliance run revokes the sessions, restores TOTP and says so
    run = assert_thrown_out(tenantry, outbound, tenant, user, tokens, "sign-in")
    assert "RestoreTotp" in tenantry.states(run["executionArn"])
    # The way back in is with MFA
    assert sign_in(tenantry, user, mfa_code=tenantry.totp_now())["AuthenticationResult"]["AccessToken"]


def test_a_user_without_required_mfa_signs_in_with_no_aws_call(tenantry, tenant):
    user = tenantry.active_user(tenant, "ReadOnly")
    result, calls = admin_get_user_calls(tenantry.rt, user, lambda: sign_in(tenantry, user))
    assert calls == 0 and result["AuthenticationResult"]["AccessToken"]


def test_repeated_and_simultaneous_detections_revoke_once(tenantry, outbound, tenant, without_cloudtrail):
    user = tenantry.active_user(tenant, "Member")
    set_up_totp(tenantry, user)
    change_mfa(tenantry, tenant, user, True)
    wait_compliance_end(tenantry, user["userId"], "Compliant")
    access = sign_in(tenantry, user, mfa_code=tenantry.totp_now())["AuthenticationResult"]["AccessToken"]
    tenantry.cognito.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": False})
    # The same detection twice, and two other detections of the same switch-off, all at once
    detections = [f"dup-{user['userId']}", f"dup-{user['userId']}", f"other-a-{user['userId']}", f"other-b-{user['userId']}"]
    names = [f"many-{i}-{user['userId'][:8]}" for i in range(len(detections))]
    for name, detection in zip(names, detections, strict=True):
        tenantry.sfn.start_execution(
            stateMachineArn=tenantry.outputs[COMPLIANCE],
            name=name,
            input=json.dumps({"userId": user["userId"], "detectedBy": "sweep", "detectionId": detection, "cause": "test"}),
        )
    endings = [tenantry.states(tenantry.wait_execution(COMPLIANCE, name)["executionArn"])[-1] for name in names]
    # One run acts; the others see the detection claimed, another run acting, or MFA already restored
    assert endings.count("SessionsRevoked") == 1, endings
    assert set(endings) <= {"SessionsRevoked", "DuplicateDetection", "AnotherRunActing", "AlreadyCompliant", "Compliant"}
    assert mfa_of(tenantry, user) == ("true", True)
    tenantry.rt.wait_settled()
    assert len(outbound.wait_for("SessionsRevoked", userId=user["userId"])) == 1
    assert len(outbound.matching("MfaComplianceViolated", userId=user["userId"])) == 1
    assert tenantry.item(f"COMPLIANCE#{user['userId']}", "LOCK") is None  # released


def test_a_token_refreshed_while_the_sign_out_is_retried_is_refused(tenantry, outbound, tenant, without_cloudtrail):
    # Given a user who must use MFA, signed in (a refresh token in hand), who switched TOTP off
    user, tokens = compliant_member_signed_in(tenantry, tenant)
    tenantry.cognito.set_user_mfa_preference(AccessToken=tokens["AccessToken"], SoftwareTokenMfaSettings={"Enabled": False})
    # and Cognito throttles the sign-out three times, each refusal taking a second
    throttle = tenantry.rt.faults.arm(
        {
            "service": "cognito-idp",
            "operation": "AdminUserGlobalSignOut",
            "error": "TooManyRequestsException",
            "count": 3,
            "delay_seconds": 1.0,
            "match": user["username"],
        }
    )
    # When a compliance run revokes the sessions, and the user refreshes during the third throttled try
    # (2 s or more after RevokeSessions was entered: two whole seconds after its entry)
    name = f"retried-{user['userId'][:8]}"
    tenantry.sfn.start_execution(
        stateMachineArn=tenantry.outputs[COMPLIANCE],
        name=name,
        input=json.dumps({"userId": user["userId"], "detectedBy": "sweep", "detectionId": name, "cause": "test"}),
    )
    deadline = time.monotonic() + 20
    while throttle.fired < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert throttle.fired == 3, "the sign-out was not retried"
    refreshed = tenantry.cognito.get_tokens_from_refresh_token(ClientId=user["clientId"], RefreshToken=tokens["RefreshToken"])[
        "AuthenticationResult"
    ]["AccessToken"]
    # Then, once the run has revoked the sessions, the refreshed token is refused as revoked
    ended = tenantry.wait_execution(COMPLIANCE, name)
    assert tenantry.states(ended["executionArn"])[-1] == "SessionsRevoked"
    with pytest.raises(TokenRejected) as rejected:
        verifier_of(tenantry).verify(refreshed)
    assert rejected.value.reason == "REVOKED"


# ------------------------------------------------------------------------------------- path 2: CloudTrail
def runs_detected_by(tenantry, user_id, detected_by):
    return [r for r in compliance_runs(tenantry, user_id) if json.loads(r["input"])["detectedBy"] == detected_by]


def test_switching_mfa_off_is_caught_from_cloudtrail_without_a_sign_in(tenantry, outbound, tenant):
    user, tokens = compliant_member_signed_in(tenantry, tenant)
    # The user's own SetUserMFAPreference is the detection: no sign-in needed
    tenantry.cognito.set_user_mfa_preference(AccessToken=tokens["AccessToken"], SoftwareTokenMfaSettings={"Enabled": False})
    run = assert_thrown_out(tenantry, outbound, tenant, user, tokens, "cloudtrail")
    assert json.loads(run["input"])["cause"] == "SetUserMFAPreference"
    # Tenantry's own AdminSetUserMFAPreference (RestoreTotp) started no run of its own
    tenantry.rt.wait_settled()
    time.sleep(0.5)
    causes = [json.loads(r["input"])["cause"] for r in runs_detected_by(tenantry, user["userId"], "cloudtrail")]
    assert "SetUserMFAPreference" in causes and "AdminSetUserMFAPreference" not in causes


def test_an_operator_switching_mfa_off_with_iam_credentials_is_caught(tenantry, outbound, tenant):
    user = tenantry.active_user(tenant, "Member")
    set_up_totp(tenantry, user)
    change_mfa(tenantry, tenant, user, True)
    wait_compliance_end(tenantry, user["userId"], "Compliant")
    tenantry.cognito.admin_set_user_mfa_preference(
        UserPoolId=user["userPoolId"], Username=user["username"], SoftwareTokenMfaSettings={"Enabled": False}
    )
    run = wait_compliance_end(tenantry, user["userId"], "SessionsRevoked")
    assert json.loads(run["input"]) | {"detectionId": None} == {
        "userId": user["userId"],
        "detectedBy": "cloudtrail",
        "cause": "AdminSetUserMFAPreference",
        "detectionId": None,
    }
    assert mfa_of(tenantry, user) == ("true", True)


# ------------------------------------------------------------------------------------- path 4: the sweep
def test_the_sweep_checks_recently_active_users_only(tenantry, outbound, tenant, without_cloudtrail):
    from tenantry_local.schedules import fire_all

    # Given two users with required MFA who switched it off: one signed in recently, one never did
    active, dormant = tenantry.active_user(tenant, "Member"), tenantry.active_user(tenant, "Member")
    for user in (active, dormant):
        set_up_totp(tenantry, user)
        change_mfa(tenantry, tenant, user, True)
        wait_compliance_end(tenantry, user["userId"], "Compliant")
    tokens = sign_in(tenantry, active, mfa_code=tenantry.totp_now())["AuthenticationResult"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "lastSignInDay" not in tenantry.item(f"USER#{active['userId']}", "PROFILE"):
        time.sleep(0.1)
    assert "lastSignInDay" in tenantry.item(f"USER#{active['userId']}", "PROFILE")
    tenantry.cognito.set_user_mfa_preference(AccessToken=tokens["AccessToken"], SoftwareTokenMfaSettings={"Enabled": False})
    tenantry.cognito.admin_set_user_mfa_preference(
        UserPoolId=dormant["userPoolId"], Username=dormant["username"], SoftwareTokenMfaSettings={"Enabled": False}
    )
    # Dormant users must stay dormant: set_up_totp signed the second user in too, so forget that sign-in
    tenantry.ddb.update_item(
        TableName=tenantry.outputs["TableName"],
        Key={"PK": {"S": f"USER#{dormant['userId']}"}, "SK": {"S": "PROFILE"}},
        UpdateExpression="REMOVE GSI2PK, GSI2SK, lastSignInDay",
    )
    # When the schedule comes due
    assert fire_all(tenantry.rt.rules) >= 1
    assert_thrown_out(tenantry, outbound, tenant, active, tokens, "sweep")
    sweeps = tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs["MfaSweepStateMachineArn"])["executions"]
    assert sweeps and sweeps[0]["name"].startswith("mfa-sweep-")
    tenantry.wait_execution("MfaSweepStateMachineArn", sweeps[0]["name"], timeout=60)
    # Then the active user was caught, the dormant one never looked at
    assert [r for r in compliance_runs(tenantry, dormant["userId"]) if json.loads(r["input"])["detectedBy"] == "sweep"] == []
    assert mfa_of(tenantry, dormant) == ("true", False)


# ------------------------------------------------------------------------------------- path 3: the change itself
def test_a_switch_off_racing_a_requirement_change_is_caught_by_the_change_check(tenantry, outbound, tenant, without_cloudtrail):
    user = tenantry.active_user(tenant, "Member")
    set_up_totp(tenantry, user)
    tokens = sign_in(tenantry, user, mfa_code=tenantry.totp_now())["AuthenticationResult"]
    # The change commits while the stream consumer lags; meanwhile the user switches their TOTP off
    tenantry.rt.streams.pause()
    try:
        _, execution = change_mfa(tenantry, tenant, user, True)
        assert execution["status"] == "SUCCEEDED" and mfa_of(tenantry, user) == ("true", True)
        tenantry.cognito.set_user_mfa_preference(AccessToken=tokens["AccessToken"], SoftwareTokenMfaSettings={"Enabled": False})
    finally:
        tenantry.rt.streams.resume()
    # The check the change starts finds the violation
    assert_thrown_out(tenantry, outbound, tenant, user, tokens, "requirement-change")
