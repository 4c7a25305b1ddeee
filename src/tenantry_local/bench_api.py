"""The Identity API's figures for `make bench` (alone: `python -m tenantry_local.bench api`).

- the authorizer's cold import (`python -c "import app"` in functions/api_authorizer with its environment) as
  a ratio to `python -c "import boto3"`, both measured in this run;
- warm p50/p99 of the authorizer handler and of `GET /me` through the API function's resolver, in-process:
  the handlers loaded as Lambda loads them and called with the payload 2.0 events the local runtime's
  gateway sent them for a real signed-in request (a token the local Cognito signed; their DynamoDB calls go
  to the local runtime over HTTP);
- AWS calls per request for each route, counted on the local runtime (`runtime.calls`), next to the minimum
  written down here, and each function's duration per request as the runtime measured it;
- cost per million requests at list prices (PRICES) from those counts, durations and the template's memory.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import statistics
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantry_local.client import WAITING_FOR_ACTIVATION, TenantryClient, free_port

PROJECT = Path(__file__).resolve().parents[2]

# List prices used (us-east-1): API Gateway HTTP API, Lambda arm64, DynamoDB on-demand.
PRICES = {
    "http_api_per_million": 1.00,
    "lambda_gb_second": 0.0000133334,
    "lambda_per_million": 0.20,
    "ddb_write_unit_per_million": 1.25,
    "ddb_read_unit_per_million": 0.25,
}
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
NOT_THE_REQUESTS = {"lambda:Invoke", "sqs:ReceiveMessage", "sqs:DeleteMessage"}  # the runtime's own, or invocations

TOKEN_AUTHORIZER = {"dynamodb:GetItem": 2}  # pool registration of the token's tenant, the user's sessionsRevokedAt
KEY_AUTHORIZER = {"dynamodb:GetItem": 1, "dynamodb:UpdateItem": 1}  # the key's item, its per-minute counter


def _plus(*parts: dict[str, int]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return dict(total)


# The fewest AWS calls each request can make, authorizer included (the JWKS of a pool is fetched once per
# environment, not per request, and is no AWS API call).
MINIMUM: dict[str, dict[str, int]] = {
    "GET /me": _plus(TOKEN_AUTHORIZER, {"dynamodb:GetItem": 1}),  # the caller's profile
    "GET /users/{id}": _plus(TOKEN_AUTHORIZER, {"dynamodb:GetItem": 1}),
    "GET /users?email=": _plus(TOKEN_AUTHORIZER, {"dynamodb:Query": 1, "dynamodb:BatchGetItem": 1}),  # index, matches
    "POST /users": _plus(TOKEN_AUTHORIZER, {"stepfunctions:StartExecution": 1}),  # the role rule needs no read
    "GET /api-keys": _plus(TOKEN_AUTHORIZER, {"dynamodb:Query": 1}),
    "POST /api-keys": _plus(TOKEN_AUTHORIZER, {"dynamodb:PutItem": 1}),
    "DELETE /api-keys/{id}": _plus(TOKEN_AUTHORIZER, {"dynamodb:UpdateItem": 1}),  # conditional on the tenant
    # target's profile, tenant's pool; Cognito; the profile; the SessionsRevoked event
    "PATCH /users/{id}/status DISABLED": _plus(
        TOKEN_AUTHORIZER,
        {
            "dynamodb:GetItem": 2,
            "cognito-idp:AdminDisableUser": 1,
            "cognito-idp:AdminUserGlobalSignOut": 1,
            "dynamodb:UpdateItem": 1,
            "events:PutEvents": 1,
        },
    ),
    "PATCH /users/{id}/status ACTIVE": _plus(
        TOKEN_AUTHORIZER, {"dynamodb:GetItem": 2, "cognito-idp:AdminEnableUser": 1, "dynamodb:UpdateItem": 1}
    ),
    "PUT /users/{id}/role promote": _plus(
        TOKEN_AUTHORIZER,
        {
            "dynamodb:GetItem": 2,
            "cognito-idp:AdminAddUserToGroup": 1,
            "cognito-idp:AdminRemoveUserFromGroup": 1,
            "dynamodb:UpdateItem": 1,
        },
    ),
    "PUT /users/{id}/mfa": _plus(TOKEN_AUTHORIZER, {"dynamodb:GetItem": 1, "stepfunctions:StartExecution": 1}),
    "POST /users/{id}/sessions/revoke": _plus(
        TOKEN_AUTHORIZER,
        {"dynamodb:GetItem": 2, "cognito-idp:AdminUserGlobalSignOut": 1, "dynamodb:UpdateItem": 1, "events:PutEvents": 1},
    ),
    # target's profile, tenant's pool; Cognito; the email and handle claims, then the profile, each removal on
    # its own so that a failed deletion repeats safely (one TransactWriteItems would be one call but twice the
    # write units)
    "DELETE /users/{id}": _plus(
        TOKEN_AUTHORIZER, {"dynamodb:GetItem": 2, "cognito-idp:AdminDeleteUser": 1, "dynamodb:DeleteItem": 3}
    ),
    "key: GET /users/{id}": _plus(KEY_AUTHORIZER, {"dynamodb:GetItem": 1}),
    "no credentials: GET /me (401)": {},
    # public sign-in (no authorizer runs): the account's attempt taken before it is tried and given back on a
    # success (two writes where a read and a write on failure would do, so that parallel guesses are counted
    # too), the tenant's pool, Cognito
    "POST /auth/login": {"dynamodb:UpdateItem": 2, "dynamodb:GetItem": 1, "cognito-idp:AdminInitiateAuth": 1},
    "POST /auth/login (wrong password)": {"dynamodb:UpdateItem": 1, "dynamodb:GetItem": 1, "cognito-idp:AdminInitiateAuth": 1},
    "POST /auth/login (TOTP user)": {
        "dynamodb:UpdateItem": 2,
        "dynamodb:GetItem": 1,
        "cognito-idp:AdminInitiateAuth": 1,
        "dynamodb:PutItem": 1,  # the challenge remembered
    },
    # the challenge, the account's attempt (a wrong code is a failed sign-in), the code's first use, Cognito, the
    # challenge forgotten, the attempt given back
    "POST /auth/login/mfa": {
        "dynamodb:GetItem": 1,
        "dynamodb:UpdateItem": 2,
        "dynamodb:PutItem": 1,
        "cognito-idp:AdminRespondToAuthChallenge": 1,
        "dynamodb:DeleteItem": 1,
    },
    "POST /auth/refresh": {"dynamodb:GetItem": 1, "cognito-idp:GetTokensFromRefreshToken": 1},
    "POST /auth/password/forgot": {"dynamodb:UpdateItem": 2, "dynamodb:GetItem": 1, "cognito-idp:ForgotPassword": 1},
    # the caller's profile and pool; a revocation as POST /users/{id}/sessions/revoke makes it
    "POST /auth/logout": _plus(
        TOKEN_AUTHORIZER,
        {"dynamodb:GetItem": 2, "cognito-idp:AdminUserGlobalSignOut": 1, "dynamodb:UpdateItem": 1, "events:PutEvents": 1},
    ),
    "PATCH /me/data": _plus(TOKEN_AUTHORIZER, {"dynamodb:GetItem": 1, "dynamodb:UpdateItem": 1}),  # read, merge, write
    "PUT /users/{id}/data": _plus(TOKEN_AUTHORIZER, {"dynamodb:UpdateItem": 1}),  # conditional on tenant (and If-Match)
    "GET /badges (catalogue cached)": TOKEN_AUTHORIZER,  # the catalogue is read once per 5 minutes per environment
    "POST /users/{id}/badges/{name}": _plus(TOKEN_AUTHORIZER, {"dynamodb:UpdateItem": 1}),
    "POST /me/avatar": TOKEN_AUTHORIZER,  # the upload form is signed locally
    "key: POST /auth/token/verify": _plus(KEY_AUTHORIZER, {"dynamodb:GetItem": 2}),  # as the authorizer verifies
}


@dataclass
class Measured:
    calls: Counter[str] = field(default_factory=Counter)
    write_units: int = 0
    read_units: int = 0
    invocations: Counter[str] = field(default_factory=Counter)
    milliseconds: dict[str, list[float]] = field(default_factory=dict)  # function -> per-invocation durations


def _units(operation: str, body: str) -> tuple[int, int]:
    """(read units, write units) of one DynamoDB call: one per item (items under 1 KB here, so under 4 KB
    for reads), two per item written in a transaction."""
    name = operation.split(":", 1)[1]
    try:
        request = json.loads(body)
    except ValueError:
        request = {}
    if name == "TransactWriteItems":
        return 0, 2 * max(1, len(request.get("TransactItems", [])))
    if name == "BatchGetItem":
        return sum(len(t.get("Keys", [])) for t in request.get("RequestItems", {}).values()) or 1, 0
    return (1, 0) if name in READS else (0, 1) if name in WRITES else (0, 0)


class _Session:
    """One local runtime; requests to its Identity API, each one's calls and function durations."""

    def __init__(self, runtime: Any) -> None:
        self.rt = runtime
        self.client = TenantryClient.for_runtime(runtime, source="bench.crm")
        self.client.register_source()
        self.client.watch()
        self.api = runtime.outputs["ApiUrl"]
        self.events: dict[str, Any] = {}  # function -> the last event it was invoked with
        self.last_body: dict[str, Any] = {}  # the JSON answer of the last request
        self._timing: list[tuple[str, float]] | None = None
        original = runtime.lambdas.invoke

        def timed(name_or_arn: str, event: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(name_or_arn, event)
            finally:
                name = runtime.lambdas.spec(name_or_arn).name
                if self._timing is not None:
                    self._timing.append((name, (time.perf_counter() - began) * 1000))
                    self.events[name] = event

        runtime.lambdas.invoke = timed

    def onboarded(self) -> dict[str, Any]:
        return self.client.onboard(
            {
                "requestId": self.client.request_id("bench-api"),
                "tenantName": "Bench API",
                "isolation": "shared",
                "admin": {"email": "admin@bench-api.example", "name": "Bench Admin"},
            }
        )

    def user(self, tenant: dict[str, Any], role: str) -> dict[str, Any]:
        request_id = self.client.request_id(f"bench-{role.lower()}")
        profile = self.client.register_and_activate(
            {
                "requestId": request_id,
                "tenantId": tenant["tenantId"],
                "email": f"{request_id}@bench-api.example",
                "name": f"Bench {role}",
                "role": role,
            }
        )
        self.client.cognito.admin_set_user_password(
            UserPoolId=tenant["userPoolId"], Username=profile["username"], Password="Correct-Horse-9", Permanent=True
        )
        return profile

    def bearer(self, tenant: dict[str, Any], user: dict[str, Any]) -> dict[str, str]:
        result = self.client.sign_in(tenant["appClientId"], user["username"], "Correct-Horse-9")["AuthenticationResult"]
        return {"Authorization": f"Bearer {result['AccessToken']}"}

    def request(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Measured]:
        """One request with nothing else going on: its AWS calls (up to the workflow it starts, whose own calls
        are the workflow's) and the duration of each function it invoked."""
        self.settle()
        self.rt.streams.pause()  # the stream's consumers act after the request, not for it
        self.rt.cloudtrail.enabled = False
        self.rt.calls.clear()
        self._timing = []
        import requests

        answer = requests.request(method, self.api + path, headers=headers, json=body, timeout=30)
        status = answer.status_code
        self.last_body = (
            answer.json() if answer.content and answer.headers.get("Content-Type", "").startswith("application/json") else {}
        )
        recent, timing, self._timing = list(self.rt.calls.recent), self._timing, None
        self.rt.streams.resume()
        self.rt.cloudtrail.enabled = True
        measured = Measured()
        for operation, call_body in recent:
            if operation in NOT_THE_REQUESTS or operation.startswith("dynamodbstreams:"):
                continue
            measured.calls[operation] += 1
            if operation.startswith("dynamodb:"):
                reads, writes = _units(operation, call_body)
                measured.read_units += reads
                measured.write_units += writes
            if operation == "stepfunctions:StartExecution":
                break  # what follows is the started workflow's
        for name, ms in timing:
            measured.invocations[name] += 1
            measured.milliseconds.setdefault(name, []).append(ms)
        return status, measured

    def settle(self) -> None:
        """Until nothing runs: registrations parked waiting for activation (POST /users starts one no one
        activates), the MFA workflows ended, no stream record waiting."""
        self.rt.wait_settled()
        registration = "UserRegistrationStateMachineArn"
        listed = self.client.sfn.list_executions(stateMachineArn=self.rt.outputs[registration])["executions"]
        running = [e["name"] for e in listed if e["status"] == "RUNNING"]
        self.client.wait_executions(registration, running, WAITING_FOR_ACTIVATION, timeout=30)
        for machine in ("MfaRequirementChangeStateMachineArn", "MfaComplianceStateMachineArn"):
            self.client.wait_idle(machine)
        self.rt.wait_settled()


def _function_env(runtime: Any, function: str) -> tuple[Path, dict[str, str]]:
    from tenantry_local.lambdas import worker_base_env

    spec = runtime.lambdas.spec(function)
    return spec.code_dir, {**os.environ, **worker_base_env(runtime.endpoint), **spec.environment}


def _warm(code_dir: str, env: dict[str, str], event: Any, invocations: int, queue: Any, inject_lookups: bool) -> None:
    """In a process of its own (each handler is a module `app`): load the handler as Lambda does, call it."""
    import contextlib
    import io

    os.environ.update(env)
    from tenantry_local.lambda_worker import load_handler

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "bench", 256, "bench"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 30000

    handler = load_handler(code_dir, "app.handler")
    if inject_lookups:  # the authorizer's verifier with its two lookups answered from memory: no I/O at all
        _inject_lookups(sys.modules["app"])
    times = []
    with contextlib.redirect_stdout(io.StringIO()):
        for _ in range(invocations):
            payload = json.loads(json.dumps(event))
            began = time.perf_counter()
            handler(payload, Context())
            times.append((time.perf_counter() - began) * 1e6)
    queue.put(times[invocations // 10 :])  # the first tenth warms up (JWKS, clients, imports)


def _inject_lookups(app: Any) -> None:
    """Replace the authorizer's verifier by one whose registration and revocation lookups answer what the
    table answered once (the JWKS still fetched once, from the local runtime)."""
    from tenantry.tokens import TokenVerifier

    real = app.verifier()
    registrations: dict[tuple[str, str], Any] = {}
    revocations: dict[str, Any] = {}

    def registration(pool_id: str, tenant_id: str) -> Any:
        if (pool_id, tenant_id) not in registrations:
            registrations[pool_id, tenant_id] = real._registration(pool_id, tenant_id)
        return registrations[pool_id, tenant_id]

    def revoked_at(user_id: str) -> Any:
        if user_id not in revocations:
            revocations[user_id] = real._revoked_at(user_id)
        return revocations[user_id]

    injected = TokenVerifier(real._region, registration, revoked_at, jwks_url=real._jwks_url)
    app.verifier = lambda: injected


def _warm_times(code_dir: Path, env: dict[str, str], event: Any, invocations: int, inject_lookups: bool = False) -> list[float]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_warm, args=(str(code_dir), env, event, invocations, queue, inject_lookups))
    process.start()
    times: list[float] = queue.get(timeout=600)
    process.join()
    return times


def _scenarios(session: _Session) -> list[tuple[str, Callable[[], tuple[int, Measured]]]]:
    tenant = session.onboarded()
    admin = session.user(tenant, "Admin")
    targets = {name: session.user(tenant, "ReadOnly") for name in ("read", "status", "role", "mfa", "revoke", "delete")}
    headers = session.bearer(tenant, admin)
    from tenantry.api_keys import ApiKeyStore

    store = ApiKeyStore(session.rt.outputs["TableName"], session.rt.client("dynamodb"))
    _, key = store.create(tenant["tenantId"], admin["userId"], "bench", ["users:read"], 1)
    made: dict[str, str] = {}

    def post_key() -> tuple[int, Measured]:
        status, measured = session.request(
            "POST", "/api-keys", headers, {"name": "made over HTTP", "scopes": ["users:read"], "expiresInDays": 1}
        )
        made["keyId"] = next((k.keyId for k in store.list(tenant["tenantId"]) if k.name == "made over HTTP"), "none")
        return status, measured

    def user_id(name: str) -> str:
        return str(targets[name]["userId"])

    return [
        ("GET /me", lambda: session.request("GET", "/me", headers)),
        ("GET /users/{id}", lambda: session.request("GET", f"/users/{user_id('read')}", headers)),
        (
            "GET /users?email=",
            lambda: session.request("GET", f"/users?email={urllib.parse.quote(targets['read']['email'])}", headers),
        ),
        (
            "POST /users",
            lambda: session.request(
                "POST", "/users", headers, {"email": "new@bench-api.example", "name": "New One", "role": "Member"}
            ),
        ),
        ("GET /api-keys", lambda: session.request("GET", "/api-keys", headers)),
        ("POST /api-keys", post_key),
        ("DELETE /api-keys/{id}", lambda: session.request("DELETE", f"/api-keys/{made.get('keyId', 'none')}", headers)),
        (
            "PATCH /users/{id}/status DISABLED",
            lambda: session.request("PATCH", f"/users/{user_id('status')}/status", headers, {"status": "DISABLED"}),
        ),
        (
            "PATCH /users/{id}/status ACTIVE",
            lambda: session.request("PATCH", f"/users/{user_id('status')}/status", headers, {"status": "ACTIVE"}),
        ),
        (
            "PUT /users/{id}/role promote",
            lambda: session.request("PUT", f"/users/{user_id('role')}/role", headers, {"role": "Member"}),
        ),
        ("PUT /users/{id}/mfa", lambda: session.request("PUT", f"/users/{user_id('mfa')}/mfa", headers, {"required": True})),
        (
            "POST /users/{id}/sessions/revoke",
            lambda: session.request("POST", f"/users/{user_id('revoke')}/sessions/revoke", headers),
        ),
        ("DELETE /users/{id}", lambda: session.request("DELETE", f"/users/{user_id('delete')}", headers)),
        ("key: GET /users/{id}", lambda: session.request("GET", f"/users/{user_id('read')}", {"X-Api-Key": key})),
        ("no credentials: GET /me (401)", lambda: session.request("GET", "/me", {})),
        *_sign_in_scenarios(session, tenant, admin, headers, targets),
    ]


def _sign_in_scenarios(
    session: _Session, tenant: dict[str, Any], admin: dict[str, Any], headers: dict[str, str], targets: dict[str, Any]
) -> list[tuple[str, Callable[[], tuple[int, Measured]]]]:
    """The sign-in, profile-data, badge and avatar routes, as the admin and as a user with TOTP."""
    from tenantry.api_keys import ApiKeyStore
    from tenantry_local.client import totp_code

    login = {"tenantId": tenant["tenantId"], "username": admin["email"], "password": "Correct-Horse-9"}
    totp_user = session.user(tenant, "Member")
    totp_login = login | {"username": totp_user["email"]}
    member_headers = session.bearer(tenant, totp_user)
    import requests

    secret = requests.post(f"{session.api}/me/mfa/totp", headers=member_headers, timeout=30).json()["secretCode"]
    requests.post(f"{session.api}/me/mfa/totp/verify", json={"code": totp_code(secret)}, headers=member_headers, timeout=30)
    challenge: dict[str, str] = {}
    refresh = session.client.sign_in(tenant["appClientId"], admin["username"], "Correct-Horse-9")["AuthenticationResult"]
    store = ApiKeyStore(session.rt.outputs["TableName"], session.rt.client("dynamodb"))
    _, verifier_key = store.create(tenant["tenantId"], admin["userId"], "bench verify", ["tokens:verify"], 1)
    target = str(targets["read"]["userId"])

    def challenged() -> tuple[int, Measured]:
        status, measured = session.request("POST", "/auth/login", {}, totp_login)
        challenge["session"] = str(session.last_body.get("session", ""))
        return status, measured

    def answered() -> tuple[int, Measured]:
        return session.request(
            "POST", "/auth/login/mfa", {}, {"session": challenge.get("session", ""), "code": totp_code(secret)}
        )

    return [
        ("POST /auth/login", lambda: session.request("POST", "/auth/login", {}, login)),
        ("POST /auth/login (wrong password)", lambda: session.request("POST", "/auth/login", {}, login | {"password": "x"})),
        ("POST /auth/login (TOTP user)", challenged),
        ("POST /auth/login/mfa", answered),
        (
            "POST /auth/refresh",
            lambda: session.request(
                "POST", "/auth/refresh", {}, {"tenantId": tenant["tenantId"], "refreshToken": refresh["RefreshToken"]}
            ),
        ),
        (
            "POST /auth/password/forgot",
            lambda: session.request(
                "POST", "/auth/password/forgot", {}, {"tenantId": tenant["tenantId"], "username": admin["email"]}
            ),
        ),
        ("PATCH /me/data", lambda: session.request("PATCH", "/me/data", headers, {"theme": "dark"})),
        ("PUT /users/{id}/data", lambda: session.request("PUT", f"/users/{target}/data", headers, {"plan": "gold"})),
        (
            "GET /badges (catalogue cached)",
            lambda: (session.request("GET", "/badges", headers), session.request("GET", "/badges", headers))[1],
        ),
        ("POST /users/{id}/badges/{name}", lambda: session.request("POST", f"/users/{target}/badges/EARLY_ADOPTER", headers)),
        ("POST /me/avatar", lambda: session.request("POST", "/me/avatar", headers, {"contentType": "image/png"})),
        (
            "key: POST /auth/token/verify",
            lambda: session.request("POST", "/auth/token/verify", {"X-Api-Key": verifier_key}, {"token": refresh["AccessToken"]}),
        ),
        ("POST /auth/logout", lambda: session.request("POST", "/auth/logout", headers)),
    ]


def _login_latency(session: _Session, runs: int) -> None:
    """POST /auth/login end to end on the local runtime (HTTP, gateway, the API function's worker, moto's
    Cognito and DynamoDB), a fresh tenant's Admin, `runs` times after 10 left out."""
    import requests

    tenant = session.onboarded()
    admin = session.user(tenant, "Admin")
    body = {"tenantId": tenant["tenantId"], "username": admin["email"], "password": "Correct-Horse-9"}
    times = []
    with requests.Session() as http:
        for n in range(runs + 10):
            began = time.perf_counter()
            answer = http.post(f"{session.api}/auth/login", json=body, timeout=30)
            if n >= 10:
                times.append((time.perf_counter() - began) * 1000)
            if answer.status_code != 200:
                raise RuntimeError(f"login answered {answer.status_code}: {answer.text}")
    times.sort()
    print(
        f"  POST /auth/login on the local runtime ({runs} sign-ins, 10 left out): p50 {statistics.median(times):.1f} ms, "
        f"p99 {times[min(len(times) - 1, int(len(times) * 0.99))]:.1f} ms"
    )


def _function_label(name: str, authorizer: str, api_function: str) -> str:
    if name == authorizer:
        return "authorizer"
    if name == api_function:
        return "API function"
    return name.split("-", 1)[-1]  # a Cognito trigger of a sign-in: its name without the stack's


def _cost_per_million(measured: Measured, memory_mb: dict[str, int]) -> float:
    """Dollars per million such requests: the HTTP API request, each Lambda invocation (request and duration,
    billed by the millisecond rounded up), and DynamoDB's request units."""
    gb_seconds = sum(
        math.ceil(statistics.median(ms)) / 1000 * memory_mb[name] / 1024 * measured.invocations[name] / len(ms)
        for name, ms in measured.milliseconds.items()
    )
    return (
        PRICES["http_api_per_million"]
        + sum(measured.invocations.values()) * PRICES["lambda_per_million"]
        + gb_seconds * PRICES["lambda_gb_second"] * 1_000_000
        + measured.read_units * PRICES["ddb_read_unit_per_million"]
        + measured.write_units * PRICES["ddb_write_unit_per_million"]
    )


def _short(calls: dict[str, int]) -> str:
    return ", ".join(f"{n} {op.split(':', 1)[1]}" for op, n in sorted(calls.items())) or "none"


def api_figures(
    invocations: int = int(os.environ.get("API_INVOCATIONS", "2000")), runs: int = int(os.environ.get("API_RUNS", "20"))
) -> None:
    from tenantry_local.bench import _percentile, _whole_process_seconds  # the bench's own measures, shared
    from tenantry_local.runtime import LocalRuntime

    runtime = LocalRuntime(PROJECT, port=free_port(), run_schedules=False).start()
    try:
        session = _Session(runtime)
        authorizer = runtime.lambdas.spec(f"{runtime.stack_name}-AuthorizerFunction")
        api_function = runtime.lambdas.spec(f"{runtime.stack_name}-IdentityApiFunction")
        # every function a request invokes, Cognito's triggers of a sign-in among them: its memory from the template
        memory_mb = {spec.name: spec.memory_mb for spec in runtime.lambdas.specs()}
        scenarios = _scenarios(session)
        _, cold = scenarios[0][1]()  # GET /me on workers not yet started: their cold start, the pool's JWKS
        results, events = [], {}
        for label, scenario in scenarios:
            status, measured = scenario()
            results.append((label, status, measured))
            if label == "GET /me":  # the events the gateway sent, replayed in-process below
                events = {name: session.events[name] for name in (authorizer.name, api_function.name)}
        session.settle()

        print("Identity API")
        code_dir, env = _function_env(runtime, authorizer.name)
        boto3_import = _whole_process_seconds("import boto3", code_dir, env, runs)
        authorizer_import = _whole_process_seconds("import app", code_dir, env, runs)
        print(
            f"  cold import, whole process (median of {runs}): authorizer `import app` {authorizer_import * 1000:.1f} ms, "
            f"`import boto3` {boto3_import * 1000:.1f} ms: ratio {authorizer_import / boto3_import:.2f}"
        )
        print(
            f"  warm, in-process ({invocations} calls, the first tenth left out; the payload 2.0 events of a real request, "
            "a token the local Cognito signed, DynamoDB on the local runtime over HTTP):"
        )
        for label, spec, inject in (
            ("authorizer handler (token: 2 GetItem)", authorizer, False),
            ("authorizer handler, lookups injected (no I/O)", authorizer, True),
            ("GET /me, API function resolver (1 GetItem)", api_function, False),
        ):
            directory, function_env = _function_env(runtime, spec.name)
            times = _warm_times(directory, function_env, events[spec.name], invocations, inject)
            print(
                f"    {label:<46} p50 {statistics.median(times) / 1000:7.2f} ms   p99 {_percentile(times, 0.99) / 1000:7.2f} ms"
            )

        print(
            "  per request, on the local runtime: AWS calls (authorizer and API function; a started workflow's own not "
            "counted) vs the minimum, function durations, cost"
        )
        print(
            f"  prices used (us-east-1 list): HTTP API ${PRICES['http_api_per_million']:.2f}/M requests; Lambda arm64 "
            f"${PRICES['lambda_gb_second']}/GB-s + ${PRICES['lambda_per_million']:.2f}/M requests (memory from template.yaml: "
            f"authorizer {authorizer.memory_mb} MB, API function {api_function.memory_mb} MB; durations as measured here, "
            f"rounded up to 1 ms); DynamoDB on-demand ${PRICES['ddb_write_unit_per_million']:.2f}/M write units, "
            f"${PRICES['ddb_read_unit_per_million']:.2f}/M read units (one unit per item). Cognito, Step Functions and "
            "EventBridge calls are listed but not priced."
        )
        print(
            "    first request, workers cold (GET /me): "
            + ", ".join(f"{name} {ms[0]:.0f} ms" for name, ms in sorted(cold.milliseconds.items()))
            + f"; {_short(dict(cold.calls))}"
        )
        for label, status, measured in results:
            minimum = MINIMUM[label]
            extra = {k: v - minimum.get(k, 0) for k, v in measured.calls.items() if v > minimum.get(k, 0)}
            durations = ", ".join(
                f"{_function_label(name, authorizer.name, api_function.name)} {statistics.median(ms):.1f} ms"
                for name, ms in sorted(measured.milliseconds.items())
            )
            print(
                f"    {label:<36} {status}  {sum(measured.calls.values()):>2} calls (min {sum(minimum.values())})  "
                f"[{_short(dict(measured.calls))}]{'  over the minimum: ' + _short(extra) if extra else ''}; "
                f"{durations}; ${_cost_per_million(measured, memory_mb):.2f}/M"
            )
        sign_in = next(measured for label, _, measured in results if label == "POST /auth/login")
        print(
            f"  cost per 1,000 sign-ins (POST /auth/login as measured above): ${_cost_per_million(sign_in, memory_mb) / 1000:.5f}"
            " (Cognito is priced per monthly active user, not per sign-in: not included)"
        )
        _login_latency(session, runs=int(os.environ.get("LOGIN_RUNS", "200")))
    finally:
        runtime.stop()
