"""`make bench`: measurements kept out of `make test`.

- time to ready: `make local` started as a separate process, until it prints its ready line (N runs);
- demo wall time: `make demo` end to end, as a separate process (N runs);
- state transitions of each onboarding path, and AWS calls made by the functions, from one demo run;
- the Identity API's figures (tenantry_local.bench_api; alone: `python -m tenantry_local.bench api`).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tenantry_local.client import TenantryClient, free_port, totp_code
from tenantry_local.subprocess_runtime import make_local

PROJECT = Path(__file__).resolve().parents[2]


def time_to_ready() -> float:
    with make_local(free_port()) as served:
        return served.seconds_to_ready


def demo_run() -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k != "MAKEFLAGS"}
    began = time.perf_counter()
    result = subprocess.run(
        ["make", "--no-print-directory", "demo"], cwd=PROJECT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    return time.perf_counter() - began, result.stdout


def calls_per_flow() -> None:
    """Each onboarding path alone on a fresh runtime: AWS calls served and state transitions."""
    from tenantry_local.runtime import LocalRuntime

    runtime = LocalRuntime(PROJECT, port=free_port()).start()
    try:
        client = TenantryClient.for_runtime(runtime, source="bench.crm")
        client.register_source()
        client.watch()
        run = client.request_id("bench")
        flows: dict[str, dict[str, Any]] = {
            "shared": {"isolation": "shared"},
            "dedicated": {"isolation": "dedicated"},
            "invalid": {"isolation": "shared", "admin": {"email": "nope", "name": "X"}},
        }
        for label, change in flows.items():
            request_id = f"{run}-{label}"
            detail: dict[str, Any] = {
                "requestId": request_id,
                "tenantName": f"Bench {label}",
                "isolation": "shared",
                "admin": {"email": f"{label}@bench.example", "name": "Bench Admin"},
            } | change
            runtime.wait_settled()
            runtime.calls.clear()
            invocations_before = dict(runtime.lambdas.invocations)
            client.post("TenantOnboardingRequested", detail)
            execution = client.wait_execution("TenantOnboardingStateMachineArn", f"onboard-{request_id}")
            runtime.wait_settled()
            client.outbound.matching()
            calls = dict(runtime.calls.counts)
            # Not the flow's: the bench's own PutEvents, its polling, the local stream poller's reads and
            # the Lambda API's Invoke (counted below as function invocations, whoever invoked them).
            calls["events:PutEvents"] -= 1
            for own in (
                "stepfunctions:DescribeExecution",
                "stepfunctions:GetExecutionHistory",
                "dynamodbstreams:DescribeStream",
                "dynamodbstreams:GetShardIterator",
                "dynamodbstreams:GetRecords",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "lambda:Invoke",
            ):
                calls.pop(own, None)
            calls = {k: v for k, v in calls.items() if v}
            invoked = {
                k: v - invocations_before.get(k, 0)
                for k, v in runtime.lambdas.invocations.items()
                if v - invocations_before.get(k, 0)
            }
            transitions = len(client.states(execution["executionArn"]))
            print(
                f"{label:<9} {execution['status']:<9} {transitions:>2} state transitions; {sum(calls.values()):>2} AWS API calls "
                f"{json.dumps(dict(sorted(calls.items())))}; {sum(invoked.values())} function invocations "
                f"{json.dumps(dict(sorted(invoked.items())))}"
            )
    finally:
        runtime.stop()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _whole_process_seconds(code: str, cwd: Path, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def trigger_figures(invocations: int = 2000, runs: int = 20) -> None:
    """Each Cognito trigger: warm handler time in-process, and cold import as a whole process."""
    import contextlib
    import io

    from moto import mock_aws

    from tenantry_local.lambda_worker import load_handler

    samples = PROJECT / "schemas" / "cognito"
    env = {
        **os.environ,
        "SHARED_USER_POOL_ID": "us-east-1_SharedPool",
        "TABLE_NAME": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    os.environ.update(
        {
            k: env[k]
            for k in ("SHARED_USER_POOL_ID", "TABLE_NAME", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        }
    )
    cases = [
        ("pre token generation", "cognito_pre_token_generation", "TokenGeneration_Authentication", False),
        ("post authentication", "cognito_post_authentication", "PostAuthentication_Authentication", False),
        ("post confirmation", "cognito_post_confirmation", "PostConfirmation_ConfirmForgotPassword", False),
        ("pre sign-up, self sign-up refused", "cognito_pre_sign_up", "PreSignUp_SignUp", True),
        ("pre sign-up, admin-created (1 GetItem, moto in-process)", "cognito_pre_sign_up", "PreSignUp_AdminCreateUser", False),
    ]
    print(f"Cognito triggers: warm handler time over {invocations} in-process invocations")
    with mock_aws():
        import boto3

        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName="bench",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}],
        )
        ddb.put_item(
            TableName="bench", Item={"PK": {"S": "TENANT#tnt-3f2a9c1b7d4e6f80"}, "SK": {"S": "TENANT"}, "status": {"S": "ACTIVE"}}
        )
        for label, function, sample, raises in cases:
            handler = load_handler(str(PROJECT / "functions" / function), "app.handler")
            event = json.loads((samples / f"{sample}.json").read_text())
            times = []
            with contextlib.redirect_stdout(io.StringIO()):
                for _ in range(invocations):
                    payload = json.loads(json.dumps(event))
                    began = time.perf_counter()
                    try:
                        handler(payload, None)
                    except Exception:  # noqa: BLE001 - the refusal is the measured path
                        if not raises:
                            raise
                    times.append((time.perf_counter() - began) * 1e6)
            print(f"  {label:<58} median {statistics.median(times):8.1f} us   p99 {_percentile(times, 0.99):8.1f} us")
        times = _post_auth_with_required_mfa(invocations)
        label = "post authentication, MFA required (1 AdminGetUser, moto)"
        print(f"  {label:<58} median {statistics.median(times):8.1f} us   p99 {_percentile(times, 0.99):8.1f} us")
    print(f"Cold import as a whole process (python -c ..., median of {runs} runs)")
    baseline = _whole_process_seconds("pass", PROJECT, env, runs)
    boto3_import = _whole_process_seconds("import boto3", PROJECT, env, runs)
    print(f"  {'python -c pass':<58} {baseline * 1000:7.1f} ms")
    boto3_label = 'python -c "import boto3"'
    print(f"  {boto3_label:<58} {boto3_import * 1000:7.1f} ms")
    for label, function in [
        ("pre token generation", "cognito_pre_token_generation"),
        ("post authentication", "cognito_post_authentication"),
        ("pre sign-up", "cognito_pre_sign_up"),
        ("post confirmation", "cognito_post_confirmation"),
    ]:
        seconds = _whole_process_seconds("import app", PROJECT / "functions" / function, env, runs)
        print(f"  {'import app  (' + label + ')':<58} {seconds * 1000:7.1f} ms  ({seconds / boto3_import:.0%} of import boto3)")


def _post_auth_with_required_mfa(invocations: int) -> list[float]:
    """Post authentication for a user whose MFA is required and on: one AdminGetUser (moto in-process)."""
    import contextlib
    import io

    import boto3

    from tenantry_local.lambda_worker import load_handler

    cognito = boto3.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="bench")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    client_id = client["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="u", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="u", Password="Correct-Horse-9", Permanent=True)
    access = cognito.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "u", "PASSWORD": "Correct-Horse-9"}
    )["AuthenticationResult"]["AccessToken"]
    secret = cognito.associate_software_token(AccessToken=access)["SecretCode"]
    cognito.verify_software_token(AccessToken=access, UserCode=totp_code(secret))
    cognito.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    event = json.loads((PROJECT / "schemas" / "cognito" / "PostAuthentication_Authentication.json").read_text())
    event["userPoolId"], event["userName"] = pool, "u"
    event["request"]["userAttributes"]["custom:mfa_required"] = "true"
    handler = load_handler(str(PROJECT / "functions" / "cognito_post_authentication"), "app.handler")
    times = []
    with contextlib.redirect_stdout(io.StringIO()):
        for _ in range(invocations):
            payload = json.loads(json.dumps(event))
            began = time.perf_counter()
            handler(payload, None)
            times.append((time.perf_counter() - began) * 1e6)
    return times


def _in_own_process(figures: Callable[[], None]) -> None:
    """moto keeps its state per process, so a process holds at most one LocalRuntime: one process each."""
    sys.stdout.flush()
    process = multiprocessing.get_context("spawn").Process(target=figures)
    process.start()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"{figures.__name__} failed (exit code {process.exitcode})")


def main(argv: list[str]) -> int:
    from tenantry_local.bench_api import api_figures

    if argv == ["api"]:  # the Identity API's figures alone: python -m tenantry_local.bench api
        _in_own_process(api_figures)
        return 0
    trigger_figures()
    _in_own_process(mfa_figures)
    _in_own_process(calls_per_flow)
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    ready = [time_to_ready() for _ in range(runs)]
    print(
        f"make local, time to ready over {runs} runs: median {statistics.median(ready):.2f}s, "
        f"min {min(ready):.2f}s, max {max(ready):.2f}s"
    )
    walls, output = [], ""
    for _ in range(runs):
        wall, output = demo_run()
        walls.append(wall)
    print(
        f"make demo, wall time over {runs} runs: median {statistics.median(walls):.2f}s, "
        f"min {min(walls):.2f}s, max {max(walls):.2f}s"
    )
    transitions = re.search(r"State transitions: (.*)", output)
    print(f"state transitions per onboarding execution (last demo run): {transitions.group(1) if transitions else '?'}")
    _in_own_process(api_figures)
    return 0


def mfa_figures(runs: int = int(os.environ.get("MFA_RUNS", "50"))) -> None:
    """Detection-to-revocation time on the local runtime for paths 1-3, and transitions per compliance run.

    Revocation is taken as the moment the user's refresh token stops working (AdminUserGlobalSignOut done);
    the detection is the refused sign-in (path 1), the user's own SetUserMFAPreference call (path 2), or the
    requirement change reaching the stream consumer (path 3).
    """
    from tenantry_local.runtime import LocalRuntime

    runtime = LocalRuntime(PROJECT, port=free_port(), run_schedules=False).start()
    try:
        bench = _MfaBench(runtime)
        results = {}
        for path in ("sign-in", "cloudtrail", "requirement-change"):
            runtime.cloudtrail.enabled = path == "cloudtrail"
            results[path] = [bench.one_run(path) for _ in range(runs)]
        runtime.cloudtrail.enabled = True
        print(f"MFA detection to revocation on the local runtime ({runs} runs per path, time scale {runtime.time_scale})")
        for path, seconds in results.items():
            ms = [s * 1000 for s in seconds]
            print(
                f"  {path:<20} p50 {statistics.median(ms):7.0f} ms   p95 {_percentile(ms, 0.95):7.0f} ms   max {max(ms):7.0f} ms"
            )
        print("State transitions per compliance run: " + json.dumps(bench.transitions()))
    finally:
        runtime.stop()


class _MfaBench:
    """One user whose admin requires MFA, switched off and caught again and again."""

    PASSWORD = "Correct-Horse-9"

    def __init__(self, runtime):
        self.rt = runtime
        self.client = TenantryClient.for_runtime(runtime, source="bench.crm")
        self.client.register_source()
        self.cognito = self.client.cognito
        self.tenant = self.client.onboard(
            {
                "requestId": self.client.request_id("bench-mfa"),
                "tenantName": "Bench MFA",
                "isolation": "dedicated",
                "admin": {"email": "admin@bench.example", "name": "Bench Admin"},
            }
        )
        self.user = self.client.register_and_activate(
            {
                "requestId": self.client.request_id("bench-user"),
                "tenantId": self.tenant["tenantId"],
                "email": "mfa.user@bench.example",
                "name": "Mfa User",
                "role": "Member",
            }
        )
        self.cognito.admin_set_user_password(
            UserPoolId=self.tenant["userPoolId"], Username=self.user["username"], Password=self.PASSWORD, Permanent=True
        )
        self.client.set_up_totp(self.sign_in()["AccessToken"])
        self._require(True)

    def sign_in(self):
        code = self.client.totp_now()
        result = self.client.sign_in(self.tenant["appClientId"], self.user["username"], self.PASSWORD, mfa_code=code)
        return result["AuthenticationResult"]

    def _require(self, required, wait_for_the_stream=True):
        request_id = self.client.request_id("bench-req")
        self.client.post(
            "MfaRequirementChangeRequested",
            {"requestId": request_id, "tenantId": self.tenant["tenantId"], "userId": self.user["userId"], "required": required},
        )
        self.client.wait_execution("MfaRequirementChangeStateMachineArn", f"mfa-change-{request_id}")
        if wait_for_the_stream:
            self.rt.wait_settled()

    def _totp_enabled(self):
        found = self.cognito.admin_get_user(UserPoolId=self.tenant["userPoolId"], Username=self.user["username"])
        return "SOFTWARE_TOKEN_MFA" in (found.get("UserMFASettingList") or [])

    def one_run(self, path):
        if path == "requirement-change":
            self._require(False)
        tokens = self.sign_in()
        if path == "requirement-change":
            self.rt.streams.pause()
            self._require(True, wait_for_the_stream=False)
        self.cognito.set_user_mfa_preference(AccessToken=tokens["AccessToken"], SoftwareTokenMfaSettings={"Enabled": False})
        if path == "sign-in":
            with contextlib.suppress(self.cognito.exceptions.UserLambdaValidationException):
                self.sign_in()
        elif path == "requirement-change":
            self.rt.streams.resume()
        detected = time.perf_counter()
        refresh_token: str | None = tokens["RefreshToken"]
        while refresh_token is not None:  # each refresh rotates it: the next probe uses the new one
            refresh_token = self.client.refreshed(self.tenant["appClientId"], refresh_token)
            time.sleep(0.005)
        elapsed = time.perf_counter() - detected
        deadline = time.monotonic() + 20
        while not self._totp_enabled() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.rt.wait_settled()
        return elapsed

    def transitions(self):
        counts: dict[str, set[int]] = {}
        arn = self.rt.outputs["MfaComplianceStateMachineArn"]
        for execution in self.client.sfn.list_executions(stateMachineArn=arn)["executions"]:
            states = self.client.states(execution["executionArn"])
            counts.setdefault(states[-1], set()).add(len(states))
        return {ending: sorted(values) for ending, values in counts.items()}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
