"""`make bench`: measurements kept out of `make test`.

- time to ready: `make local` started as a separate process, until it prints its ready line (N runs);
- demo wall time: `make demo` end to end, as a separate process (N runs);
- state transitions of each onboarding path, and AWS calls made by the functions, from one demo run.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tenantry_local.subprocess_runtime import make_local

PROJECT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_ready() -> float:
    with make_local(_port()) as served:
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
    from tenantry_local.demo import Demo, _free_port
    from tenantry_local.hooks import HOOKS
    from tenantry_local.runtime import LocalRuntime

    runtime = LocalRuntime(PROJECT, port=_free_port(0)).start()
    try:
        demo = Demo(runtime)
        flows = {
            "shared": {"isolation": "shared"},
            "dedicated": {"isolation": "dedicated"},
            "invalid": {"isolation": "shared", "admin": {"email": "nope", "name": "X"}},
        }
        for label, change in flows.items():
            request_id = f"bench-{demo.run}-{label}"
            detail = {
                "requestId": request_id,
                "tenantName": f"Bench {label}",
                "isolation": "shared",
                "admin": {"email": f"{label}@bench.example", "name": "Bench Admin"},
            } | change
            runtime.wait_settled()
            HOOKS.api_calls.clear()
            invocations_before = dict(runtime.lambdas.invocations)
            demo.post(detail)
            execution = demo.wait([f"onboard-{request_id}"])[f"onboard-{request_id}"]
            runtime.wait_settled()
            demo.received_events()
            calls = dict(HOOKS.api_calls)
            # Not the flow's: the bench's own PutEvents, its polling, the local stream poller's reads and
            # the Lambda API's Invoke (counted below as function invocations, whoever invoked them).
            calls["events:PutEvents"] -= 1
            for own in (
                "stepfunctions:DescribeExecution",
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
            transitions = len(demo.states(execution["executionArn"]))
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


def main() -> int:
    trigger_figures()
    calls_per_flow()
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
