"""TokenVerifier against real tokens from the local runtime's Cognito, its JWKS and the Tenantry table."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from helpers import onboarding_request, sign_in_after_revocation
from tenantry.token_lookups import registrations_from_table, revocations_from_table
from tenantry.tokens import TokenRejected, TokenVerifier


@pytest.fixture(scope="module")
def signed_in(tenantry):
    request_id = tenantry.request_id("tok")
    tenantry.post("TenantOnboardingRequested", onboarding_request(request_id, "dedicated"))
    assert tenantry.wait_execution("TenantOnboardingStateMachineArn", f"onboard-{request_id}")["status"] == "SUCCEEDED"
    [tenant] = tenantry.tenants_for_request(request_id)
    username = tenant["adminEmail"]
    tenantry.cognito.admin_set_user_password(
        UserPoolId=tenant["userPoolId"], Username=username, Password="Correct-Horse-9", Permanent=True
    )
    return tenant, username


def sign_in(tenantry, tenant, username):
    return tenantry.cognito.initiate_auth(
        ClientId=tenant["appClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": "Correct-Horse-9"},
    )["AuthenticationResult"]


def verifier(tenantry):
    table, ddb = tenantry.outputs["TableName"], tenantry.ddb
    return TokenVerifier(
        "us-east-1",
        registrations_from_table(table, ddb),
        revocations_from_table(table, ddb),
        jwks_url=lambda pool: f"{tenantry.rt.endpoint}/{pool}/.well-known/jwks.json",
    )


def test_tokens_of_a_registered_pool_verify(tenantry, signed_in):
    tenant, username = signed_in
    tokens = sign_in(tenantry, tenant, username)
    check = verifier(tenantry)
    assert check.verify(tokens["AccessToken"])["tenant_id"] == tenant["tenantId"]
    assert check.verify(tokens["IdToken"], token_use="id")["aud"] == tenant["appClientId"]
    with pytest.raises(TokenRejected, match="expected an access token"):
        check.verify(tokens["IdToken"])


def test_revoked_sessions_are_refused_at_once_by_cognito_and_by_the_verifier(tenantry, signed_in):
    tenant, username = signed_in
    tokens = sign_in(tenantry, tenant, username)
    check = verifier(tenantry)
    user_id = check.verify(tokens["AccessToken"])["sub"]
    # What the compliance workflow does on a violation: global sign-out, then the revocation time
    time.sleep(1.05)  # tokens carry whole seconds: revoke in a later second than the sign-in
    tenantry.cognito.admin_user_global_sign_out(UserPoolId=tenant["userPoolId"], Username=username)
    revoked_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    tenantry.ddb.update_item(
        TableName=tenantry.outputs["TableName"],
        Key={"PK": {"S": f"USER#{user_id}"}, "SK": {"S": "PROFILE"}},
        UpdateExpression="SET sessionsRevokedAt = :t",
        ExpressionAttributeValues={":t": {"S": revoked_at}},
    )
    with pytest.raises(TokenRejected) as refused:
        check.verify(tokens["AccessToken"])
    assert refused.value.reason == "REVOKED"
    with pytest.raises(tenantry.cognito.exceptions.NotAuthorizedException):
        tenantry.cognito.get_user(AccessToken=tokens["AccessToken"])
    with pytest.raises(tenantry.cognito.exceptions.NotAuthorizedException):
        tenantry.cognito.get_tokens_from_refresh_token(ClientId=tenant["appClientId"], RefreshToken=tokens["RefreshToken"])
    # A revocation refuses every token up to the whole second after it (rounded up, for clocks that differ):
    # a sign-in after that second is honoured
    sign_in_after_revocation(revoked_at)
    assert check.verify(sign_in(tenantry, tenant, username)["AccessToken"])["sub"] == user_id


def test_tokens_of_an_offboarded_tenant_stop_verifying(tenantry, signed_in):
    tenant, username = signed_in
    token = sign_in(tenantry, tenant, username)["AccessToken"]
    request_id = tenantry.request_id("tok-off")
    tenantry.post("TenantOffboardingRequested", {"requestId": request_id, "tenantId": tenant["tenantId"]})
    assert tenantry.wait_execution("TenantOffboardingStateMachineArn", f"offboard-{request_id}")["status"] == "SUCCEEDED"
    with pytest.raises(TokenRejected) as refused:
        verifier(tenantry).verify(token)
    assert refused.value.reason == "UNKNOWN_ISSUER"
