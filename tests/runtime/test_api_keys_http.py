"""API keys over HTTP on the local runtime (ApiUrl): created, listed and revoked by a tenant's Admin, and
`X-Api-Key` through the uncached authorizer (no identity source: a key-only request reaches it), with the
per-key rate limit answered 429 by the API function."""

from __future__ import annotations

import time

import pytest
import requests

from tenantry.api_keys import ApiKeyStore

NEW_KEY = {"name": "CRM sync", "scopes": ["users:read", "users:write"], "expiresInDays": 30}


@pytest.fixture(scope="module")
def tenants(tenantry):
    return {name: tenantry.onboarded("shared") for name in ("a", "b")}


@pytest.fixture(scope="module")
def admins(tenantry, tenants):
    return {name: tenantry.bearer(tenantry.active_user(tenant, "Admin")) for name, tenant in tenants.items()}


@pytest.fixture(scope="module")
def store(tenantry):
    """The key store on the runtime's table, for keys the routes cannot make (a small limit, a past expiry)."""
    return ApiKeyStore(tenantry.outputs["TableName"], tenantry.ddb)


def answer(response):
    return response.status_code, (response.json() if response.content else None)


def error_code(response):
    return response.status_code, response.json()["error"]["code"]


def created_key(api, admin, **body):
    response = requests.post(f"{api}/api-keys", json={**NEW_KEY, **body}, headers=admin, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def call_with_key(api, key):
    """A request with the key alone, on a route that refuses every key (keys never manage keys): 403 FORBIDDEN
    means the authorizer verified the key; 401 with a reason means it did not."""
    return requests.get(f"{api}/api-keys", headers={"X-Api-Key": key}, timeout=10)


def let_in(response):
    return error_code(response) == (403, "FORBIDDEN")


def test_an_admin_creates_a_key_shown_once_and_listed_without_its_secret(api, tenants, admins):
    created = created_key(api, admins["a"])
    record, key = created["apiKey"], created["key"]
    assert key.startswith(f"tk_{record['keyId']}_")
    assert (record["tenantId"], record["name"], record["scopes"]) == (
        tenants["a"]["tenantId"],
        "CRM sync",
        ["users:read", "users:write"],
    )
    assert record["revokedAt"] is None and record["expiresAt"] - record["createdAt"] == 30 * 86400
    status, listed = answer(requests.get(f"{api}/api-keys", headers=admins["a"], timeout=10))
    assert status == 200
    assert record in listed["items"]
    secret = key.split("_", 2)[2]
    text = str(listed)
    assert secret not in text and "secretHash" not in text and "tk_" not in text  # shown once: never again
    # another tenant's Admin does not see it
    status, other = answer(requests.get(f"{api}/api-keys", headers=admins["b"], timeout=10))
    assert status == 200 and record["keyId"] not in {k["keyId"] for k in other["items"]}


def test_a_key_alone_reaches_the_api_and_never_manages_keys(api, admins):
    key = created_key(api, admins["a"])["key"]
    assert let_in(call_with_key(api, key))
    for method, path in [("POST", "/api-keys"), ("DELETE", f"/api-keys/{key.split('_')[1]}")]:
        response = requests.request(method, f"{api}{path}", json=NEW_KEY, headers={"X-Api-Key": key}, timeout=10)
        assert error_code(response) == (403, "FORBIDDEN")


def test_a_revoked_key_is_refused_on_its_very_next_request(api, admins):
    created = created_key(api, admins["a"])
    assert let_in(call_with_key(api, created["key"]))
    revoked = requests.delete(f"{api}/api-keys/{created['apiKey']['keyId']}", headers=admins["a"], timeout=10)
    assert (revoked.status_code, revoked.content) == (204, b"")
    assert error_code(call_with_key(api, created["key"])) == (401, "KEY_REVOKED")
    listed = requests.get(f"{api}/api-keys", headers=admins["a"], timeout=10).json()["items"]
    assert next(k for k in listed if k["keyId"] == created["apiKey"]["keyId"])["revokedAt"] is not None


def test_an_expired_key_is_refused(api, tenantry, tenants):
    two_days_ago = time.time() - 2 * 86400
    expired = ApiKeyStore(tenantry.outputs["TableName"], tenantry.ddb, clock=lambda: two_days_ago)
    _, key = expired.create(tenants["a"]["tenantId"], "test", "old", ["users:read"], 1)
    assert error_code(call_with_key(api, key)) == (401, "KEY_EXPIRED")


@pytest.mark.parametrize("key", ["", "tk_nope", "tk_0123456789abcdef_short", "Bearer x", "tk_0123456789abcdef_" + "x" * 43])
def test_a_malformed_or_unknown_key_is_refused(api, key):
    assert error_code(call_with_key(api, key)) in {(401, "KEY_MALFORMED"), (401, "KEY_UNKNOWN"), (401, "NO_CREDENTIALS")}


def test_a_tampered_secret_is_refused(api, admins):
    key = created_key(api, admins["a"])["key"]
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert error_code(call_with_key(api, tampered)) == (401, "KEY_UNKNOWN")
    assert let_in(call_with_key(api, key))


def test_another_tenants_admin_deleting_a_key_gets_404_and_the_key_still_works(api, admins):
    created = created_key(api, admins["a"])
    response = requests.delete(f"{api}/api-keys/{created['apiKey']['keyId']}", headers=admins["b"], timeout=10)
    assert error_code(response) == (404, "NOT_FOUND")
    missing = requests.delete(f"{api}/api-keys/ffffffffffffffff", headers=admins["b"], timeout=10)
    assert answer(response) == answer(missing)  # exactly as a key that does not exist
    assert let_in(call_with_key(api, created["key"]))


def test_a_member_may_use_none_of_the_key_routes(api, tenantry, tenants, admins):
    member = tenantry.bearer(tenantry.active_user(tenants["a"], "Member"))
    key_id = created_key(api, admins["a"])["apiKey"]["keyId"]
    for method, path in [("POST", "/api-keys"), ("GET", "/api-keys"), ("DELETE", f"/api-keys/{key_id}")]:
        response = requests.request(method, f"{api}{path}", json=NEW_KEY, headers=member, timeout=10)
        assert error_code(response) == (403, "FORBIDDEN"), (method, path)
    listed = requests.get(f"{api}/api-keys", headers=admins["a"], timeout=10).json()["items"]
    assert next(k for k in listed if k["keyId"] == key_id)["revokedAt"] is None  # the member's DELETE changed nothing


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "scopes": ["users:read"], "expiresInDays": 30}, "name"),
        ({"scopes": ["users:read"], "expiresInDays": 30}, "name"),
        ({"name": "x", "scopes": ["users:admin"], "expiresInDays": 30}, "scopes"),
        ({"name": "x", "scopes": "users:read", "expiresInDays": 30}, "scopes"),
        ({"name": "x", "scopes": ["users:read"], "expiresInDays": 366}, "expiresInDays"),
        ({"name": "x", "scopes": ["users:read"], "expiresInDays": "30"}, "expiresInDays"),
        ({"name": "x", "scopes": ["users:read"], "expiresInDays": 30, "tenantId": "t-other"}, "tenantId"),
    ],
)
def test_a_bad_body_answers_400_naming_the_field_and_writes_nothing(api, admins, body, field):
    before = requests.get(f"{api}/api-keys", headers=admins["b"], timeout=10).json()["items"]
    response = requests.post(f"{api}/api-keys", json=body, headers=admins["b"], timeout=10)
    assert (response.status_code, response.json()["error"]["code"], response.json()["error"].get("field")) == (
        400,
        "INVALID_REQUEST",
        field,
    )
    assert requests.get(f"{api}/api-keys", headers=admins["b"], timeout=10).json()["items"] == before


def test_past_its_limit_a_key_gets_429_while_another_tenants_key_gets_through(api, tenants, store):
    _, key_a = store.create(tenants["a"]["tenantId"], "test", "small", ["users:read"], 1, rate_per_minute=3)
    _, key_b = store.create(tenants["b"]["tenantId"], "test", "small", ["users:read"], 1, rate_per_minute=3)
    if time.time() % 60 > 50:  # the counter is per minute: keep the five requests inside one
        time.sleep(61 - time.time() % 60)
    assert all(let_in(call_with_key(api, key_a)) for _ in range(3))
    limited = call_with_key(api, key_a)
    assert error_code(limited) == (429, "RATE_LIMITED")
    assert let_in(call_with_key(api, key_b))  # tenant B's key counts on its own


def test_the_authorizer_never_logs_a_key(runtime, api, admins):
    key = created_key(api, admins["a"])["key"]
    call_with_key(api, key)
    call_with_key(api, key + "x")
    logs = "".join(p.read_text(errors="replace") for p in runtime.log_dir.rglob("*AuthorizerFunction*") if p.is_file())
    assert '"reason":"KEY_MALFORMED"' in logs
    assert key.split("_", 2)[2] not in logs
