"""The public account routes over HTTP on the local runtime: activating an account with its code and a chosen
password (the waiting UserRegistration execution resumes), Cognito's forgotten-password code flow, and
`POST /auth/token/verify` for a tenant's key."""

from __future__ import annotations

import uuid

import pytest
import requests

from helpers import ACTIVATION_TTL_SECONDS, registration_request
from tenantry.api_keys import ApiKeyStore

REGISTRATION = "UserRegistrationStateMachineArn"
PASSWORD = "Chosen-Horse-42"


@pytest.fixture
def fresh_limits(tenantry):
    """Every request of the test session comes from 127.0.0.1: counters a test spends on purpose are removed
    after it, so that the tests after it start with the source address's whole allowance."""
    yield
    table = tenantry.outputs["TableName"]
    found = tenantry.ddb.scan(
        TableName=table,
        FilterExpression="entity = :e",
        ExpressionAttributeValues={":e": {"S": "RateCounter"}},
        ProjectionExpression="PK, SK",
    )["Items"]
    for key in found:
        tenantry.ddb.delete_item(TableName=table, Key=key)


def pending_user(tenantry, tenant):
    """A user registered and waiting for activation: their registration's request id, user id and code."""
    request_id = tenantry.register(registration_request(tenantry.request_id("pending"), tenant["tenantId"]))
    [registered] = tenantry.outbound.wait_for("UserRegistered", timeout=20, requestId=request_id)
    user_id = registered["detail"]["userId"]
    [issued] = tenantry.outbound.wait_for("UserActivationCodeIssued", timeout=20, userId=user_id)
    return {"requestId": request_id, "userId": user_id, "code": issued["detail"]["code"], "email": registered["detail"]["email"]}


def activate(api, code, password=PASSWORD):
    return requests.post(f"{api}/auth/activate", json={"code": code, "password": password}, timeout=15)


def login(api, tenant_id, email, password):
    return requests.post(f"{api}/auth/login", json={"tenantId": tenant_id, "username": email, "password": password}, timeout=15)


# ------------------------------------------------------------------------------------- activation
def test_activation_with_a_chosen_password_resumes_the_registration_and_the_user_signs_in(tenantry, api, tenant):
    pending = pending_user(tenantry, tenant)
    weak = activate(api, pending["code"], "password")  # the pool's policy refuses it: the code stays good
    assert weak.status_code == 400 and weak.json()["error"]["field"] == "password", weak.text
    answer = activate(api, pending["code"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["userId"] == pending["userId"] and answer.json()["tenantId"] == tenant["tenantId"]
    execution = tenantry.wait_execution(REGISTRATION, f"register-{pending['requestId']}")
    assert execution["status"] == "SUCCEEDED", execution
    assert tenantry.profile(pending["userId"])["status"] == "ACTIVE"
    assert login(api, tenant["tenantId"], pending["email"], PASSWORD).status_code == 200

    again = activate(api, pending["code"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "CODE_ALREADY_USED", again.text
    # the code never entered the execution's history
    history = tenantry.sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    assert pending["code"] not in str(history)


def test_wrong_and_expired_codes_are_refused_and_change_nothing(tenantry, api, tenant, fresh_limits):
    wrong = activate(api, "x" * 43)
    assert wrong.status_code == 400 and wrong.json()["error"] == {
        "code": "INVALID_CODE",
        "message": "the activation code is not valid",
        "field": "code",
    }
    pending = pending_user(tenantry, tenant)
    execution = tenantry.wait_execution(REGISTRATION, f"register-{pending['requestId']}", timeout=ACTIVATION_TTL_SECONDS + 30)
    assert execution["status"] == "SUCCEEDED" and tenantry.profile(pending["userId"])["status"] == "EXPIRED"
    expired = activate(api, pending["code"])
    assert expired.status_code == 400 and expired.json()["error"]["code"] == "CODE_EXPIRED", expired.text
    assert tenantry.profile(pending["userId"])["status"] == "EXPIRED"


def test_one_code_used_twice_at_once_activates_once_with_the_winners_password(tenantry, api, tenant, fresh_limits):
    import threading

    pending = pending_user(tenantry, tenant)
    answers = {}

    def use(password):
        answers[password] = activate(api, pending["code"], password)

    threads = [threading.Thread(target=use, args=(p,)) for p in ("First-Horse-42", "Second-Horse-42")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers.values())
    assert statuses == [200, 409], {p: a.text for p, a in answers.items()}
    [winner] = [p for p, a in answers.items() if a.status_code == 200]
    [loser] = [p for p, a in answers.items() if a.status_code == 409]
    tenantry.wait_execution(REGISTRATION, f"register-{pending['requestId']}")
    assert login(api, tenant["tenantId"], pending["email"], winner).status_code == 200
    assert login(api, tenant["tenantId"], pending["email"], loser).status_code == 401


def test_a_password_with_outer_spaces_is_refused_naming_it_and_the_code_stays_good(tenantry, api, tenant, fresh_limits):
    pending = pending_user(tenantry, tenant)
    spaced = activate(api, pending["code"], " Chosen-Horse-42 ")
    assert spaced.status_code == 400 and spaced.json()["error"]["field"] == "password", spaced.text
    assert activate(api, pending["code"]).status_code == 200


def test_wrong_codes_from_one_address_are_limited(api, fresh_limits):
    codes = [activate(api, uuid.uuid4().hex).status_code for _ in range(10)]
    assert codes == [400] * 10
    limited = activate(api, uuid.uuid4().hex)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "TOO_MANY_ATTEMPTS", limited.text


# ------------------------------------------------------------------------------------- forgotten password
def mailed_code(tenantry, username):
    endpoint = tenantry.outputs["ApiUrl"].split("/_apis/")[0]
    messages = requests.get(f"{endpoint}/_tenantry/cognito/messages", timeout=15).json()["messages"]
    return [m["code"] for m in messages if m["username"] == username and m["kind"] == "ForgotPassword"][-1]


def test_a_forgotten_password_is_reset_with_the_emailed_code(tenantry, api, tenant, fresh_limits):
    user = tenantry.active_user(tenant)
    body = {"tenantId": tenant["tenantId"], "username": user["email"]}
    answer = requests.post(f"{api}/auth/password/forgot", json=body, timeout=15)
    assert answer.status_code == 202, answer.text
    assert "x-moto-forgot-password-confirmation-code" not in {h.lower() for h in answer.headers}
    unknown = requests.post(f"{api}/auth/password/forgot", json=body | {"username": "nobody@example.com"}, timeout=15)
    nowhere = requests.post(f"{api}/auth/password/forgot", json=body | {"tenantId": "no-such-tenant"}, timeout=15)
    assert (unknown.status_code, unknown.json()) == (nowhere.status_code, nowhere.json()) == (202, answer.json())

    code = mailed_code(tenantry, user["username"])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    reset = {**body, "password": "Brand-New-Horse-7"}
    refused = requests.post(f"{api}/auth/password/reset", json=reset | {"code": wrong}, timeout=15)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "INVALID_CODE", refused.text
    assert login(api, tenant["tenantId"], user["email"], user["password"]).status_code == 200  # nothing changed

    done = requests.post(f"{api}/auth/password/reset", json=reset | {"code": code}, timeout=15)
    assert done.status_code == 204, done.text
    assert login(api, tenant["tenantId"], user["email"], "Brand-New-Horse-7").status_code == 200
    assert login(api, tenant["tenantId"], user["email"], user["password"]).status_code == 401
    used = requests.post(f"{api}/auth/password/reset", json=reset | {"code": code}, timeout=15)
    assert used.status_code == 400 and used.json()["error"]["code"] == "INVALID_CODE", used.text


def test_a_reset_for_an_unknown_account_answers_as_a_wrong_code(tenantry, api, tenant, fresh_limits):
    body = {"tenantId": tenant["tenantId"], "username": "nobody@example.com", "code": "123456", "password": "Brand-New-Horse-7"}
    unknown_user = requests.post(f"{api}/auth/password/reset", json=body, timeout=15)
    unknown_tenant = requests.post(f"{api}/auth/password/reset", json=body | {"tenantId": "no-such-tenant"}, timeout=15)
    user = tenantry.active_user(tenant)
    wrong_code = requests.post(f"{api}/auth/password/reset", json=body | {"username": user["email"]}, timeout=15)
    answers = {(a.status_code, a.text) for a in (unknown_user, unknown_tenant, wrong_code)}
    assert len(answers) == 1 and next(iter(answers))[0] == 400, answers


def test_reset_requests_are_limited_per_account(tenantry, api, tenant, fresh_limits):
    user = tenantry.active_user(tenant)
    body = {"tenantId": tenant["tenantId"], "username": user["email"]}
    codes = [requests.post(f"{api}/auth/password/forgot", json=body, timeout=15).status_code for _ in range(6)]
    assert codes == [202] * 5 + [429]


# ------------------------------------------------------------------------------------- token verification
@pytest.fixture(scope="module")
def verifying_key(tenantry, tenant):
    admin = tenantry.active_user(tenant, "Admin")
    _, key = ApiKeyStore(tenantry.outputs["TableName"], tenantry.ddb).create(
        tenant["tenantId"], admin["userId"], "backend", ["tokens:verify"], 1
    )
    return {"X-Api-Key": key}


def test_a_tenants_backend_verifies_its_users_tokens_and_no_other_tenants(tenantry, api, tenant, verifying_key):
    user = tenantry.active_user(tenant)
    token = tenantry.tokens(user)["AccessToken"]
    answer = requests.post(f"{api}/auth/token/verify", json={"token": token}, headers=verifying_key, timeout=15)
    assert answer.status_code == 200, answer.text
    claims = answer.json()["claims"]
    assert claims["sub"] == user["userId"] and claims["tenant_id"] == tenant["tenantId"]

    other = tenantry.active_user(tenantry.onboarded("shared"))
    foreign = tenantry.tokens(other)["AccessToken"]
    refused = requests.post(f"{api}/auth/token/verify", json={"token": foreign}, headers=verifying_key, timeout=15)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "TOKEN_WRONG_TENANT", refused.text
    junk = requests.post(f"{api}/auth/token/verify", json={"token": "not.a.jwt"}, headers=verifying_key, timeout=15)
    assert junk.status_code == 401 and junk.json()["error"]["code"] == "TOKEN_MALFORMED", junk.text
    # a signed-in user is not a backend: the route is a key's
    as_user = requests.post(f"{api}/auth/token/verify", json={"token": token}, headers=tenantry.bearer(user), timeout=15)
    assert as_user.status_code == 403, as_user.text
