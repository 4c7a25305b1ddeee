"""`/users` (tenantry.api.users) through the Identity API's resolver with payload 2.0 events: the starter and the
search are fakes that record what they were asked, so a refused request can be shown to have started nothing."""

from __future__ import annotations

import base64
import json

import pytest

from helpers import api_event
from tenantry.api.app import Dependencies, build_resolver
from tenantry.api.caller import caller_context
from tenantry.api.users import decode_cursor, encode_cursor
from tenantry.api_keys import ApiKeyStore
from tenantry.user_directory import SearchPage

TENANT_A, TENANT_B = "t-acme", "t-globex"
PROFILES = {
    "user-a": {
        "userId": "user-a",
        "tenantId": TENANT_A,
        "username": "a",
        "email": "a@acme.example",
        "role": "Member",
        "status": "ACTIVE",
    },
    "user-b": {
        "userId": "user-b",
        "tenantId": TENANT_B,
        "username": "b",
        "email": "b@globex.example",
        "role": "Member",
        "status": "ACTIVE",
    },
}


class Fakes:
    def __init__(self):
        self.started: list[dict] = []
        self.searches: list[tuple] = []

    def start(self, detail):
        already = any(d["requestId"] == detail["requestId"] for d in self.started)
        self.started.append(detail)
        return already

    def search(self, tenant_id, field, value, limit, after):
        self.searches.append((tenant_id, field, value, limit, after))
        return SearchPage([PROFILES["user-a"]], "user-a")


@pytest.fixture
def fakes():
    return Fakes()


@pytest.fixture
def call(fakes):
    app = build_resolver(
        Dependencies(
            profiles=PROFILES.get,
            api_keys=ApiKeyStore("unused", None),
            start_registration=fakes.start,
            search_users=fakes.search,
        )
    )

    def call(method, path, role="Admin", body=None, headers=None, query=None, user="user-x", tenant=TENANT_A, context=None):
        context = context or caller_context(
            {"sub": user, "tenant_id": tenant, "role": role, "username": "someone", "isolation": "shared"}
        )
        event = api_event(method, path, context, body=body, headers=headers, query=query)
        answer = app.resolve(event, None)
        return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None

    return call


GOOD = {"email": "new@acme.example", "name": "New Person", "role": "Member"}


def test_an_admin_starts_a_registration_in_their_own_tenant_as_requester(call, fakes):
    status, body = call("POST", "/users", body=GOOD)
    assert status == 202
    [detail] = fakes.started
    assert detail == GOOD | {"requestId": body["requestId"], "tenantId": TENANT_A, "requestedBy": "user-x"}


def test_the_same_idempotency_key_from_the_same_caller_names_the_same_request(call, fakes):
    first = call("POST", "/users", body=GOOD, headers={"idempotency-key": "k-1"})[1]["requestId"]
    again = call("POST", "/users", body=GOOD, headers={"idempotency-key": "k-1"})[1]["requestId"]
    other_caller = call("POST", "/users", body=GOOD, headers={"idempotency-key": "k-1"}, user="user-y")[1]["requestId"]
    no_key = call("POST", "/users", body=GOOD)[1]["requestId"]
    assert first == again and len({first, other_caller, no_key}) == 3


@pytest.mark.parametrize(
    ("role", "new_role", "status"),
    [("SuperUser", "Admin", 403), ("SuperUser", "SuperUser", 202), ("Member", "ReadOnly", 403), ("ReadOnly", "ReadOnly", 403)],
)
def test_the_role_rule_is_answered_before_anything_starts(call, fakes, role, new_role, status):
    assert call("POST", "/users", role=role, body=GOOD | {"role": new_role})[0] == status
    assert len(fakes.started) == (status == 202)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "N", "role": "Member"}, "email"),
        (GOOD | {"tenantId": TENANT_B}, "tenantId"),
        (GOOD | {"name": 7}, "name"),
        (GOOD | {"email": "not-an-email"}, "email"),
        (GOOD | {"role": "Owner"}, "role"),
        (GOOD | {"name": ""}, "name"),
    ],
    ids=["missing", "unknown-field", "wrong-type", "bad-email", "unknown-role", "empty-name"],
)
def test_bad_bodies_answer_400_naming_the_field_and_start_nothing(call, fakes, body, field):
    status, answer = call("POST", "/users", body=body)
    assert (status, answer["error"]["field"]) == (400, field)
    assert fakes.started == []


def test_a_user_of_another_tenant_answers_as_a_missing_one(call):
    assert call("GET", "/users/user-a")[0] == 200
    assert call("GET", "/users/user-b") == call("GET", "/users/nobody")
    assert call("GET", "/users/user-b")[0] == 404


def test_a_member_reads_no_one(call):
    assert call("GET", "/users/user-a", role="Member")[0] == 403
    assert call("GET", "/users", role="Member", query={"email": "a@acme.example"})[0] == 403


@pytest.mark.parametrize("query", [{}, {"email": "a@x.example", "name": "A"}, {"email": "a@x.example", "limit": "0"}])
def test_a_search_takes_exactly_one_filter_and_a_limit_of_1_to_100(call, fakes, query):
    assert call("GET", "/users", query=query)[0] == 400
    assert fakes.searches == []


def test_a_search_is_of_the_callers_tenant_and_its_cursor_continues_it(call, fakes):
    status, page = call("GET", "/users", query={"name": "A", "limit": "1"})
    assert status == 200 and [u["userId"] for u in page["users"]] == ["user-a"]
    assert call("GET", "/users", query={"name": "A", "cursor": page["cursor"]})[0] == 200
    assert fakes.searches == [(TENANT_A, "name", "A", 1, None), (TENANT_A, "name", "A", 25, "user-a")]


def test_a_cursor_of_another_tenant_or_forged_is_refused(call, fakes):
    other = encode_cursor(TENANT_B, "user-b")
    forged = base64.urlsafe_b64encode(b'{"u":"user-b"}').decode()
    for cursor in (other, forged, "!!not-base64!!"):
        status, answer = call("GET", "/users", query={"email": "a@acme.example", "cursor": cursor})
        assert (status, answer["error"]["field"]) == (400, "cursor")
    assert fakes.searches == []
    assert decode_cursor(encode_cursor(TENANT_A, "user-a"), TENANT_A) == "user-a"


@pytest.mark.parametrize(("scopes", "status"), [("users:read", 200), ("users:write,badges:write", 403)])
def test_a_key_reads_its_tenants_users_only_with_users_read(call, scopes, status):
    key = {"kind": "key", "tenantId": TENANT_A, "keyId": "k-1", "scopes": scopes, "rateLimited": False}
    assert call("GET", "/users/user-a", context=key)[0] == status
    assert call("GET", "/users/user-b", context=key)[0] == (404 if status == 200 else 403)
    assert call("GET", "/users", query={"email": "a@acme.example"}, context=key)[0] == status


@pytest.mark.parametrize(
    ("scopes", "role", "status"),
    [
        ("users:write", "Member", 202),
        ("users:write", "ReadOnly", 202),
        ("users:write", "SuperUser", 403),
        ("users:write", "Admin", 403),
        ("users:read", "Member", 403),
    ],
)
def test_a_key_with_users_write_registers_users_up_to_member(call, fakes, scopes, role, status):
    key = {"kind": "key", "tenantId": TENANT_A, "keyId": "k-1", "scopes": scopes, "rateLimited": False}
    assert call("POST", "/users", body=GOOD | {"role": role}, context=key)[0] == status
    if status == 202:
        [started] = fakes.started
        assert started["tenantId"] == TENANT_A and "requestedBy" not in started  # a key is no user to check
    else:
        assert fakes.started == []


def test_a_session_that_may_only_set_up_mfa_manages_no_one(call, fakes):
    context = caller_context({"sub": "u", "tenant_id": TENANT_A, "role": "Admin", "mfa_setup_only": "true"})
    assert call("POST", "/users", body=GOOD, context=context)[0] == 403
    assert call("GET", "/users/user-a", context=context)[0] == 403
    assert fakes.started == []
