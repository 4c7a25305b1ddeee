"""`make bench`: measurements kept out of `make test`, written to BENCHMARKS.md with the date and the machine.

Each section (SECTIONS) runs in a process of its own, with a local runtime of its own where it needs one:
every function's cold import against `import boto3`; the Cognito triggers warm and cold; each flow's AWS calls,
state transitions and cost (tenantry_local.bench_flows); concurrent onboardings and registrations; the local
runtime's own CPU; MFA detection to revocation; the Identity API (tenantry_local.bench_api; alone:
`python -m tenantry_local.bench api`); `make local` to ready and `make demo`. `make bench-smoke` runs every
section at its smallest size, in `make test`, so that the bench cannot break unnoticed.
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

from tenantry_local.client import TenantryClient, free_port, totp_code
from tenantry_local.subprocess_runtime import make_local

PROJECT = Path(__file__).resolve().parents[2]
SMOKE = os.environ.get("BENCH_SMOKE") == "1"  # every size at the smallest that still runs it (make bench-smoke)


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


def trigger_figures(invocations: int = 50 if SMOKE else 2000, runs: int = 1 if SMOKE else 20) -> None:
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


def cold_import_figures(runs: int = 1 if SMOKE else 5) -> None:
    """Every function of the template: `python -c "import app"` in its code directory with its environment, as a
    whole process (median of `runs`), as a ratio to `python -c "import boto3"` measured in the same run."""
    from tenantry_local.sam import local_path, to_cloudformation
    from tenantry_local.template import load_template, parameter_values

    template = load_template(PROJECT / "template.yaml")
    parameters = parameter_values(template)
    functions = {
        k: v for k, v in to_cloudformation(template, parameters)["Resources"].items() if v["Type"] == "AWS::Lambda::Function"
    }
    base = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    boto3_import = _whole_process_seconds("import boto3", PROJECT, base, runs)
    print(f"python -c 'import boto3': {boto3_import * 1000:.0f} ms (median of {runs}); each function's 'import app' against it:")
    rows = []
    for logical_id, function in sorted(functions.items()):
        properties = function["Properties"]
        env = dict(base)
        for name, declared in (properties.get("Environment", {}).get("Variables") or {}).items():
            ref = declared.get("Ref") if isinstance(declared, dict) else None
            env[name] = (
                str(parameters[ref]) if ref in parameters else declared if isinstance(declared, str) else f"bench-{name.lower()}"
            )
        code_dir = PROJECT / str(local_path(properties["Code"]))
        seconds = _whole_process_seconds("import app", code_dir, env, runs)
        rows.append((seconds, logical_id))
    for seconds, logical_id in sorted(rows):
        print(f"  {logical_id:<36} {seconds * 1000:7.0f} ms  {seconds / boto3_import:5.2f} x import boto3")


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


def _captured(module: str, name: str, path: str) -> None:
    """In a process of its own: run one section's figures with its output written to `path`."""
    import importlib

    with open(path, "w", encoding="utf-8") as out, contextlib.redirect_stdout(out):
        getattr(importlib.import_module(module), name)()


def _section(module: str, name: str) -> tuple[str, float]:
    """One section, in a process of its own: what it printed (echoed here too), and its wall time."""
    import tempfile

    with tempfile.NamedTemporaryFile("r", suffix=".txt", encoding="utf-8") as out:
        began = time.perf_counter()
        process = multiprocessing.get_context("spawn").Process(target=_captured, args=(module, name, out.name))
        process.start()
        process.join()
        text = out.read()
    print(text, end="", flush=True)
    if process.exitcode:
        raise RuntimeError(f"{name} failed (exit code {process.exitcode})")
    return text, time.perf_counter() - began


def startup_figures() -> None:
    """`make local` to ready, and `make demo` end to end, each as a separate process."""
    runs = 1 if SMOKE else int(os.environ.get("BENCH_RUNS", "3"))
    ready = [time_to_ready() for _ in range(runs)]
    print(f"make local, time to ready over {runs} runs: median {statistics.median(ready):.2f}s, min {min(ready):.2f}s")
    if SMOKE:  # (tests/e2e/test_demo.py runs the demo in make test)
        return
    walls, output = [], ""
    for _ in range(runs):
        wall, output = demo_run()
        walls.append(wall)
    print(f"make demo, wall time over {runs} runs: median {statistics.median(walls):.2f}s, min {min(walls):.2f}s")
    transitions = re.search(r"State transitions: (.*)", output)
    print(f"state transitions per execution (last demo run): {transitions.group(1) if transitions else '?'}")


# Each section: (title, module, function); each runs in a process of its own, with its own runtime.
SECTIONS = [
    ("Cold import of every function", "tenantry_local.bench", "cold_import_figures"),
    ("Cognito triggers", "tenantry_local.bench", "trigger_figures"),
    ("First invocation", "tenantry_local.bench_flows", "first_invocation_figures"),
    ("Flows: AWS calls, state transitions and cost", "tenantry_local.bench_flows", "flow_figures"),
    ("Concurrent requests", "tenantry_local.bench_flows", "concurrency_figures"),
    ("The local runtime's own cost", "tenantry_local.bench_flows", "runtime_cost_figures"),
    ("MFA detection to revocation", "tenantry_local.bench", "mfa_figures"),
    ("Identity API", "tenantry_local.bench_api", "api_figures"),
    ("Start-up and the demo", "tenantry_local.bench", "startup_figures"),
]


def machine() -> str:
    """The machine the figures were measured on: CPU model, cores, memory, OS, Python."""
    import platform

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory = next(
        (
            int(line.split()[1]) / 1024 / 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0.0,
    )
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, {system}"


def main(argv: list[str]) -> int:
    """Every section, then BENCHMARKS.md (with --smoke: every section at its smallest size, nothing written)."""
    if argv == ["api"]:  # the Identity API's figures alone: python -m tenantry_local.bench api
        from tenantry_local.bench_api import api_figures

        _in_own_process(api_figures)
        return 0
    smoke = "--smoke" in argv or SMOKE
    if smoke:  # (the sections' processes read these)
        os.environ.update({"BENCH_SMOKE": "1", "API_INVOCATIONS": "20", "API_RUNS": "1", "LOGIN_RUNS": "3"})
    began, when = time.perf_counter(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    parts = []
    for title, module, name in SECTIONS:
        print(f"\n## {title}", flush=True)
        text, seconds = _section(module, name)
        print(f"({seconds:.0f} s)", flush=True)
        parts.append(f"## {title}\n\n({seconds:.0f} s)\n\n```text\n{text.rstrip()}\n```\n")
    total = time.perf_counter() - began
    print(f"\nmake bench{'-smoke' if smoke else ''}: {total:.0f} s in all")
    if smoke:
        return 0
    header = (
        "# Benchmarks\n\n"
        f"Written by `make bench` (`python -m tenantry_local.bench`) on {when}, in {total / 60:.1f} minutes, on "
        f"{machine()}. Every figure below was measured in that run, but for the costs, which are estimated from the counts "
        "measured at list prices, with the assumptions printed next to them. The local runtime's figures are the local "
        "runtime's (moto, one machine), not AWS's.\n\n"
    )
    (PROJECT / "BENCHMARKS.md").write_text(header + "\n".join(parts), encoding="utf-8")
    print("wrote BENCHMARKS.md")
    return 0


def mfa_figures(runs: int = 1 if SMOKE else int(os.environ.get("MFA_RUNS", "20"))) -> None:
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
        deadline = time.monotonic() + 60
        while refresh_token is not None:  # each refresh rotates it: the next probe uses the new one
            refresh_token = self.client.refreshed(self.tenant["appClientId"], refresh_token)
            time.sleep(0.005)
            if time.monotonic() > deadline:  # a bench never waits for ever: say what the checks did instead
                arn = self.rt.outputs["MfaComplianceStateMachineArn"]
                runs = self.client.sfn.list_executions(stateMachineArn=arn, maxResults=5)["executions"]
                endings = [(r["name"], r["status"], self.client.states(r["executionArn"])[-1:]) for r in runs]
                raise RuntimeError(f"{path}: the sessions were not revoked within 60 s; latest compliance runs: {endings}")
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
