"""Signing in over HTTP on the local runtime (`/auth/*`, `/me/mfa/totp*`): the tenant's pool found server-side,
one answer for every failed sign-in, failures counted per account, TOTP set-up and the MFA challenge, refresh,
and sign-out that the API enforces on the very next request."""

from __future__ import annotations

import statistics
import time
import uuid

import pytest
import requests

from tenantry.keys import sign_in_challenge_key
from tenantry_local.client import totp_code

COMPLIANCE = "MfaComplianceStateMachineArn"
CHANGE = "MfaRequirementChangeStateMachineArn"


def login(api, tenant_id, username, password):
    return requests.post(
        f"{api}/auth/login", json={"tenantId": tenant_id, "username": username, "password": password}, timeout=15
    )


def login_user(api, user, password=None):
    return login(api, user["tenantId"], user["email"], password or user["password"])


def bearer(answer):
    return {"Authorization": f"Bearer {answer.json()['accessToken']}"}


def answer_mfa(api, session, code):
    return requests.post(f"{api}/auth/login/mfa", json={"session": session, "code": code}, timeout=15)


def set_up_totp(api, headers):
    """What the user does over the API: a new secret, then the app's first code; the secret."""
    begun = requests.post(f"{api}/me/mfa/totp", headers=headers, timeout=15)
    assert begun.status_code == 200, begun.text
    secret = begun.json()["secretCode"]
    assert begun.json()["otpauthUri"].startswith("otpauth://totp/") and f"secret={secret}" in begun.json()["otpauthUri"]
    verified = requests.post(f"{api}/me/mfa/totp/verify", json={"code": totp_code(secret)}, headers=headers, timeout=15)
    assert verified.status_code == 200, verified.text
    return secret, verified.json()["complianceRun"]


@pytest.fixture(scope="module")
def dedicated(tenantry):
    return tenantry.onboarded("dedicated")


@pytest.fixture(scope="module")
def other_tenant(tenantry):
    return tenantry.onboarded("shared")


# ------------------------------------------------------------------------------------- password
@pytest.mark.parametrize("isolation", ["shared", "dedicated"])
def test_a_user_signs_in_with_tenant_email_and_password_and_the_tokens_open_the_api(tenantry, api, tenant, dedicated, isolation):
    user = tenantry.active_user(tenant if isolation == "shared" else dedicated)
    answer = login_user(api, user | {"email": user["email"].upper()})  # an email is the same whatever its case
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["tokenType"] == "Bearer" and tokens["refreshToken"] and tokens["idToken"] and not tokens["mfaSetupOnly"]
    me = requests.get(f"{api}/me", headers=bearer(answer), timeout=15)
    assert me.status_code == 200 and me.json()["userId"] == user["userId"], me.text


def test_unknown_tenant_unknown_user_and_wrong_password_answer_alike_and_take_as_long(tenantry, api, tenant):
    user = tenantry.active_user(tenant)
    attempts = {
        "wrong password": (tenant["tenantId"], user["email"], "Wrong-Horse-9"),
        "unknown user": (tenant["tenantId"], f"nobody-{uuid.uuid4().hex[:8]}@example.com", "Wrong-Horse-9"),
        "unknown tenant": (f"t-{uuid.uuid4().hex[:8]}", user["email"], user["password"]),
    }
    bodies, durations = {}, {}
    for what, (tenant_id, username, password) in attempts.items():
        times = []
        for _ in range(2):
            started = time.monotonic()
            answer = login(api, tenant_id, username, password)
            times.append(time.monotonic() - started)
            assert answer.status_code == 401, (what, answer.text)
            bodies[what] = answer.json()
        durations[what] = statistics.median(times)
    assert len({str(b) for b in bodies.values()}) == 1, bodies
    assert next(iter(bodies.values()))["error"]["code"] == "INVALID_CREDENTIALS"
    # Every failure answers after the same floor (0.4 s), whatever work it took to find out
    assert max(durations.values()) - min(durations.values()) < 0.15, durations
    assert min(durations.values()) >= 0.4, durations


def test_a_user_of_one_tenant_cannot_sign_in_through_another_tenant(tenantry, api, tenant, other_tenant, dedicated):
    user = tenantry.active_user(tenant)
    for other in (other_tenant, dedicated):
        answer = login(api, other["tenantId"], user["email"], user["password"])
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "INVALID_CREDENTIALS", answer.text


def test_failed_sign_ins_lock_only_that_account_for_a_while(tenantry, api, tenant):
    user, neighbour = tenantry.active_user(tenant), tenantry.active_user(tenant)
    codes = [login_user(api, user, "Wrong-Horse-9").status_code for _ in range(5)]
    assert codes == [401] * 5
    locked = login_user(api, user)  # even the right password, now
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "TOO_MANY_ATTEMPTS", locked.text
    assert login_user(api, neighbour).status_code == 200  # another account of the tenant is not affected


def test_bad_sign_in_input_names_the_field(tenantry, api, tenant):
    for body, field in (
        ({"tenantId": tenant["tenantId"], "username": "a@example.com"}, "password"),
        ({"tenantId": "bad id!", "username": "a@example.com", "password": "x"}, "tenantId"),
        ({"tenantId": tenant["tenantId"], "username": "t/a@example.com", "password": "x"}, "username"),
        ({"tenantId": tenant["tenantId"], "username": "a@example.com", "password": "x", "role": "Admin"}, "role"),
    ):
        answer = requests.post(f"{api}/auth/login", json=body, timeout=15)
        assert answer.status_code == 400 and answer.json()["error"]["field"] == field, (body, answer.text)


# ------------------------------------------------------------------------------------- MFA
def test_totp_set_up_then_every_sign_in_asks_for_the_code_once(tenantry, api, tenant):
    user = tenantry.active_user(tenant)
    headers = bearer(login_user(api, user))
    wrong = requests.post(f"{api}/me/mfa/totp/verify", json={"code": "000000"}, headers=headers, timeout=15)
    assert wrong.status_code in (400, 401), wrong.text  # no authenticator associated yet, or a wrong code
    secret, run = set_up_totp(api, headers)
    tenantry.wait_execution(COMPLIANCE, run)

    challenge = login_user(api, user)
    assert challenge.status_code == 200 and challenge.json()["challenge"] == "SOFTWARE_TOKEN_MFA", challenge.text
    session = challenge.json()["session"]
    assert "accessToken" not in challenge.json()
    code = totp_code(secret)
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = answer_mfa(api, session, wrong_code)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "INVALID_MFA_CODE", refused.text
    signed_in = answer_mfa(api, session, code)
    assert signed_in.status_code == 200 and signed_in.json()["accessToken"], signed_in.text
    assert requests.get(f"{api}/me", headers=bearer(signed_in), timeout=15).status_code == 200

    reused = answer_mfa(api, session, code)  # the same challenge again
    assert reused.status_code == 401 and reused.json()["error"]["code"] == "CHALLENGE_EXPIRED", reused.text
    replay = answer_mfa(api, login_user(api, user).json()["session"], code)  # a new challenge, the used code
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "MFA_CODE_ALREADY_USED", replay.text


def test_an_expired_or_made_up_challenge_is_refused(tenantry, api, tenant):
    user = tenantry.active_user(tenant)
    secret, run = set_up_totp(api, bearer(login_user(api, user)))
    tenantry.wait_execution(COMPLIANCE, run)
    session = login_user(api, user).json()["session"]
    # Three minutes on: the challenge's record says it has expired (moved back rather than waited for)
    import hashlib

    key = sign_in_challenge_key(hashlib.sha256(session.encode()).hexdigest())
    tenantry.ddb.update_item(
        TableName=tenantry.outputs["TableName"],
        Key={k: {"S": v} for k, v in key.items()},
        UpdateExpression="SET expiresAtEpoch = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    expired = answer_mfa(api, session, totp_code(secret))
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "CHALLENGE_EXPIRED", expired.text
    made_up = answer_mfa(api, "x" * 40, totp_code(secret))
    assert made_up.status_code == 401 and made_up.json()["error"]["code"] == "CHALLENGE_EXPIRED", made_up.text


def test_three_wrong_codes_end_the_challenge(tenantry, api, tenant):
    user = tenantry.active_user(tenant)
    secret, run = set_up_totp(api, bearer(login_user(api, user)))
    tenantry.wait_execution(COMPLIANCE, run)
    session = login_user(api, user).json()["session"]
    code = totp_code(secret)
    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in (1, 2, 3)]
    assert [answer_mfa(api, session, c).json()["error"]["code"] for c in wrong] == ["INVALID_MFA_CODE"] * 3
    late = answer_mfa(api, session, code)
    assert late.status_code == 401 and late.json()["error"]["code"] == "CHALLENGE_EXPIRED", late.text


def test_wrong_codes_count_against_the_account_across_challenges(tenantry, api, tenant):
    user = tenantry.active_user(tenant)
    secret, run = set_up_totp(api, bearer(login_user(api, user)))
    tenantry.wait_execution(COMPLIANCE, run)
    code = totp_code(secret)
    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 6)]
    first, second = login_user(api, user).json()["session"], login_user(api, user).json()["session"]
    answers = [answer_mfa(api, first, c).status_code for c in wrong[:3]] + [
        answer_mfa(api, second, c).status_code for c in wrong[3:]
    ]
    assert answers == [401] * 5
    # five failed sign-ins of the account, though its password was right each time: it is locked for a while
    locked = login_user(api, user)
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "TOO_MANY_ATTEMPTS", locked.text


def test_a_user_required_to_use_mfa_sets_it_up_with_a_set_up_only_session(tenantry, api, tenant):
    admin, user = tenantry.active_user(tenant, "Admin"), tenantry.active_user(tenant)
    required = requests.put(
        f"{api}/users/{user['userId']}/mfa", json={"required": True}, headers=bearer(login_user(api, admin)), timeout=15
    )
    assert required.status_code == 202, required.text
    change = tenantry.wait_execution(CHANGE, f"mfa-change-{required.json()['requestId']}")
    assert change["status"] == "SUCCEEDED", change
    assert tenantry.wait_idle(COMPLIANCE, 30)

    answer = login_user(api, user)
    assert answer.status_code == 200 and answer.json()["mfaSetupOnly"] is True, answer.text
    headers = bearer(answer)
    assert requests.get(f"{api}/users", params={"name": "x"}, headers=headers, timeout=15).status_code == 403
    secret, run = set_up_totp(api, headers)
    assert tenantry.wait_execution(COMPLIANCE, run)["status"] == "SUCCEEDED"
    assert tenantry.profile(user["userId"])["mfaState"] == "COMPLIANT"

    challenge = login_user(api, user)  # from now on the code is asked for, and the session is a full one
    assert challenge.json().get("challenge") == "SOFTWARE_TOKEN_MFA", challenge.text
    tokens = answer_mfa(api, challenge.json()["session"], totp_code(secret))
    assert tokens.status_code == 200 and tokens.json()["mfaSetupOnly"] is False, tokens.text


# ------------------------------------------------------------------------------------- refresh, sign-out
def test_refresh_then_sign_out_ends_every_session_at_once(tenantry, outbound, api, tenant):
    user = tenantry.active_user(tenant)
    first = login_user(api, user).json()
    refreshed = requests.post(
        f"{api}/auth/refresh", json={"tenantId": tenant["tenantId"], "refreshToken": first["refreshToken"]}, timeout=15
    )
    assert refreshed.status_code == 200, refreshed.text
    successor = refreshed.json()["refreshToken"]
    assert successor and successor != first["refreshToken"]  # rotated
    headers = {"Authorization": f"Bearer {refreshed.json()['accessToken']}"}
    assert requests.get(f"{api}/me", headers=headers, timeout=15).status_code == 200
    # The one sent retires after its grace period (10 s, on the runtime's time scale): a stolen copy is dead
    time.sleep(10 * tenantry.rt.time_scale + 0.2)
    retired = requests.post(
        f"{api}/auth/refresh", json={"tenantId": tenant["tenantId"], "refreshToken": first["refreshToken"]}, timeout=15
    )
    assert retired.status_code == 401 and retired.json()["error"]["code"] == "INVALID_REFRESH_TOKEN", retired.text

    outbound.drain()
    assert requests.post(f"{api}/auth/logout", headers=headers, timeout=15).status_code == 204
    for token in (first["accessToken"], refreshed.json()["accessToken"]):
        after = requests.get(f"{api}/me", headers={"Authorization": f"Bearer {token}"}, timeout=15)
        assert after.status_code == 401 and after.json()["error"]["code"] == "TOKEN_REVOKED", after.text
    again = requests.post(f"{api}/auth/refresh", json={"tenantId": tenant["tenantId"], "refreshToken": successor}, timeout=15)
    assert again.status_code == 401 and again.json()["error"]["code"] == "INVALID_REFRESH_TOKEN", again.text
    [revoked] = outbound.wait_for("SessionsRevoked", userId=user["userId"])
    assert revoked["detail"]["reason"] == "signed-out"


def test_sign_out_needs_a_signed_in_user(tenantry, api, tenant):
    assert requests.post(f"{api}/auth/logout", timeout=15).json()["error"]["code"] == "NO_CREDENTIALS"
    assert requests.post(f"{api}/me/mfa/totp", timeout=15).status_code == 401


def test_the_sign_in_routes_are_documented_as_public_and_nothing_else_is(api):
    document = requests.get(f"{api}/openapi.json", timeout=15).json()
    public = {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") == []
    }
    assert public == {
        "POST /auth/login",
        "POST /auth/login/mfa",
        "POST /auth/refresh",
        "POST /auth/password/forgot",
        "POST /auth/password/reset",
        "POST /auth/activate",
    }


def test_access_tokens_live_as_long_as_the_app_client_says(tenantry, api, tenant):
    import base64
    import json

    answer = login_user(api, tenantry.active_user(tenant)).json()
    part = answer["accessToken"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    assert claims["exp"] - claims["iat"] == 15 * 60 and answer["expiresIn"] == 15 * 60
