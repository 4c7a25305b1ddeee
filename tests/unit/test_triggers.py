"""Cognito trigger logic on Cognito-shaped events."""

from __future__ import annotations

import pytest

from tenantry.triggers import SignUpRefused, add_token_claims, check_sign_up


def token_event(pool="us-east-1_shared", groups=("Member", "Admin")):
    return {
        "version": "2",
        "triggerSource": "TokenGeneration_Authentication",
        "userPoolId": pool,
        "userName": "u",
        "request": {
            "userAttributes": {"sub": "s", "custom:tenant_id": "tnt-1"},
            "groupConfiguration": {"groupsToOverride": list(groups)},
        },
        "response": {},
    }


def test_token_claims_carry_tenant_highest_role_and_isolation():
    answer = add_token_claims(token_event(), "us-east-1_shared")
    details = answer["response"]["claimsAndScopeOverrideDetails"]
    expected = {"tenant_id": "tnt-1", "role": "Admin", "isolation": "shared"}
    assert details["idTokenGeneration"]["claimsToAddOrOverride"] == expected
    assert details["accessTokenGeneration"]["claimsToAddOrOverride"] == expected
    dedicated = add_token_claims(token_event(pool="us-east-1_other", groups=()), "us-east-1_shared")
    claims = dedicated["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"]["claimsToAddOrOverride"]
    assert claims == {"tenant_id": "tnt-1", "isolation": "dedicated"}


def sign_up_event(source, tenant="tnt-1"):
    attributes = {"email": "a@b.example"} | ({"custom:tenant_id": tenant} if tenant else {})
    return {"triggerSource": source, "request": {"userAttributes": attributes}, "response": {}}


def test_self_sign_up_is_refused_without_a_lookup():
    looked_up = []
    with pytest.raises(SignUpRefused, match="Self sign-up"):
        check_sign_up(sign_up_event("PreSignUp_SignUp"), looked_up.append)
    assert looked_up == []


@pytest.mark.parametrize(
    ("status", "allowed"), [("ACTIVE", True), ("ONBOARDING", True), ("OFFBOARDED", False), ("FAILED", False), (None, False)]
)
def test_admin_created_users_need_a_live_tenant(status, allowed):
    event = sign_up_event("PreSignUp_AdminCreateUser")
    if allowed:
        assert check_sign_up(event, lambda tenant_id: status) is event
    else:
        with pytest.raises(SignUpRefused, match="tnt-1"):
            check_sign_up(event, lambda tenant_id: status)


def test_a_user_without_tenant_is_refused():
    with pytest.raises(SignUpRefused, match="custom:tenant_id"):
        check_sign_up(sign_up_event("PreSignUp_AdminCreateUser", tenant=None), lambda t: "ACTIVE")
