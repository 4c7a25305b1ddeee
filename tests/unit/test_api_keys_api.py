"""API keys through the Identity API without the network: the authorizer's key path (a fake store), the
caller it hands on, `require`, and the /api-keys routes and the 429 check on the resolver with a key store
on moto in-process."""

from __future__ import annotations

import json

import pytest

from helpers import UNIT_TABLE as TABLE
from helpers import api_event
from tenantry.api.app import Dependencies, build_resolver
from tenantry.api.authorizer import authorize
from tenantry.api.caller import caller_context, caller_from_context, key_context
from tenantry.api.errors import ApiError
from tenantry.api.route_caller import require
from tenantry.api_keys import ApiKeyStore, RefusedKey, VerifiedKey

TENANT_A, TENANT_B = "t-acme", "t-globex"
KEY = VerifiedKey("0123456789abcdef", TENANT_A, ["users:read", "users:write"], 3)


def no_token(token):
    raise AssertionError("a key request must never reach the token verifier")


class FakeKeys:
    def __init__(self, answer, allowed=True):
        self.answer, self.allowed, self.presented, self.taken = answer, allowed, [], []

    def verify(self, presented):
        self.presented.append(presented)
        return self.answer

    def take_request(self, key):
        self.taken.append(key)
        return self.allowed


def key_request(key="tk_0123456789abcdef_secret", **headers):
    return {"version": "2.0", "type": "REQUEST", "headers": {"x-api-key": key, **headers}, "requestContext": {}}


# ------------------------------------------------------------------------------------- the authorizer
def test_a_verified_key_is_authorized_with_its_tenant_and_scopes_and_no_user():
    keys = FakeKeys(KEY)
    answer = authorize(key_request(), no_token, key_checks=lambda: keys)
    assert answer == {
        "isAuthorized": True,
        "context": {
            "kind": "key",
            "tenantId": TENANT_A,
            "keyId": KEY.keyId,
            "scopes": "users:read,users:write",
            "rateLimited": False,
        },
    }
    assert keys.taken == [KEY]  # the request was counted


def refused_with(reason):
    """What the authorizer answers for a request it cannot verify: on to the API function, which answers 401
    with the reason before any route runs (an authorizer's own denial would be API Gateway's bare 403)."""
    return {"isAuthorized": True, "context": {"refused": reason}}


def test_a_key_past_its_limit_is_let_through_marked_rate_limited():
    answer = authorize(key_request(), no_token, key_checks=lambda: FakeKeys(KEY, allowed=False))
    assert answer["isAuthorized"] is True and answer["context"]["rateLimited"] is True


@pytest.mark.parametrize("reason", ["MALFORMED", "UNKNOWN", "REVOKED", "EXPIRED"])
def test_a_refused_key_is_not_authorized_and_not_counted(reason):
    keys, refusals = FakeKeys(RefusedKey(reason)), []
    assert authorize(key_request(), no_token, refusals.append, lambda: keys) == refused_with(f"KEY_{reason}")
    assert (keys.taken, refusals) == ([], [f"KEY_{reason}"])


def test_a_key_and_a_token_together_are_refused_and_nothing_logs_the_key():
    keys, refusals = FakeKeys(KEY), []
    answer = authorize(key_request(authorization="Bearer x"), no_token, refusals.append, lambda: keys)
    assert answer == refused_with("KEY_AND_TOKEN")
    assert keys.presented == [] and refusals == ["KEY_AND_TOKEN"]


def test_a_bearer_callers_context_says_user():
    assert caller_context({"sub": "u-1", "tenant_id": TENANT_A})["kind"] == "user"


# ------------------------------------------------------------------------------------- the caller and require
def test_a_key_context_reads_back_as_a_key_caller():
    caller = caller_from_context(key_context(KEY, rate_limited=False))
    assert caller is not None
    assert (caller.kind, caller.tenant_id, caller.key_id, caller.user_id, caller.role) == ("key", TENANT_A, KEY.keyId, "", "")
    assert caller.scopes == {"users:read", "users:write"} and caller.rate_limited is False
    assert caller_from_context(key_context(KEY, rate_limited=True)).rate_limited is True  # type: ignore[union-attr]


def test_require_lets_a_key_in_only_within_its_scopes_and_a_user_only_within_the_roles():
    key = caller_from_context(key_context(KEY, rate_limited=False))
    admin = caller_from_context(caller_context({"sub": "u-1", "tenant_id": TENANT_A, "role": "Admin"}))
    member = caller_from_context(caller_context({"sub": "u-2", "tenant_id": TENANT_A, "role": "Member"}))
    setup_only = caller_from_context(
        caller_context({"sub": "u-3", "tenant_id": TENANT_A, "role": "Admin", "mfa_setup_only": "true"})
    )
    assert require(key, roles=("Admin",), scope="users:read") is key
    assert require(admin, roles=("Admin",), scope="users:read") is admin
    for caller, roles, scope in [
        (key, ("Admin",), "badges:write"),  # outside the key's scopes
        (key, ("Admin",), None),  # no scope opens the route to keys
        (member, ("Admin",), "users:read"),  # a scope never opens a route to a user
        (setup_only, ("Admin",), None),
    ]:
        with pytest.raises(ApiError) as refused:
            require(caller, roles=roles, scope=scope)
        assert (refused.value.status, refused.value.code) == (403, "FORBIDDEN")


# ------------------------------------------------------------------------------------- the routes
@pytest.fixture
def store(ddb):
    return ApiKeyStore(TABLE, ddb)


@pytest.fixture
def api(store):
    app = build_resolver(Dependencies(profiles=lambda user_id: None, api_keys=lambda: store))

    def call(method, path, context, body=None):
        event = api_event(method, path, context, body=body)
        response = app.resolve(event, None)
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else None

    return call


def admin_of(tenant):
    return caller_context({"sub": f"admin-of-{tenant}", "tenant_id": tenant, "role": "Admin"})


NEW_KEY = {"name": "CRM sync", "scopes": ["users:read"], "expiresInDays": 30}


def test_an_admin_creates_lists_and_revokes_a_key_of_their_tenant(api, store):
    status, created = api("POST", "/api-keys", admin_of(TENANT_A), NEW_KEY)
    assert status == 201, created
    record = created["apiKey"]
    assert created["key"].startswith(f"tk_{record['keyId']}_")
    assert (record["tenantId"], record["createdBy"], record["scopes"]) == (TENANT_A, f"admin-of-{TENANT_A}", ["users:read"])
    status, listed = api("GET", "/api-keys", admin_of(TENANT_A))
    assert status == 200 and [k["keyId"] for k in listed["items"]] == [record["keyId"]]
    assert created["key"].split("_", 2)[2] not in json.dumps(listed) and "secretHash" not in json.dumps(listed)
    assert api("GET", "/api-keys", admin_of(TENANT_B)) == (200, {"items": []})
    assert api("DELETE", f"/api-keys/{record['keyId']}", admin_of(TENANT_B))[0] == 404  # another tenant's key
    assert isinstance(store.verify(created["key"]), VerifiedKey)
    assert api("DELETE", f"/api-keys/{record['keyId']}", admin_of(TENANT_A)) == (204, None)
    assert store.verify(created["key"]) == RefusedKey("REVOKED")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_KEY, "name": ""}, "name"),
        ({**NEW_KEY, "name": 7}, "name"),
        ({**NEW_KEY, "scopes": ["users:admin"]}, "scopes"),
        ({**NEW_KEY, "scopes": []}, "scopes"),
        ({**NEW_KEY, "expiresInDays": 0}, "expiresInDays"),
        ({**NEW_KEY, "expiresInDays": "30"}, "expiresInDays"),
        ({**NEW_KEY, "tenantId": TENANT_B}, "tenantId"),
    ],
)
def test_a_bad_body_answers_400_naming_the_field_and_writes_nothing(api, body, field):
    status, answer = api("POST", "/api-keys", admin_of(TENANT_A), body)
    assert (status, answer["error"]["code"], answer["error"].get("field")) == (400, "INVALID_REQUEST", field)
    assert api("GET", "/api-keys", admin_of(TENANT_A)) == (200, {"items": []})


def test_keys_and_non_admins_may_not_manage_keys(api):
    member = caller_context({"sub": "m-1", "tenant_id": TENANT_A, "role": "Member"})
    superuser = caller_context({"sub": "s-1", "tenant_id": TENANT_A, "role": "SuperUser"})
    full_key = key_context(
        VerifiedKey("0123456789abcdef", TENANT_A, ["users:read", "users:write", "badges:write", "tokens:verify"], 5), False
    )
    for caller in (member, superuser, full_key):
        for method, path, body in [
            ("POST", "/api-keys", NEW_KEY),
            ("GET", "/api-keys", None),
            ("DELETE", "/api-keys/0123456789abcdef", None),
        ]:
            status, answer = api(method, path, caller, body)
            assert (status, answer["error"]["code"]) == (403, "FORBIDDEN"), (caller, method)


def test_a_rate_limited_key_answers_429_before_any_route(api):
    status, answer = api("GET", "/api-keys", key_context(KEY, rate_limited=True))
    assert (status, answer["error"]["code"]) == (429, "RATE_LIMITED")
    status, answer = api("GET", "/api-keys", key_context(KEY, rate_limited=False))
    assert status == 403  # the same key within its limit reaches the route (which keys may not use)


def test_the_document_gives_every_route_the_429_a_key_may_get():
    from tenantry.api.app import generated_openapi_json

    operations = [o for path in json.loads(generated_openapi_json())["paths"].values() for o in path.values()]
    assert operations
    assert all(
        o["responses"]["429"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
        for o in operations
    )
