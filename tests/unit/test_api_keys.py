"""Tenant-scoped API keys: shown once, hashed at rest, scoped, expiring, revocable, rate limited per key.
On moto in-process (no network), a table shaped like TenantryTable's keys and ByTenant index."""

from __future__ import annotations

import json

import pytest

from helpers import UNIT_TABLE as TABLE
from tenantry import api_keys, keys
from tenantry.api_keys import ApiKeyStore, InvalidKeyRequest, RefusedKey, VerifiedKey


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(ddb, clock):
    return ApiKeyStore(TABLE, ddb, clock=clock)


def test_a_key_is_shown_once_and_only_its_hash_is_stored(store, ddb):
    record, key = store.create("tnt-a", "admin-1", "CRM sync", ["users:read", "users:write"], 30)
    assert key.startswith(f"tk_{record.keyId}_")
    stored = json.dumps(ddb.scan(TableName=TABLE)["Items"])
    secret = key.split("_", 2)[2]  # the secret itself may contain "_"
    assert secret not in stored and key not in stored
    assert api_keys.secret_hash(secret) in stored
    assert "secretHash" not in record.__dict__ and record.expiresAt - record.createdAt == 30 * 86400


def test_a_valid_key_verifies_to_its_tenant_and_scopes(store):
    record, key = store.create("tnt-a", "admin-1", "CRM", ["users:read"], 1)
    assert store.verify(key) == VerifiedKey(record.keyId, "tnt-a", ["users:read"], api_keys.DEFAULT_RATE_PER_MINUTE)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        pytest.param(lambda k: "", "MALFORMED", id="empty"),
        pytest.param(lambda k: "Bearer " + k, "MALFORMED", id="wrong-shape"),
        pytest.param(lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"), "UNKNOWN", id="wrong-secret"),
        pytest.param(lambda k: "tk_0123456789abcdef_" + k.split("_", 2)[2], "UNKNOWN", id="unknown-id"),
    ],
)
def test_a_wrong_key_is_refused_with_its_reason(store, tamper, reason):
    _, key = store.create("tnt-a", "admin-1", "CRM", ["users:read"], 1)
    assert store.verify(tamper(key)) == RefusedKey(reason)


def test_an_expired_key_is_refused(store, clock):
    _, key = store.create("tnt-a", "admin-1", "CRM", ["users:read"], 1)
    clock.now += 86400
    assert store.verify(key) == RefusedKey("EXPIRED")


def test_revocation_bites_at_once_and_only_for_the_keys_own_tenant(store):
    record, key = store.create("tnt-a", "admin-1", "CRM", ["users:read"], 1)
    assert store.revoke("tnt-b", record.keyId) is None  # another tenant's key: not found
    assert isinstance(store.verify(key), VerifiedKey)
    revoked = store.revoke("tnt-a", record.keyId)
    assert revoked is not None and revoked.revokedAt is not None
    assert store.verify(key) == RefusedKey("REVOKED")
    assert store.revoke("tnt-a", "0123456789abcdef") is None


def test_a_tenant_lists_its_own_keys_newest_first(store, clock):
    first, _ = store.create("tnt-a", "admin-1", "one", ["users:read"], 1)
    clock.now += 1
    second, _ = store.create("tnt-a", "admin-1", "two", ["tokens:verify"], 1)
    store.create("tnt-b", "admin-9", "theirs", ["users:read"], 1)
    assert [k.keyId for k in store.list("tnt-a")] == [second.keyId, first.keyId]
    assert [k.name for k in store.list("tnt-b")] == ["theirs"]
    assert store.list("tnt-c") == []


@pytest.mark.parametrize(
    ("name", "scopes", "days", "field"),
    [
        pytest.param("", ["users:read"], 1, "name", id="empty-name"),
        pytest.param("x" * 101, ["users:read"], 1, "name", id="long-name"),
        pytest.param("ok", [], 1, "scopes", id="no-scopes"),
        pytest.param("ok", ["users:admin"], 1, "scopes", id="unknown-scope"),
        pytest.param("ok", "users:read", 1, "scopes", id="scopes-not-a-list"),
        pytest.param("ok", ["users:read"], 0, "expiresInDays", id="zero-days"),
        pytest.param("ok", ["users:read"], 366, "expiresInDays", id="too-long"),
        pytest.param("ok", ["users:read"], True, "expiresInDays", id="boolean-days"),
    ],
)
def test_a_bad_creation_request_names_its_field_and_writes_nothing(store, ddb, name, scopes, days, field):
    with pytest.raises(InvalidKeyRequest) as refused:
        store.create("tnt-a", "admin-1", name, scopes, days)
    assert refused.value.field == field
    assert ddb.scan(TableName=TABLE)["Items"] == []


def test_each_key_has_its_own_rate_limit_per_minute(ddb, clock):
    store = ApiKeyStore(TABLE, ddb, clock=clock)
    _, key_a = store.create("tnt-a", "admin-1", "a", ["users:read"], 1, rate_per_minute=3)
    _, key_b = store.create("tnt-b", "admin-2", "b", ["users:read"], 1, rate_per_minute=3)
    a, b = store.verify(key_a), store.verify(key_b)
    assert isinstance(a, VerifiedKey) and isinstance(b, VerifiedKey)
    assert [store.take_request(a) for _ in range(4)] == [True, True, True, False]
    assert store.take_request(b) is True  # tenant A spent its quota, not B's
    clock.now += 60
    assert store.take_request(a) is True  # a new minute
    counters = [i for i in ddb.scan(TableName=TABLE)["Items"] if i["SK"]["S"].startswith("RATE#")]
    assert all(i["entity"]["S"] == keys.API_KEY_RATE.name and "ttl" in i for i in counters)
