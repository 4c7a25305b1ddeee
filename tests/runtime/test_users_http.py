"""`POST /users`, `GET /users/{id}` and `GET /users?email=|handle=|name=` over HTTP on the local runtime, at the
stack output `ApiUrl`: signed-in users of two tenants, the UserRegistration workflow behind POST."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import requests

REGISTRATION = "UserRegistrationStateMachineArn"


@pytest.fixture(scope="module")
def other_tenant(tenantry):
    return tenantry.onboarded("shared")


@pytest.fixture(scope="module")
def people(tenantry, tenant):
    """A signed-in user of each role in `tenant`: their profile and their Authorization header."""
    found = {}
    for role in ("Admin", "SuperUser", "Member", "ReadOnly"):
        user = tenantry.active_user(tenant, role)
        found[role] = {**user, "headers": tenantry.bearer(user)}
    return found


@pytest.fixture(scope="module")
def stranger(tenantry, other_tenant):
    return tenantry.active_user(other_tenant, "Member")


def executions(tenantry, name):
    runs = tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[REGISTRATION])["executions"]
    return [r for r in runs if r["name"] == name]


def new_user(role="Member", **overrides):
    return {"email": f"u-{uuid.uuid4().hex[:10]}@Example.com", "name": "Grace Hopper", "role": role} | overrides


def post_user(api, who, body, headers=None):
    return requests.post(f"{api}/users", json=body, headers=who["headers"] | (headers or {}), timeout=15)


# ------------------------------------------------------------------------------------- POST /users
def test_an_admin_registers_a_superuser_through_the_registration_workflow(tenantry, outbound, api, tenant, people):
    outbound.drain()
    body = new_user("SuperUser")
    answer = post_user(api, people["Admin"], body)
    assert answer.status_code == 202, answer.text
    request_id = answer.json()["requestId"]
    execution = tenantry.wait_execution_state(REGISTRATION, f"register-{request_id}")
    assert execution["state"] == "IssueActivationCodeAndWait", execution
    [registered] = outbound.wait_for("UserRegistered", requestId=request_id)
    assert registered["detail"]["tenantId"] == tenant["tenantId"] and registered["detail"]["role"] == "SuperUser"
    workflow_input = json.loads(execution["input"])
    assert workflow_input["detail"] == {
        "requestId": request_id,
        "tenantId": tenant["tenantId"],
        "requestedBy": people["Admin"]["userId"],
        **body,
    }


def test_a_superuser_may_not_register_an_admin_and_nothing_starts(tenantry, api, people):
    before = len(tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[REGISTRATION])["executions"])
    answer = post_user(api, people["SuperUser"], new_user("Admin"), headers={"Idempotency-Key": "su-admin"})
    assert answer.status_code == 403 and answer.json()["error"]["field"] == "role"
    assert len(tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[REGISTRATION])["executions"]) == before


def test_a_key_with_users_write_registers_a_member_but_no_superuser(tenantry, api, tenant, people):
    from tenantry.api_keys import ApiKeyStore

    store = ApiKeyStore(tenantry.outputs["TableName"], tenantry.ddb)
    _, key = store.create(tenant["tenantId"], people["Admin"]["userId"], "crm", ["users:write"], 1)
    machine = {"headers": {"X-Api-Key": key}}
    before = len(tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[REGISTRATION])["executions"])
    refused = post_user(api, machine, new_user("SuperUser"))
    assert (refused.status_code, refused.json()["error"]["field"]) == (403, "role")
    assert len(tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[REGISTRATION])["executions"]) == before
    answer = post_user(api, machine, new_user("Member"))
    assert answer.status_code == 202, answer.text
    execution = tenantry.wait_execution_state(REGISTRATION, f"register-{answer.json()['requestId']}")
    assert execution["state"] == "IssueActivationCodeAndWait", execution
    assert "requestedBy" not in json.loads(execution["input"])["detail"]


def test_an_oversized_body_answers_413_and_starts_nothing(tenantry, api, people):
    before = len(tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[REGISTRATION])["executions"])
    answer = post_user(api, people["Admin"], new_user(name="x" * 20_000))
    assert (answer.status_code, answer.json()["error"]["code"], answer.json()["error"]["field"]) == (
        413,
        "PAYLOAD_TOO_LARGE",
        "body",
    )
    assert len(tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[REGISTRATION])["executions"]) == before


@pytest.mark.parametrize("role", ["Member", "ReadOnly"])
def test_members_and_readonly_users_register_no_one(tenantry, api, people, role):
    before = len(tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[REGISTRATION])["executions"])
    assert post_user(api, people[role], new_user("ReadOnly")).status_code == 403
    assert len(tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[REGISTRATION])["executions"]) == before


def test_the_same_idempotency_key_twice_starts_one_registration(tenantry, api, people):
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    body = new_user()
    first = post_user(api, people["Admin"], body, headers=key)
    again = post_user(api, people["Admin"], body, headers=key)
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["requestId"] == again.json()["requestId"]
    assert len(executions(tenantry, f"register-{first.json()['requestId']}")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Grace Hopper", "role": "Member"}, "email"),
        ({"email": "x@example.com", "role": "Member"}, "name"),
        ({"email": "x@example.com", "name": "Grace Hopper", "role": "Member", "tenantId": "someone-else"}, "tenantId"),
        ({"email": "x@example.com", "name": ["Grace"], "role": "Member"}, "name"),
        ({"email": 42, "name": "Grace Hopper", "role": "Member"}, "email"),
        ({"email": "not-an-email", "name": "Grace Hopper", "role": "Member"}, "email"),
        ({"email": "x@example.com", "name": "Grace Hopper", "role": "Owner"}, "role"),
    ],
    ids=[
        "missing-email",
        "missing-name",
        "unknown-field",
        "name-not-a-string",
        "email-not-a-string",
        "bad-email",
        "unknown-role",
    ],
)
def test_bad_bodies_answer_400_naming_the_field_and_start_nothing(tenantry, api, people, body, field):
    before = len(tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[REGISTRATION])["executions"])
    answer = post_user(api, people["Admin"], body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field
    assert len(tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[REGISTRATION])["executions"]) == before


def test_a_body_that_is_not_json_answers_400_and_one_of_another_type_415(api, people):
    headers = people["Admin"]["headers"]
    not_json = requests.post(f"{api}/users", data="{not json", headers=headers | {"Content-Type": "application/json"}, timeout=15)
    assert not_json.status_code == 400 and "error" in not_json.json()
    form = requests.post(f"{api}/users", data="email=x@example.com", headers=headers | {"Content-Type": "text/plain"}, timeout=15)
    assert form.status_code == 415 and form.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


# ------------------------------------------------------------------------------------- GET /users/{id}
def test_a_user_of_another_tenant_answers_exactly_as_a_missing_one(api, people, stranger):
    headers = people["Admin"]["headers"]
    own = requests.get(f"{api}/users/{people['Member']['userId']}", headers=headers, timeout=15)
    assert own.status_code == 200 and own.json()["userId"] == people["Member"]["userId"]
    theirs = requests.get(f"{api}/users/{stranger['userId']}", headers=headers, timeout=15)
    missing = requests.get(f"{api}/users/{uuid.uuid4()}", headers=headers, timeout=15)
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json()) == (404, missing.json())


def test_a_member_may_not_read_other_users(api, people):
    answer = requests.get(f"{api}/users/{people['Admin']['userId']}", headers=people["Member"]["headers"], timeout=15)
    assert answer.status_code == 403


# ------------------------------------------------------------------------------------- GET /users?...
def search(api, who, **query):
    return requests.get(f"{api}/users", params=query, headers=who["headers"], timeout=15)


def test_search_by_email_in_any_case_and_by_handle(api, people, stranger):
    member = people["Member"]
    by_email = search(api, people["SuperUser"], email=member["email"].upper())
    assert by_email.status_code == 200, by_email.text
    assert [u["userId"] for u in by_email.json()["users"]] == [member["userId"]]
    by_handle = search(api, people["SuperUser"], handle=member["handle"])
    assert [u["userId"] for u in by_handle.json()["users"]] == [member["userId"]]
    assert search(api, people["Admin"], email=stranger["email"]).json() == {"users": [], "cursor": None}


def test_search_by_name_pages_through_the_callers_tenant_only(tenantry, api, tenant, people, stranger):
    expected = {
        p["userId"]["S"] for p in tenantry.profiles_of(tenant["tenantId"]) if p.get("name", {}).get("S", "").startswith("Grace")
    }
    assert len(expected) >= 4  # the four signed-in users at least: two pages of 2 or more
    seen, pages, cursor = [], 0, None
    while True:
        answer = search(api, people["Admin"], name="Grace", limit=2, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["users"]) <= 2
        seen += [u["userId"] for u in page["users"]]
        pages += 1
        cursor = page.get("cursor")
        if not cursor:
            break
    assert pages >= 2 and len(seen) == len(set(seen))
    assert set(seen) == expected and stranger["userId"] not in seen


def test_a_search_needs_exactly_one_filter_and_a_limit_in_range(api, people):
    assert search(api, people["Admin"]).status_code == 400
    both = search(api, people["Admin"], email="a@example.com", name="Grace")
    assert both.status_code == 400 and both.json()["error"]["field"] in ("email", "handle", "name")
    assert search(api, people["Admin"], name="Grace", limit=101).json()["error"]["field"] == "limit"


def test_a_cursor_of_another_tenant_or_forged_answers_400(api, tenant, other_tenant, people, stranger):
    first = search(api, people["Admin"], name="Grace", limit=1).json()
    assert first["cursor"]
    decoded = json.loads(base64.urlsafe_b64decode(first["cursor"]))
    forged = base64.urlsafe_b64encode(json.dumps(decoded | {"t": other_tenant["tenantId"], "u": stranger["userId"]}).encode())
    for cursor in (forged.decode(), "bm90LWEtY3Vyc29y", "%%%"):
        answer = search(api, people["Admin"], name="Grace", cursor=cursor)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["field"] == "cursor"
