"""The Identity API's authorizer (AuthorizerFunction), invoked through the local runtime's Lambda with API
Gateway's payload 2.0 authorizer events, against real tokens of the runtime's Cognito."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from helpers import sign_in_after_revocation


@pytest.fixture(scope="module")
def tenants(tenantry):
    return {isolation: tenantry.onboarded(isolation) for isolation in ("shared", "dedicated")}


@pytest.fixture(scope="module")
def users(tenantry, tenants):
    return {isolation: tenantry.active_user(tenant, "SuperUser") for isolation, tenant in tenants.items()}


def authorizer_event(authorization=None):
    """What API Gateway sends a payload 2.0 request authorizer for `GET /me`."""
    headers = {"host": "api.example.com", "user-agent": "pytest"}
    if authorization is not None:
        headers["authorization"] = authorization
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api-id/$default/GET/me",
        "identitySource": [authorization] if authorization is not None else [],
        "routeKey": "GET /me",
        "rawPath": "/me",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "api.example.com",
            "http": {"method": "GET", "path": "/me", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "pytest"},
            "requestId": "req-1",
            "routeKey": "GET /me",
            "stage": "$default",
            "time": "23/Nov/2026:18:00:00 +0000",
            "timeEpoch": 1795456800000,
        },
    }


def authorize(runtime, authorization=None):
    name = runtime.provisioned.attributes["AuthorizerFunction"]["Ref"]
    response = runtime.client("lambda").invoke(FunctionName=name, Payload=json.dumps(authorizer_event(authorization)))
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


@pytest.mark.parametrize("isolation", ["shared", "dedicated"])
def test_a_fresh_access_token_is_authorized_with_the_verified_caller(runtime, tenantry, tenants, users, isolation):
    user = users[isolation]
    answer = authorize(runtime, f"Bearer {tenantry.tokens(user)['AccessToken']}")
    assert answer == {
        "isAuthorized": True,
        "context": {
            "kind": "user",
            "tenantId": tenants[isolation]["tenantId"],
            "userId": user["userId"],
            "role": "SuperUser",
            "username": user["username"],
            "isolation": isolation,
            "mfaSetupOnly": False,
        },
    }


def refusal(answer):
    """The reason an authorizer answer carries for a request it could not verify (None when it verified it).
    It always allows: the API function answers 401 with the reason, in the API's error shape."""
    assert answer["isAuthorized"] is True
    return answer["context"].get("refused")


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30."],
)
def test_no_or_a_malformed_token_is_not_authorized(runtime, authorization):
    # (an unsigned token names no issuer: its pool cannot be one of a tenant's)
    reasons = {"NO_CREDENTIALS", "MALFORMED_AUTHORIZATION", "TOKEN_MALFORMED", "TOKEN_UNKNOWN_ISSUER"}
    assert refusal(authorize(runtime, authorization)) in reasons


def test_an_id_token_is_not_an_access_token(runtime, tenantry, users):
    assert refusal(authorize(runtime, f"Bearer {tenantry.tokens(users['dedicated'])['IdToken']}")) == "TOKEN_WRONG_TOKEN_USE"


def test_a_token_of_a_pool_not_registered_for_a_tenant_is_not_authorized(runtime, tenantry):
    token = tenantry.stranger_token()
    assert refusal(authorize(runtime, f"Bearer {token}")) == "TOKEN_UNKNOWN_ISSUER"


def test_a_revoked_session_is_refused_on_its_next_request(runtime, tenantry, tenants, users):
    user = users["dedicated"]
    token = tenantry.tokens(user)["AccessToken"]
    assert authorize(runtime, f"Bearer {token}")["isAuthorized"] is True
    # What the compliance workflow does on a violation: global sign-out, then the revocation time
    time.sleep(1.05)  # tokens carry whole seconds: revoke in a later second than the sign-in
    tenantry.cognito.admin_user_global_sign_out(UserPoolId=tenants["dedicated"]["userPoolId"], Username=user["username"])
    revoked_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    tenantry.ddb.update_item(
        TableName=tenantry.outputs["TableName"],
        Key={"PK": {"S": f"USER#{user['userId']}"}, "SK": {"S": "PROFILE"}},
        UpdateExpression="SET sessionsRevokedAt = :t",
        ExpressionAttributeValues={":t": {"S": revoked_at}},
    )
    assert refusal(authorize(runtime, f"Bearer {token}")) == "TOKEN_REVOKED"
    sign_in_after_revocation(revoked_at)
    assert authorize(runtime, f"Bearer {tenantry.tokens(user)['AccessToken']}")["isAuthorized"] is True


def test_the_authorizer_never_logs_a_token(runtime, tenantry, users):
    token = tenantry.tokens(users["shared"])["AccessToken"]
    authorize(runtime, f"Bearer {token}")
    authorize(runtime, f"Bearer {token}x")
    logs = "".join(p.read_text(errors="replace") for p in runtime.log_dir.rglob("*AuthorizerFunction*") if p.is_file())
    assert '"message":"request not authorized"' in logs  # refusals are logged, with their reason only
    assert token.split(".")[1] not in logs and token.split(".")[2] not in logs
