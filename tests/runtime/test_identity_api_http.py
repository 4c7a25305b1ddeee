"""The Identity API over HTTP on the local runtime, at the stack output `ApiUrl`: API Gateway (HTTP API,
payload 2.0) with the uncached authorizer in front of IdentityApiFunction."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import requests

from helpers import ROOT


@pytest.fixture(scope="module")
def user(tenantry, tenant):
    return tenantry.active_user(tenant, "Member")


def test_me_answers_the_signed_in_users_profile(tenantry, api, tenant, user):
    answer = requests.get(f"{api}/me", headers=tenantry.bearer(user), timeout=10)
    assert answer.status_code == 200, answer.text
    profile = answer.json()
    assert (profile["userId"], profile["tenantId"], profile["username"]) == (user["userId"], tenant["tenantId"], user["username"])
    assert (profile["role"], profile["status"]) == ("Member", "ACTIVE")
    assert "PK" not in profile and "GSI1PK" not in profile and "sessionsRevokedAt" not in profile


def refused(response):
    """(status, error code) of an answer in the API's error shape."""
    return response.status_code, response.json()["error"]["code"]


def test_me_without_a_valid_token_is_401_with_the_reason_before_any_route(tenantry, api):
    assert refused(requests.get(f"{api}/me", timeout=10)) == (401, "NO_CREDENTIALS")
    malformed = requests.get(f"{api}/me", headers={"Authorization": "Bearer not-a-jwt"}, timeout=10)
    assert refused(malformed) == (401, "TOKEN_MALFORMED")
    assert refused(requests.get(f"{api}/me", headers={"Authorization": "Basic eDp5"}, timeout=10)) == (
        401,
        "MALFORMED_AUTHORIZATION",
    )


def test_a_revoked_session_gets_refused_on_its_next_request(tenantry, api, tenant, user):
    headers = tenantry.bearer(user)
    assert requests.get(f"{api}/me", headers=headers, timeout=10).status_code == 200
    time.sleep(1.05)  # tokens carry whole seconds: revoke in a later second than the sign-in
    tenantry.cognito.admin_user_global_sign_out(UserPoolId=tenant["userPoolId"], Username=user["username"])
    tenantry.ddb.update_item(
        TableName=tenantry.outputs["TableName"],
        Key={"PK": {"S": f"USER#{user['userId']}"}, "SK": {"S": "PROFILE"}},
        UpdateExpression="SET sessionsRevokedAt = :t",
        ExpressionAttributeValues={":t": {"S": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}},
    )
    assert refused(requests.get(f"{api}/me", headers=headers, timeout=10)) == (401, "TOKEN_REVOKED")


def test_openapi_json_is_public_and_the_checked_in_document(api):
    answer = requests.get(f"{api}/openapi.json", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == json.loads((ROOT / "docs" / "openapi.json").read_text())


def test_cors_preflight_allows_the_configured_origin_and_headers(api):
    answer = requests.options(
        f"{api}/me",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization,idempotency-key",
        },
        timeout=10,
    )
    assert answer.status_code in (200, 204)
    assert answer.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    allowed = {h.strip().lower() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "idempotency-key"} <= allowed
