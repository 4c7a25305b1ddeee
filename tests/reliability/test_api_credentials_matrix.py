"""Every route of the Identity API (read from docs/openapi.json, so a new route is in the matrix at once) ×
every credential that must not get in: 401 with its reason (or 403 where the credential is good but may not
do this, such as a session that may only set up MFA anywhere but /me), in the API's error shape, and nothing
written."""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from helpers import ROOT
from helpers.reliability import REPORT
from tenantry.api_keys import ApiKeyStore

# Every route that needs a credential (the public sign-in routes document `security: []`), signing out last:
# a session it lets through ends there
ROUTES = sorted(
    (
        (method.upper(), path)
        for path, operations in json.loads((ROOT / "docs" / "openapi.json").read_text())["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") != []
    ),
    key=lambda route: route == ("POST", "/auth/logout"),
)
MEMBER_BODY = {"email": "nobody@example.com", "name": "No Body", "role": "Member"}
BODIES = {  # plausible bodies: a refusal must not depend on a body being wrong
    ("POST", "/users"): MEMBER_BODY,
    ("POST", "/api-keys"): {"name": "k", "scopes": ["users:read"], "expiresInDays": 1},
    ("PATCH", "/users/{id}/status"): {"status": "DISABLED"},
    ("PUT", "/users/{id}/role"): {"role": "ReadOnly"},
    ("PUT", "/users/{id}/mfa"): {"required": True},
    ("PATCH", "/me/data"): {"theme": "dark"},
    ("PUT", "/users/{id}/data"): {"theme": "dark"},
    ("PATCH", "/users/{id}/data"): {"theme": "dark"},
    ("POST", "/me/avatar"): {"contentType": "image/png"},
    ("POST", "/me/mfa/totp/verify"): {"code": "123456"},
    ("POST", "/auth/token/verify"): {"token": "not-a-token"},
}
# Routes a credential that is refused everywhere else may use: a session that may only set up MFA reaches
# /me and the MFA set-up routes, and GET /me answers its profile; a key with only `tokens:verify`
# reaches token verification.
OPEN_TO = {
    "mfa-setup-only": lambda method, path: path == "/me" or path.startswith("/me/mfa/"),
    "out-of-scope-key": lambda method, path: path == "/auth/token/verify",
}
MFA_CHANGE, MFA_COMPLIANCE = "MfaRequirementChangeStateMachineArn", "MfaComplianceStateMachineArn"


@pytest.fixture(scope="module")
def target(tenantry, tenant):
    """The user every `{id}` route names: what must stay as it is."""
    return tenantry.active_user(tenant, "ReadOnly")


def forged_expired(token):
    """The same claims, signed with the key the local Cognito signs with (moto ships it), expired a minute
    ago: a token whose only fault is its age."""
    import jwt
    from moto.cognitoidp import models

    resources = Path(models.__file__).parent / "resources"
    private = json.loads(gzip.decompress((resources / "jwks-private.json.gz").read_bytes()))
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    claims["iat"], claims["exp"] = int(time.time()) - 3600, int(time.time()) - 60
    key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(private))
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": private["kid"]})


@pytest.fixture(scope="module")
def credentials(tenantry, tenant):
    """name -> (headers, the status every route answers, the error code)."""
    member = tenantry.active_user(tenant, "Member")
    good = tenantry.tokens(member)["AccessToken"]
    stranger = tenantry.stranger_token()  # a pool registered for no tenant
    # a revoked session: the user's token from before an Admin revoked their sessions
    revoked_user = tenantry.active_user(tenant, "Member")
    revoked = tenantry.tokens(revoked_user)["AccessToken"]
    time.sleep(1.05)  # tokens carry whole seconds
    admin = tenantry.active_user(tenant, "Admin")
    admin_headers = tenantry.bearer(admin)
    answer = requests.post(
        f"{tenantry.outputs['ApiUrl']}/users/{revoked_user['userId']}/sessions/revoke", headers=admin_headers, timeout=15
    )
    assert answer.status_code == 204
    # keys: revoked, expired, and good but with no scope any of these routes accepts
    store = ApiKeyStore(tenantry.outputs["TableName"], tenantry.ddb)
    revoked_key_record, revoked_key = store.create(
        tenant["tenantId"], admin["userId"], "revoked", ["users:read", "users:write"], 1
    )
    store.revoke(tenant["tenantId"], revoked_key_record.keyId)
    past = ApiKeyStore(tenantry.outputs["TableName"], tenantry.ddb, clock=lambda: time.time() - 2 * 86400)
    _, expired_key = past.create(tenant["tenantId"], admin["userId"], "expired", ["users:read", "users:write"], 1)
    _, narrow_key = store.create(tenant["tenantId"], admin["userId"], "narrow", ["tokens:verify"], 1)
    setup_only = mfa_setup_only_token(tenantry, tenant)
    BODIES[("POST", "/auth/token/verify")] = {"token": good}  # what a key let through verifies: a good token
    return {
        "none": ({}, 401, "NO_CREDENTIALS"),
        "not-bearer": ({"Authorization": f"Basic {good}"}, 401, "MALFORMED_AUTHORIZATION"),
        "malformed-token": ({"Authorization": "Bearer not.a.jwt"}, 401, "TOKEN_MALFORMED"),
        "expired-token": ({"Authorization": f"Bearer {forged_expired(good)}"}, 401, "TOKEN_EXPIRED"),
        "unregistered-pool": ({"Authorization": f"Bearer {stranger}"}, 401, "TOKEN_UNKNOWN_ISSUER"),
        "revoked-session": ({"Authorization": f"Bearer {revoked}"}, 401, "TOKEN_REVOKED"),
        "revoked-key": ({"X-Api-Key": revoked_key}, 401, "KEY_REVOKED"),
        "expired-key": ({"X-Api-Key": expired_key}, 401, "KEY_EXPIRED"),
        "key-and-token": ({"X-Api-Key": narrow_key, "Authorization": f"Bearer {good}"}, 401, "KEY_AND_TOKEN"),
        "out-of-scope-key": ({"X-Api-Key": narrow_key}, 403, "FORBIDDEN"),
        "mfa-setup-only": ({"Authorization": f"Bearer {setup_only}"}, 403, "FORBIDDEN"),
    }


def mfa_setup_only_token(tenantry, tenant):
    """An Admin's access token from a session that may only set up MFA: their MFA required (an upstream's bus
    request, as an Admin may not change a peer's) while they have no factor. An Admin, so that nothing but the
    set-up-only claim stands between this session and the management routes."""
    admin = tenantry.active_user(tenant, "Admin")
    request_id = tenantry.request_id("mfa")
    tenantry.post(
        "MfaRequirementChangeRequested",
        {"requestId": request_id, "tenantId": tenant["tenantId"], "userId": admin["userId"], "required": True},
    )
    assert tenantry.wait_execution(MFA_CHANGE, f"mfa-change-{request_id}")["status"] == "SUCCEEDED"
    assert tenantry.wait_idle(MFA_COMPLIANCE, 30.0), "compliance runs still going"  # the change's checks decided
    token = tenantry.tokens(admin)["AccessToken"]
    part = token.split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["mfa_setup_only"] == "true"
    return token


def snapshot(tenantry, tenant, target):
    """What a refused request could have changed: the target's profile and Cognito user, the tenant's keys
    and profiles, registrations started."""
    cognito_user = tenantry.cognito.admin_get_user(UserPoolId=tenant["userPoolId"], Username=target["username"])
    store = ApiKeyStore(tenantry.outputs["TableName"], tenantry.ddb)
    runs = tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs["UserRegistrationStateMachineArn"])["executions"]
    return {
        "profile": tenantry.profile(target["userId"]),
        "cognito": (cognito_user["Enabled"], cognito_user["UserAttributes"]),
        "groups": tenantry.cognito.admin_list_groups_for_user(UserPoolId=tenant["userPoolId"], Username=target["username"])[
            "Groups"
        ],
        "keys": [(k.keyId, k.revokedAt) for k in store.list(tenant["tenantId"])],
        "profiles": sorted(str(p) for p in tenantry.profiles_of(tenant["tenantId"])),
        "registrations": len(runs),
    }


def test_every_route_refuses_every_bad_credential_and_writes_nothing(tenantry, api, tenant, target, credentials):
    tenantry.rt.wait_settled()
    before = snapshot(tenantry, tenant, target)
    wrong: list[str] = []
    tried: Counter[str] = Counter()
    for name, (headers, status, code) in credentials.items():
        for method, path in ROUTES:
            if path == "/openapi.json":
                continue
            url = api + path.replace("{id}", target["userId"]).replace("{name}", "EARLY_ADOPTER")
            answer = requests.request(method, url, headers=headers, json=BODIES.get((method, path)), timeout=15)
            try:
                got = (answer.status_code, answer.json()["error"]["code"])
            except (ValueError, KeyError, TypeError):
                got = (answer.status_code, answer.text[:60])
            if name in OPEN_TO and OPEN_TO[name](method, path):  # let through: not refused, and /me answers
                if answer.status_code in (401, 403) or ((method, path) == ("GET", "/me") and answer.status_code != 200):
                    wrong.append(f"{name}: {method} {path} -> {got}, expected it let through")
            elif got != (status, code):
                wrong.append(f"{name}: {method} {path} -> {got}, expected {(status, code)}")
            tried[name] += 1
    tenantry.rt.wait_settled()
    unchanged = snapshot(tenantry, tenant, target) == before
    table = matrix_table(
        "credentials",
        "Every route of the Identity API with every credential that must not get in",
        "Each credential against every route of docs/openapi.json that needs one. *as expected*: refused with its "
        "status and reason (a session that may only set up MFA, and a key without the scope, are let through "
        "where they may go); *wrote nothing*: the target user, the tenant's users and events were the same after.",
    )
    add_rows(table, {name: name for name in credentials}, tried, wrong, unchanged)
    assert wrong == [], "\n".join(wrong)
    assert unchanged


@pytest.fixture(scope="module")
def other(tenantry):
    """Tenant B: a user, an Admin and a key of theirs, the targets tenant A's credentials aim at."""
    tenant_b = tenantry.onboarded("shared")
    admin_b = tenantry.active_user(tenant_b, "Admin")
    store = ApiKeyStore(tenantry.outputs["TableName"], tenantry.ddb)
    key_record, _ = store.create(tenant_b["tenantId"], admin_b["userId"], "b's", ["users:read"], 1)
    return {"tenant": tenant_b, "user": tenantry.active_user(tenant_b, "Member"), "keyId": key_record.keyId}


def test_tenant_a_reaches_nothing_of_tenant_b_on_any_route(tenantry, api, tenant, other):
    admin_a = tenantry.active_user(tenant, "Admin")
    store = ApiKeyStore(tenantry.outputs["TableName"], tenantry.ddb)
    _, key_a = store.create(tenant["tenantId"], admin_a["userId"], "a's", ["users:read", "users:write"], 1)
    credentials = {"admin": tenantry.bearer(admin_a), "key": {"X-Api-Key": key_a}}
    tenantry.rt.wait_settled()
    before = snapshot(tenantry, other["tenant"], other["user"])
    wrong: list[str] = []
    tried: Counter[str] = Counter()
    for name, headers in credentials.items():
        for method, path in ROUTES:
            if "{id}" not in path:
                continue
            target = other["keyId"] if path.startswith("/api-keys") else other["user"]["userId"]
            answer = requests.request(
                method,
                api + path.replace("{id}", target).replace("{name}", "EARLY_ADOPTER"),
                headers=headers,
                json=BODIES.get((method, path)),
                timeout=15,
            )
            code = answer.json().get("error", {}).get("code") if answer.content else None
            # A's Admin: not found, as a user that does not exist; A's key: not found where its scopes reach,
            # refused where they do not (it must never learn more than a missing user would tell it)
            if (answer.status_code, code) not in {
                (404, "NOT_FOUND"),
                (403, "FORBIDDEN") if name == "key" else (404, "NOT_FOUND"),
            }:
                wrong.append(f"{name}: {method} {path} -> {answer.status_code} {code}")
            tried[name] += 1
    # A tenant named in the query, a header or the body is never used: the tenant is the credential's
    b_email = other["user"]["email"]
    for headers in credentials.values():
        smuggled = requests.get(
            f"{api}/users",
            params={"email": b_email, "tenantId": other["tenant"]["tenantId"]},
            headers=headers | {"X-Tenant-Id": other["tenant"]["tenantId"]},
            timeout=15,
        )
        if other["user"]["userId"] in smuggled.text:
            wrong.append(f"GET /users with B's tenant id smuggled in answered B's user: {smuggled.text[:120]}")
    in_body = requests.post(
        f"{api}/users", json=MEMBER_BODY | {"tenantId": other["tenant"]["tenantId"]}, headers=credentials["admin"], timeout=15
    )
    if (in_body.status_code, in_body.json()["error"].get("field")) != (400, "tenantId"):
        wrong.append(f"POST /users with a tenantId in the body -> {in_body.status_code} {in_body.text[:120]}")
    tenantry.rt.wait_settled()
    unchanged = snapshot(tenantry, other["tenant"], other["user"]) == before
    table = matrix_table(
        "isolation",
        "Tenant A's credentials against tenant B's users and keys, on every route",
        "A's Admin and A's key against every `{id}` route, aimed at B's user (or B's key): *as expected*, 404 as "
        "for a user that does not exist (or 403 where the key's scopes do not reach). Then B's tenant id named "
        "in the query and a header, and in a body: never used. *wrote nothing*: B's users and events were the "
        "same after.",
    )
    add_rows(table, {name: f"A's {name}" for name in credentials}, tried, wrong, unchanged)
    smuggled = len(credentials) + 1
    errors = sum(not line.startswith(tuple(f"{name}: " for name in credentials)) for line in wrong)
    table.add("B's tenant id in query, header or body", smuggled, smuggled - errors, errors, "yes" if unchanged else "no")
    assert wrong == []
    assert unchanged


def matrix_table(key: str, title: str, intro: str) -> Any:
    return REPORT.table(key, title, intro, ("credential", "calls", "as expected", "wrong", "wrote nothing"))


def add_rows(table: Any, labels: dict[str, str], tried: Counter[str], wrong: list[str], unchanged: bool) -> None:
    """A row per credential: its calls, those answered as expected (a `wrong` line names its credential first)."""
    for name, label in labels.items():
        errors = sum(line.startswith(f"{name}: ") for line in wrong)
        table.add(label, tried[name], tried[name] - errors, errors, "yes" if unchanged else "no")
