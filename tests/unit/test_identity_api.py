"""The Identity API's resolver (tenantry.api.app) called with API Gateway payload 2.0 events, as the HTTP API
hands them to IdentityApiFunction after the authorizer: no network, the profiles are a dict."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ConfigDict

from helpers import ROOT, api_event
from tenantry.api.app import Dependencies, build_resolver
from tenantry.api.caller import caller_context
from tenantry.api_keys import ApiKeyStore

TENANT_A, TENANT_B = "t-acme", "t-globex"
NO_KEYS = lambda: ApiKeyStore("unused", None)  # noqa: E731 - /me never reaches the key store
PROFILES = {
    "user-a": {
        "entity": "User",
        "PK": "USER#user-a",
        "SK": "PROFILE",
        "GSI1PK": f"TENANT#{TENANT_A}",
        "userId": "user-a",
        "tenantId": TENANT_A,
        "username": f"{TENANT_A}/ada@acme.example",
        "email": "ada@acme.example",
        "name": "Ada",
        "handle": "@Ada",
        "role": "Admin",
        "status": "ACTIVE",
        "mfaRequired": False,
        "badges": ["NEW_MEMBER"],
        "data": {"theme": "dark"},
        "createdAt": "2026-11-23T10:00:00.000Z",
    },
    "user-b": {
        "userId": "user-b",
        "tenantId": TENANT_B,
        "username": "bob@globex.example",
        "email": "bob@globex.example",
        "role": "Member",
        "status": "ACTIVE",
    },
}


def claims(user_id, tenant_id, role="Admin"):
    return {"sub": user_id, "tenant_id": tenant_id, "role": role, "username": "someone", "isolation": "shared"}


def http_event(method, path, authorizer_context=None, headers=None, query=""):
    return api_event(method, path, authorizer_context, headers=headers, query=query)


@pytest.fixture
def api():
    app = build_resolver(Dependencies(profiles=PROFILES.get, api_keys=NO_KEYS))

    def call(method, path, authorizer_context=None, **kwargs):
        response = app.resolve(http_event(method, path, authorizer_context, **kwargs), None)
        body = response.get("body")
        return response["statusCode"], (json.loads(body) if body else None), response

    return call


def assert_error_shape(body, code):
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_me_is_the_callers_own_profile(api):
    # Given a caller verified by the authorizer, When they GET /me
    status, body, response = api("GET", "/me", caller_context(claims("user-a", TENANT_A)))
    # Then their profile, typed: no key, index or data blob leaks out
    assert status == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert body == {
        "userId": "user-a",
        "tenantId": TENANT_A,
        "username": f"{TENANT_A}/ada@acme.example",
        "email": "ada@acme.example",
        "name": "Ada",
        "handle": "@Ada",
        "role": "Admin",
        "status": "ACTIVE",
        "mfaRequired": False,
        "mfaState": None,
        "badges": ["NEW_MEMBER"],
        "createdAt": "2026-11-23T10:00:00.000Z",
        "activatedAt": None,
        "lastSignInAt": None,
        "avatarUrl": None,
        "data": {"theme": "dark"},
        "dataEtag": '"v0"',
    }


def test_a_profile_of_another_tenant_answers_404_as_a_missing_one(api):
    # Given a context whose user id is another tenant's user
    status, body, _ = api("GET", "/me", caller_context(claims("user-b", TENANT_A)))
    assert status == 404
    assert_error_shape(body, "NOT_FOUND")
    missing_status, missing_body, _ = api("GET", "/me", caller_context(claims("nobody", TENANT_A)))
    assert (missing_status, missing_body) == (status, body)


def test_the_tenant_comes_from_the_authorizer_context_only(api):
    # A tenant id in a header or the query string never selects the tenant
    status, _, _ = api(
        "GET", "/me", caller_context(claims("user-b", TENANT_A)), headers={"x-tenant-id": TENANT_B}, query=f"tenantId={TENANT_B}"
    )
    assert status == 404


@pytest.mark.parametrize("context", [None, {}, {"tenantId": TENANT_A}, {"userId": "user-a"}])
def test_without_a_verified_caller_me_answers_401_in_the_error_shape(api, context):
    status, body, _ = api("GET", "/me", context)
    assert status == 401
    assert_error_shape(body, "UNAUTHENTICATED")


def test_an_unknown_route_answers_404_in_the_error_shape(api):
    status, body, _ = api("GET", "/nowhere", caller_context(claims("user-a", TENANT_A)))
    assert status == 404
    assert_error_shape(body, "NOT_FOUND")


def test_an_unexpected_failure_answers_500_in_the_error_shape():
    def broken(user_id):
        raise RuntimeError("table unavailable")

    app = build_resolver(Dependencies(profiles=broken, api_keys=NO_KEYS))
    response = app.resolve(http_event("GET", "/me", caller_context(claims("user-a", TENANT_A))), None)
    assert response["statusCode"] == 500
    assert_error_shape(json.loads(response["body"]), "INTERNAL")
    assert "table unavailable" not in response["body"]


def test_openapi_json_is_the_checked_in_document(api):
    status, body, response = api("GET", "/openapi.json")
    assert status == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert body == json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert "/me" in body["paths"]


class Change(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str
    limit: int


@pytest.fixture
def validating_api():
    """A resolver with the Identity API's error handlers and routes that take input (the routes to come)."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    from tenantry.api.errors import install_error_handlers

    app = APIGatewayHttpResolver(enable_validation=True)
    install_error_handlers(app)

    @app.post("/changes")
    def change(body: Change) -> dict[str, str]:
        return {"role": body.role}

    def call(body, content_type="application/json"):
        event = http_event("POST", "/changes", headers={"content-type": content_type})
        event["body"] = body
        response = app.resolve(event, None)
        return response["statusCode"], json.loads(response["body"])

    return call


def test_an_invalid_body_answers_400_naming_the_field(validating_api):
    status, body = validating_api(json.dumps({"role": "Admin", "limit": "many"}))
    assert status == 400
    assert_error_shape(body, "INVALID_REQUEST")
    assert body["error"]["field"] == "limit"
    status, body = validating_api(json.dumps({"role": "Admin", "limit": 1, "tenantId": "t-other"}))
    assert (status, body["error"]["field"]) == (400, "tenantId")


def test_a_body_that_is_not_json_answers_400_in_the_error_shape(validating_api):
    status, body = validating_api("{not json")
    assert status == 400
    assert_error_shape(body, "INVALID_REQUEST")


def test_a_body_of_another_content_type_answers_415_in_the_error_shape(validating_api):
    status, body = validating_api("<change/>", content_type="application/xml")
    assert status == 415
    assert_error_shape(body, "UNSUPPORTED_MEDIA_TYPE")
