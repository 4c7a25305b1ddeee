"""TenantOffboarding, executed for real on the local runtime."""

from __future__ import annotations

import base64
import json

import pytest

from helpers import onboarding_request, registration_request
from tenantry import schemas

ONBOARDING = "TenantOnboardingStateMachineArn"
OFFBOARDING = "TenantOffboardingStateMachineArn"
REGISTRATION = "UserRegistrationStateMachineArn"


def onboarded_tenant(tenantry, isolation):
    request_id = tenantry.request_id("on")
    tenantry.post("TenantOnboardingRequested", onboarding_request(request_id, isolation))
    assert tenantry.wait_execution(ONBOARDING, f"onboard-{request_id}")["status"] == "SUCCEEDED"
    [tenant] = tenantry.tenants_for_request(request_id)
    return tenant


def offboard(tenantry, tenant_id):
    request_id = tenantry.request_id("off")
    tenantry.post("TenantOffboardingRequested", {"requestId": request_id, "tenantId": tenant_id})
    return request_id, tenantry.wait_execution(OFFBOARDING, f"offboard-{request_id}")


def sign_in_admin(tenantry, tenant):
    pool, client = tenant["userPoolId"], tenant["appClientId"]
    username = tenantry.users_of_pool(pool)
    username = next(u["Username"] for u in username if u["Username"].endswith(tenant["adminEmail"]))
    tenantry.cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password="Correct-Horse-9", Permanent=True)
    auth = tenantry.cognito.initiate_auth(
        ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": "Correct-Horse-9"}
    )
    return auth["AuthenticationResult"]


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.mark.parametrize("isolation", ["shared", "dedicated"])
def test_offboarding_disables_revokes_removes_and_keeps_the_record(tenantry, outbound, isolation):
    # Given an onboarded tenant whose admin is signed in
    tenant = onboarded_tenant(tenantry, isolation)
    tokens = sign_in_admin(tenantry, tenant)
    assert claims(tokens["IdToken"])["tenant_id"] == tenant["tenantId"]
    assert claims(tokens["AccessToken"])["isolation"] == isolation
    if isolation == "dedicated":  # its pool is protected from deletion: only offboarding lifts that
        with pytest.raises(tenantry.cognito.exceptions.InvalidParameterException, match="deletion protection"):
            tenantry.cognito.delete_user_pool(UserPoolId=tenant["userPoolId"])
    # When the tenant is offboarded
    request_id, execution = offboard(tenantry, tenant["tenantId"])
    # Then the workflow disabled and signed out its users, removed them, and marked the tenant
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    states = tenantry.states(execution["executionArn"])
    assert {"DisableUser", "RevokeUserSessions", "MarkTenantOffboarded"} <= set(states)
    assert ("DeleteUserPool" in states) == ("LiftDeletionProtection" in states) == (isolation == "dedicated")
    assert ("DeleteTenantUsers" in states) == (isolation == "shared")
    # the refresh token no longer works (in a deleted pool, the client itself is gone)
    refused = tenantry.cognito.exceptions.NotAuthorizedException
    if isolation == "dedicated":
        refused = (refused, tenantry.cognito.exceptions.ResourceNotFoundException)
    with pytest.raises(refused):
        tenantry.cognito.get_tokens_from_refresh_token(ClientId=tenant["appClientId"], RefreshToken=tokens["RefreshToken"])
    if isolation == "dedicated":
        assert tenantry.pools_named(f"tenantry-{tenant['tenantId']}") == []
    else:
        assert tenantry.shared_users_of(tenant["tenantId"]) == []
    record = tenantry.item(f"TENANT#{tenant['tenantId']}", "TENANT")
    assert record["status"] == "OFFBOARDED" and record["offboardingRequestId"] == request_id
    [event] = outbound.wait_for("TenantOffboarded", tenantId=tenant["tenantId"])
    assert event["detail"]["requestId"] == request_id
    schemas.check("TenantOffboarded", event["detail"])


def test_offboarding_removes_a_shared_pool_user_whose_profile_was_never_written(tenantry, outbound):
    # Given a shared-pool tenant with a user Cognito holds but no profile names (its write still retrying),
    # and another tenant in the same pool
    tenant, neighbour = onboarded_tenant(tenantry, "shared"), onboarded_tenant(tenantry, "shared")
    ghost = f"{tenant['tenantId']}/ghost@example.com"
    tenantry.cognito.admin_create_user(
        UserPoolId=tenant["userPoolId"],
        Username=ghost,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": "ghost@example.com"},
            {"Name": "custom:tenant_id", "Value": tenant["tenantId"]},
        ],
    )
    assert tenantry.profiles_of(tenant["tenantId"]) and ghost in {
        u["Username"] for u in tenantry.shared_users_of(tenant["tenantId"])
    }
    # When the tenant is offboarded
    _, execution = offboard(tenantry, tenant["tenantId"])
    # Then every user Cognito held for it is gone, that one too, and the other tenant's users are not
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert tenantry.shared_users_of(tenant["tenantId"]) == []
    assert tenantry.shared_users_of(neighbour["tenantId"])


def test_offboarding_stops_registrations_waiting_for_activation(tenantry, outbound):
    # Given a registration waiting for its user to use the emailed code
    tenant = onboarded_tenant(tenantry, "dedicated")
    request_id = tenantry.register(registration_request(tenantry.request_id("pending"), tenant["tenantId"]))
    assert tenantry.wait_execution_state(REGISTRATION, f"register-{request_id}")["state"] == "IssueActivationCodeAndWait"
    [registered] = outbound.wait_for("UserRegistered", requestId=request_id)
    user_id = registered["detail"]["userId"]
    [issued] = outbound.wait_for("UserActivationCodeIssued", userId=user_id)
    # When the tenant is offboarded
    _, execution = offboard(tenantry, tenant["tenantId"])
    # Then the registration was stopped, saying why
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert "StopRegistration" in tenantry.states(execution["executionArn"])
    stopped = tenantry.sfn.describe_execution(executionArn=tenantry.execution_arn(REGISTRATION, f"register-{request_id}"))
    assert stopped["status"] == "ABORTED"
    # and the code, used now, activates nobody
    late = tenantry.request_id("late")
    tenantry.post("UserActivationRequested", {"requestId": late, "code": issued["detail"]["code"]})
    [failed] = outbound.wait_for("UserActivationFailed", requestId=late)
    assert failed["detail"]["reason"] == "CODE_EXPIRED"
    assert outbound.matching("UserActivated", userId=user_id) == []


def test_offboarding_twice_changes_nothing_the_second_time(tenantry, outbound):
    tenant = onboarded_tenant(tenantry, "shared")
    assert offboard(tenantry, tenant["tenantId"])[1]["status"] == "SUCCEEDED"
    assert outbound.wait_for("TenantOffboarded", tenantId=tenant["tenantId"])
    _, again = offboard(tenantry, tenant["tenantId"])
    assert again["status"] == "SUCCEEDED"
    assert tenantry.states(again["executionArn"])[-1] == "AlreadyOffboarded"
    assert len(outbound.matching("TenantOffboarded", tenantId=tenant["tenantId"])) == 1


def test_offboarding_an_unknown_tenant_is_rejected_with_the_field(tenantry, outbound):
    request_id, execution = offboard(tenantry, "tnt-does-not-exist")
    assert execution["status"] == "FAILED"
    [event] = outbound.wait_for("TenantOffboardingFailed", requestId=request_id)
    assert event["detail"]["reason"] == "TENANT_NOT_FOUND" and event["detail"]["field"] == "tenantId"
    schemas.check("TenantOffboardingFailed", event["detail"])


def test_offboarding_request_without_tenant_id_is_rejected(tenantry, outbound):
    request_id = tenantry.request_id("off")
    tenantry.post("TenantOffboardingRequested", {"requestId": request_id})
    execution = tenantry.wait_execution(OFFBOARDING, f"offboard-{request_id}")
    assert execution["status"] == "FAILED"
    [event] = outbound.wait_for("TenantOffboardingFailed", requestId=request_id)
    assert (event["detail"]["reason"], event["detail"]["field"]) == ("MISSING_FIELD", "tenantId")
