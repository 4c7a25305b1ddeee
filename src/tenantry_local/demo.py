"""`make demo`: the main job, offline. Boots the local runtime from template.yaml, posts onboarding requests
(a shared tenant, a dedicated tenant, a duplicate, an invalid one) as an upstream system would; registers,
activates and signs in a user in each tenant; over the Identity API, an Admin registers a SuperUser, who may
not create an Admin, does not find another tenant's user, and is refused once the Admin revokes their
sessions; requires MFA of one user, who switches it off and is thrown out;
prints the executions, tenants, token claims and events an operator wants to see; last, replays the whole
demo's window from the event archive (as `tenantry replay` does) and checks that nothing was made twice.
Exits 1 when an expectation fails."""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tenantry_local.client import WAITING_FOR_ACTIVATION, TenantryClient, free_port
from tenantry_local.runtime import LocalRuntime, ready_line

PROJECT = Path(__file__).resolve().parents[2]


class Demo(TenantryClient):
    """A client of Tenantry (an upstream system posting as crm.example, a consumer watching its events) that
    keeps score of the demo's expectations."""

    def __init__(self, runtime: LocalRuntime):
        super().__init__(
            runtime.client, runtime.outputs, settle=runtime.wait_settled, source="crm.example", watcher_name="demo-outbound"
        )
        self.rt = runtime
        self.failures: list[str] = []
        self.run = uuid.uuid4().hex[:6]
        self.watch()  # from the start: every event Tenantry publishes during the demo
        # What an operator does once per upstream system: python -m tenantry.sources grant crm.example ...
        self.register_source()

    def expect(self, ok: bool, what: str) -> None:
        print(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failures.append(what)

    def all_events(self) -> list[dict[str, Any]]:
        time.sleep(0.3)  # the last stream batch and log subscription window
        return self.outbound.matching()


def main() -> int:
    began = time.perf_counter()
    runtime = LocalRuntime(PROJECT, port=free_port(4566)).start()
    print(ready_line(runtime))
    try:
        return run(Demo(runtime), began)
    finally:
        runtime.stop()


def print_execution(demo: Demo, execution: dict[str, Any], transitions: dict[str, int]) -> None:
    states = demo.states(execution["executionArn"])
    transitions[execution["name"]] = len(states)
    seconds = (execution["stopDate"] - execution["startDate"]).total_seconds() if execution.get("stopDate") else 0.0
    print(f"  {execution['name']:<40} {execution['status']:<9} {seconds:5.2f}s  {len(states):>2} transitions")
    print(f"    {' > '.join(states)}")
    if execution["status"] == "FAILED":
        print(f"    error: {execution.get('error')}: {execution.get('cause')}")


def onboard_tenants(demo: Demo, transitions: dict[str, int]) -> dict[str, Any]:
    shared, dedicated, invalid = (f"demo-{demo.run}-{kind}" for kind in ("shared", "dedicated", "invalid"))
    requests = {
        shared: {
            "requestId": shared,
            "tenantName": "Acme Shared",
            "isolation": "shared",
            "admin": {"email": "ada@acme.example", "name": "Ada Lovelace"},
            "plan": "standard",
        },
        dedicated: {
            "requestId": dedicated,
            "tenantName": "Globex Dedicated",
            "isolation": "dedicated",
            "admin": {"email": "grace@globex.example", "name": "Grace Hopper"},
            "plan": "enterprise",
        },
        invalid: {
            "requestId": invalid,
            "tenantName": "Broken Co",
            "isolation": "shared",
            "admin": {"email": "not-an-email", "name": "Nobody"},
        },
    }
    print("\nPosting TenantOnboardingRequested: shared, dedicated, a duplicate of the shared one, an invalid one")
    for detail in requests.values():
        demo.post("TenantOnboardingRequested", detail)
    demo.post("TenantOnboardingRequested", requests[shared])  # the duplicate
    names = [f"onboard-{r}" for r in requests]
    finished = demo.wait_executions("TenantOnboardingStateMachineArn", names)
    print("\nExecutions (TenantOnboarding)")
    for name in names:
        if name in finished:
            print_execution(demo, finished[name], transitions)
    all_names = [
        e["name"] for e in demo.sfn.list_executions(stateMachineArn=demo.outputs["TenantOnboardingStateMachineArn"])["executions"]
    ]
    tenants = demo.tenants(list(requests))
    print("\nTenants")
    for tenant in sorted(tenants, key=lambda t: t["tenantName"]):
        print(
            f"  {tenant['tenantId']}  {tenant['tenantName']:<18} {tenant['isolation']:<9} {tenant['status']:<8} "
            f"pool {tenant.get('userPoolId', '-')}"
        )
    status = {n: finished[n]["status"] for n in finished}
    demo.expect(status.get(f"onboard-{shared}") == "SUCCEEDED", "shared tenant onboarded")
    demo.expect(status.get(f"onboard-{dedicated}") == "SUCCEEDED", "dedicated tenant onboarded")
    demo.expect(
        all_names.count(f"onboard-{shared}") == 1 and sum(t["requestId"] == shared for t in tenants) == 1,
        "duplicate absorbed: one execution and one tenant for the shared request",
    )
    demo.expect(status.get(f"onboard-{invalid}") == "FAILED", "invalid request rejected")
    demo.expect(not any(t["requestId"] == invalid for t in tenants), "invalid request created nothing")
    demo.expect(all(t["status"] == "ACTIVE" for t in tenants) and len(tenants) == 2, "both tenants ACTIVE")
    return {"shared": shared, "dedicated": dedicated, "invalid": invalid, "tenants": tenants}


def register_activate_sign_in(demo: Demo, tenants: list[dict[str, Any]], transitions: dict[str, int]) -> list[dict[str, Any]]:
    """Returns each signed-in user: tenant, username, userId and tokens."""
    print("\nRegistering a Member in each tenant, activating with the emailed code, signing in")
    registrations = {}
    for tenant in sorted(tenants, key=lambda t: t["isolation"]):
        request_id = f"demo-{demo.run}-member-{tenant['isolation']}"
        email = f"linus.{tenant['isolation']}@example.com"
        demo.register(
            {"requestId": request_id, "tenantId": tenant["tenantId"], "email": email, "name": "Linus Torvalds", "role": "Member"}
        )
        registrations[f"register-{request_id}"] = (tenant, request_id, email)
    machine = "UserRegistrationStateMachineArn"
    pending = demo.wait_executions(machine, list(registrations), waiting_in=WAITING_FOR_ACTIVATION)
    demo.expect(len(pending) == len(registrations), "registrations wait for activation")
    user_ids = {}
    for _, request_id, _ in registrations.values():
        try:
            user_ids[request_id] = demo.activate(request_id)
        except TimeoutError as error:
            demo.expect(False, str(error))
    finished = demo.wait_executions(machine, list(registrations))
    print("\nExecutions (UserRegistration)")
    for name in registrations:
        if name in finished:
            print_execution(demo, finished[name], transitions)
        demo.expect(
            name in finished
            and finished[name]["status"] == "SUCCEEDED"
            and demo.states(finished[name]["executionArn"])[-1] == "UserActivated",
            f"{name} activated",
        )
    print("\nSigning in (the activation page lets the user choose a password)")
    cognito = demo.cognito
    signed_in = []
    for tenant, request_id, email in registrations.values():
        username = email if tenant["isolation"] == "dedicated" else f"{tenant['tenantId']}/{email}"
        cognito.admin_set_user_password(
            UserPoolId=tenant["userPoolId"], Username=username, Password="Demo-Passw0rd!", Permanent=True
        )
        tokens = demo.sign_in(tenant["appClientId"], username, "Demo-Passw0rd!")
        claims = _claims(tokens["AuthenticationResult"]["IdToken"])
        access = _claims(tokens["AuthenticationResult"]["AccessToken"])
        tenant_claims = {k: claims.get(k) for k in ("tenant_id", "role", "isolation")}
        print(f"  {username:<48} ID token {json.dumps(tenant_claims)}")
        demo.expect(
            tenant_claims == {"tenant_id": tenant["tenantId"], "role": "Member", "isolation": tenant["isolation"]}
            and all(access.get(k) == v for k, v in tenant_claims.items()),
            f"{tenant['isolation']} user's ID and access tokens carry tenant_id, role and isolation",
        )
        signed_in.append(
            {"tenant": tenant, "username": username, "userId": user_ids.get(request_id), "tokens": tokens["AuthenticationResult"]}
        )
    return signed_in


def mfa_tampering_caught(demo: Demo, user: dict[str, Any], transitions: dict[str, int]) -> None:
    """The admin requires MFA; the user switches it off with their own token; Tenantry throws them out."""
    cognito, tenant, access = demo.cognito, user["tenant"], user["tokens"]["AccessToken"]
    print(f"\nMFA: {user['username']} sets up an authenticator app; their admin requires MFA")
    demo.set_up_totp(access)
    request_id = f"demo-{demo.run}-require-mfa"
    demo.post(
        "MfaRequirementChangeRequested",
        {"requestId": request_id, "tenantId": tenant["tenantId"], "userId": user["userId"], "required": True},
    )
    changed = demo.wait_executions("MfaRequirementChangeStateMachineArn", [f"mfa-change-{request_id}"])
    for execution in changed.values():
        print_execution(demo, execution, transitions)
    # Let the checks this change and the set-up started finish first, so the switch-off below is caught by
    # its own detection (CloudTrail), not by a check that happened to look at the user afterwards.
    demo.wait_idle("MfaComplianceStateMachineArn")
    machine = demo.outputs["MfaComplianceStateMachineArn"]
    print("MFA: the user switches their authenticator off with their own access token (SetUserMFAPreference)")
    cognito.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": False})
    deadline, caught = time.monotonic() + 30, None
    while caught is None and time.monotonic() < deadline:
        for item in demo.sfn.list_executions(stateMachineArn=machine)["executions"]:
            described = demo.sfn.describe_execution(executionArn=item["executionArn"])
            if described["status"] != "RUNNING" and demo.states(item["executionArn"])[-1] == "SessionsRevoked":
                caught = described
        time.sleep(0.1)
    print("\nExecutions (MfaCompliance)")
    for item in sorted(demo.sfn.list_executions(stateMachineArn=machine)["executions"], key=lambda e: e["startDate"]):
        print_execution(demo, demo.sfn.describe_execution(executionArn=item["executionArn"]), transitions)
    demo.expect(
        caught is not None and json.loads(caught["input"])["detectedBy"] == "cloudtrail",
        "switching MFA off is caught from CloudTrail",
    )
    refused = demo.refresh_refused(tenant["appClientId"], user["tokens"]["RefreshToken"])
    demo.expect(refused, "the user's sessions are revoked (refresh token refused)")
    found = cognito.admin_get_user(UserPoolId=tenant["userPoolId"], Username=user["username"])
    demo.expect("SOFTWARE_TOKEN_MFA" in (found.get("UserMFASettingList") or []), "the authenticator app is switched back on")


def identity_api(demo: Demo, tenants: list[dict[str, Any]], users: list[dict[str, Any]]) -> None:
    """The front door, over HTTP at ApiUrl: an Admin registers a SuperUser; the SuperUser cannot create an
    Admin; another tenant's user is not found; a revoked session is refused on its very next call."""
    import requests

    from tenantry.naming import cognito_username

    api = demo.outputs["ApiUrl"]
    shared = next(t for t in tenants if t["isolation"] == "shared")
    elsewhere = next((u for u in users if u["tenant"]["isolation"] != "shared"), None)
    print(f"\nIdentity API at {api}")

    def signed_in(username: str) -> str:
        demo.cognito.admin_set_user_password(
            UserPoolId=shared["userPoolId"], Username=username, Password="Demo-Passw0rd!", Permanent=True
        )
        return str(demo.sign_in(shared["appClientId"], username, "Demo-Passw0rd!")["AuthenticationResult"]["AccessToken"])

    def call(method: str, path: str, token: str, body: Any = None) -> requests.Response:
        answer = requests.request(method, f"{api}{path}", headers={"Authorization": f"Bearer {token}"}, json=body, timeout=30)
        print(f"  {method:<6} {path:<44} -> {answer.status_code} {answer.text[:90]}")
        return answer

    admin = signed_in(cognito_username("shared", shared["tenantId"], shared["adminEmail"]))
    email = f"grace.{demo.run}@example.com"
    created = call("POST", "/users", admin, {"email": email, "name": "Grace Hopper", "role": "SuperUser"})
    demo.expect(created.status_code == 202 and "requestId" in created.json(), "an Admin registers a SuperUser over HTTP (202)")
    if created.status_code != 202:
        return
    request_id = created.json()["requestId"]
    super_user_id = demo.activate(request_id)
    demo.wait_execution("UserRegistrationStateMachineArn", f"register-{request_id}")
    super_user = signed_in(cognito_username("shared", shared["tenantId"], email))
    refused = call("POST", "/users", super_user, {"email": f"ada.{demo.run}@example.com", "name": "Ada", "role": "Admin"})
    demo.expect(refused.status_code == 403, "the SuperUser cannot create an Admin (403)")
    if elsewhere and elsewhere.get("userId"):
        across = call("GET", f"/users/{elsewhere['userId']}", super_user)
        demo.expect(across.status_code == 404, "a user of another tenant is not found (404)")
    demo.expect(call("GET", "/me", super_user).status_code == 200, "the SuperUser reads their own profile")
    revoked = call("POST", f"/users/{super_user_id}/sessions/revoke", admin)
    demo.expect(revoked.status_code == 204, "the Admin revokes the SuperUser's sessions")
    after = call("GET", "/me", super_user)
    demo.expect(after.status_code == 401, "the revoked session is refused on its next call (401)")


AVATAR_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5"
    "8e5c560000000049454e44ae426082"
)


class EndUserDay:
    """An end user's day over HTTP only: their Admin registers them; they activate with the emailed code and a
    password of their choosing, sign in, set up TOTP, sign in with the code, update their data, upload an avatar,
    receive a badge, forget and reset their password, and sign out. Every secret met on the way goes into
    `secrets`, which the demo then looks for in every log line, event and execution history."""

    def __init__(self, demo: Demo, tenant: dict[str, Any]):
        self.demo, self.tenant = demo, tenant
        self.api = demo.outputs["ApiUrl"]
        self.secrets: list[str] = []
        self.email = f"linus.{demo.run}@example.com"
        self.password = "Linus-Chose-This-1!"
        self.user_id = ""
        self.admin = ""
        self.token = ""
        self.totp_secret = ""

    def call(self, method: str, path: str, token: str = "", body: Any = None, headers: dict[str, str] | None = None) -> Any:
        import requests

        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        answer = requests.request(method, f"{self.api}{path}", headers=sent, json=body, timeout=30)
        shown = "" if path.startswith("/auth/") or path == "/me/mfa/totp" else answer.text[:80]  # never print a secret
        print(f"  {method:<6} {path:<44} -> {answer.status_code} {shown}")
        return answer

    def login(self, email: str, password: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call(
            "POST", "/auth/login", body={"tenantId": self.tenant["tenantId"], "username": email, "password": password}
        ).json()
        self.keep(answer.get("accessToken"), answer.get("idToken"), answer.get("refreshToken"), answer.get("session"))
        return answer

    def keep(self, *secrets: Any) -> None:
        self.secrets += [str(s) for s in secrets if s]

    def run(self) -> list[str]:
        print(f"\nAn end user's day, over HTTP at {self.api}")
        self.registered_and_activated()
        self.signed_in_with_totp()
        self.profile_updated()
        self.password_reset_and_signed_out()
        return self.secrets

    def registered_and_activated(self) -> None:
        from tenantry.naming import cognito_username

        demo, tenant = self.demo, self.tenant
        admin_password = "Demo-Admin-Passw0rd!"
        self.keep(admin_password, self.password)
        username = cognito_username("shared", tenant["tenantId"], tenant["adminEmail"])
        demo.cognito.admin_set_user_password(
            UserPoolId=tenant["userPoolId"], Username=username, Password=admin_password, Permanent=True
        )
        self.admin = str(self.login(tenant["adminEmail"], admin_password).get("accessToken", ""))
        created = self.call("POST", "/users", self.admin, {"email": self.email, "name": "Linus Torvalds", "role": "Member"})
        demo.expect(created.status_code == 202, "the Admin registers a Member over HTTP (202)")
        request_id = created.json().get("requestId", "")
        registered = demo.outbound.wait_for("UserRegistered", timeout=20, requestId=request_id)
        self.user_id = registered[0]["detail"]["userId"] if registered else ""
        issued = demo.outbound.wait_for("UserActivationCodeIssued", timeout=20, userId=self.user_id)
        code = issued[0]["detail"]["code"] if issued else ""  # as the notification service gets it, to email it
        self.keep(code)
        activated = self.call("POST", "/auth/activate", body={"code": code, "password": self.password})
        demo.expect(activated.status_code == 200, "the user activates with the emailed code and a password of their choosing")
        execution = demo.wait_execution("UserRegistrationStateMachineArn", f"register-{request_id}")
        demo.expect(execution["status"] == "SUCCEEDED", "the waiting registration resumed and succeeded")

    def signed_in_with_totp(self) -> None:
        from tenantry_local.client import totp_code

        demo = self.demo
        first = self.login(self.email, self.password)
        demo.expect("accessToken" in first, "they sign in with their email and password (tokens)")
        token = str(first.get("accessToken", ""))
        self.totp_secret = str(self.call("POST", "/me/mfa/totp", token).json().get("secretCode", ""))
        setup_code = totp_code(self.totp_secret)
        self.keep(self.totp_secret, setup_code)
        verified = self.call("POST", "/me/mfa/totp/verify", token, {"code": setup_code})
        demo.expect(verified.status_code == 200, "they set up an authenticator app (TOTP)")
        challenge = self.login(self.email, self.password)
        demo.expect(challenge.get("challenge") == "SOFTWARE_TOKEN_MFA", "the next sign-in asks for the code")
        code = totp_code(self.totp_secret)
        answered = self.call("POST", "/auth/login/mfa", body={"session": challenge.get("session", ""), "code": code}).json()
        self.keep(answered.get("accessToken"), answered.get("idToken"), answered.get("refreshToken"))
        demo.expect("accessToken" in answered, "they answer with the authenticator's code (tokens)")
        self.token = str(answered.get("accessToken", ""))

    def profile_updated(self) -> None:
        import requests

        demo, token = self.demo, self.token
        changed = self.call("PATCH", "/me/data", token, {"theme": "dark", "editor": {"tabs": 8}})
        stale = self.call("PATCH", "/me/data", token, {"theme": "light"}, headers={"If-Match": '"v0"'})
        demo.expect(
            changed.status_code == 200 and stale.status_code == 412, "they update their data; a stale If-Match is refused (412)"
        )
        form = self.call("POST", "/me/avatar", token, {"contentType": "image/png"}).json()
        files = {"file": ("me.png", AVATAR_PNG, "image/png")}
        uploaded = requests.post(form["url"], data=form["fields"], files=files, timeout=30)
        print(f"  POST   (S3) {form['key'][:39]:<39} -> {uploaded.status_code}")
        deadline = time.monotonic() + 15
        while (avatar := self.call("GET", "/me", token).json().get("avatarUrl")) is None and time.monotonic() < deadline:
            time.sleep(0.3)
        shown = avatar is not None and requests.get(avatar, timeout=30).content == AVATAR_PNG
        demo.expect(shown, "they upload an avatar straight to S3; their profile shows it")
        badge = self.call("POST", f"/users/{self.user_id}/badges/EARLY_ADOPTER", self.admin)
        demo.expect(badge.status_code == 200 and badge.json().get("changed") is True, "their Admin gives them a badge")

    def password_reset_and_signed_out(self) -> None:
        import requests

        demo, tenant = self.demo, self.tenant
        forgot = self.call("POST", "/auth/password/forgot", body={"tenantId": tenant["tenantId"], "username": self.email})
        endpoint = self.api.split("/_apis/")[0]  # the local runtime's mailbox: what Cognito would have emailed
        mail = requests.get(f"{endpoint}/_tenantry/cognito/messages", timeout=30).json()["messages"]
        reset_code = next((m["code"] for m in reversed(mail) if m["email"] == self.email), "")
        new_password = "Linus-Chose-Again-2!"
        self.keep(reset_code, new_password)
        body = {"tenantId": tenant["tenantId"], "username": self.email, "code": reset_code, "password": new_password}
        reset = self.call("POST", "/auth/password/reset", body=body)
        again = self.login(self.email, new_password)
        demo.expect(
            forgot.status_code == 202 and reset.status_code == 204 and again.get("challenge") == "SOFTWARE_TOKEN_MFA",
            "they forget their password, reset it with the emailed code, and sign in with the new one",
        )
        out = self.call("POST", "/auth/logout", self.token)
        after = self.call("GET", "/me", self.token)
        demo.expect(
            out.status_code == 204 and after.status_code == 401, "they sign out everywhere; the old token is refused at once"
        )


def leaked_secrets(demo: Demo, secrets: list[str], log_lines: list[str]) -> list[str]:
    """Where any of `secrets` shows up: log lines of every function, events (an activation code only in its
    own UserActivationCodeIssued), and the history of every execution."""
    found = []
    wanted = [s for s in secrets if s and len(s) >= 6]
    for line in log_lines:
        found += [f"a log line holds {s[:4]}…" for s in wanted if s in line]
    for event in demo.all_events():
        allowed = event["detail"].get("code") if event["detail-type"] == "UserActivationCodeIssued" else None
        text = json.dumps(event)
        found += [f"{event['detail-type']} holds {s[:4]}…" for s in wanted if s in text and s != allowed]
    for output in (
        "TenantOnboardingStateMachineArn",
        "TenantOffboardingStateMachineArn",
        "UserRegistrationStateMachineArn",
        "MfaRequirementChangeStateMachineArn",
        "MfaComplianceStateMachineArn",
        "MfaSweepStateMachineArn",
    ):
        for execution in demo.sfn.list_executions(stateMachineArn=demo.outputs[output])["executions"]:
            history = json.dumps(demo.sfn.get_execution_history(executionArn=execution["executionArn"])["events"], default=str)
            found += [f"execution {execution['name']} holds {s[:4]}…" for s in wanted if s in history]
    return found


def _claims(token: str) -> dict[str, Any]:
    import base64

    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def replay_changes_nothing(demo: Demo, since: datetime) -> None:
    """The audit trail: the whole demo's window replayed from the archive to the bus, as `tenantry replay`
    does. Every consumer absorbs what it has handled before: no execution, item, user or event id is new."""
    from tenantry_ops.archive import replay
    from tenantry_ops.stack import Stack

    print("\nReplaying the demo's window from the event archive (tenantry replay)")
    demo.wait_all_idle()
    demo.rt.wait_settled()
    before = demo.footprint()
    done = replay(Stack.local(demo.rt.endpoint), since, datetime.now(UTC) + timedelta(seconds=1))
    demo.wait_all_idle()
    demo.rt.wait_settled()
    time.sleep(0.5)  # the replayed outbound events reach the demo's watcher
    after = demo.footprint()
    changed = [part for part in before if after[part] != before[part]]
    demo.expect(
        done["state"] == "COMPLETED" and not changed,
        f"replaying the demo's window made nothing twice ({len(before['items'])} items, "
        f"{sum(map(len, before['executions'].values()))} executions, {len(before['eventIds'])} event ids)"
        + (f": {', '.join(changed)} changed" if changed else ""),
    )


def run(demo: Demo, began: float) -> int:
    since = datetime.now(UTC) - timedelta(seconds=1)
    transitions: dict[str, int] = {}
    log_lines: list[str] = []  # every function's log line of the whole demo, checked for secrets at the end
    demo.rt.logs.taps.append(lambda group, line: log_lines.append(line))
    onboarding = onboard_tenants(demo, transitions)
    users = register_activate_sign_in(demo, onboarding["tenants"], transitions)
    dedicated_user = next((u for u in users if u["tenant"]["isolation"] == "dedicated"), None)
    identity_api(demo, onboarding["tenants"], users)
    secrets: list[str] = []
    shared = next(t for t in onboarding["tenants"] if t["isolation"] == "shared")
    secrets += EndUserDay(demo, shared).run()
    if dedicated_user:
        mfa_tampering_caught(demo, dedicated_user, transitions)

    events = demo.all_events()
    print("\nEvents published on the bus (source tenantry)")
    for event in events:
        detail = event["detail"]
        keys = {
            k: ("<redacted>" if k == "code" else detail[k])
            for k in ("requestId", "tenantId", "userId", "reason", "field", "code", "detectedBy", "required")
            if k in detail
        }
        print(f"  {event['detail-type']:<26} {json.dumps(keys)}")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["detail-type"], []).append(event["detail"])
    demo.expect(
        sorted(d["requestId"] for d in by_type.get("TenantOnboarded", []))
        == sorted([onboarding["shared"], onboarding["dedicated"]]),
        "TenantOnboarded published once for each new tenant",
    )
    rejected = [d for d in by_type.get("TenantOnboardingFailed", []) if d["requestId"] == onboarding["invalid"]]
    demo.expect(
        len(rejected) == 1 and rejected[0].get("field") == "admin.email",
        "TenantOnboardingFailed names the wrong field (admin.email)",
    )
    demo.expect(
        len(by_type.get("UserActivated", [])) == 4, "UserActivated published for each user (three Members, the SuperUser)"
    )
    revoked = sorted(d["reason"] for d in by_type.get("SessionsRevoked", []))
    demo.expect(
        len(by_type.get("MfaComplianceViolated", [])) == 1
        and revoked == ["api:revoke", "mfa-compliance:cloudtrail", "signed-out"],
        "MfaComplianceViolated published once; SessionsRevoked once per revocation (the Admin's, the MFA check's, a sign-out)",
    )
    leaks = leaked_secrets(demo, secrets, log_lines)
    demo.expect(
        not leaks,
        f"no password, code, session or token in any of {len(log_lines)} log lines, the events or any execution history"
        + (f": {'; '.join(leaks[:5])}" if leaks else ""),
    )
    invalid_events = demo.outbound.violations
    demo.expect(not invalid_events, f"every event matches its schema ({len(events)} events) {'; '.join(invalid_events)}")
    replay_changes_nothing(demo, since)

    print(f"\nState transitions: {json.dumps(transitions)}")
    print(f"Demo wall time: {time.perf_counter() - began:.2f}s (runtime ready in {demo.rt.started_in:.2f}s)")
    if demo.failures:
        print(f"\n{len(demo.failures)} expectation(s) failed")
        return 1
    print("\nAll expectations met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
