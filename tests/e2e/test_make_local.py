"""End to end: `make local` in its own process, driven by the real AWS CLI, as a developer would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import ROOT, free_port
from tenantry_local.subprocess_runtime import make_local

AWS_CLI = os.environ.get("AWS_CLI") or str(ROOT / ".venv-tools" / "bin" / "aws")


@pytest.fixture(scope="module")
def served():
    with make_local(free_port()) as running:
        yield {"endpoint": running.endpoint, "ready_line": running.ready_line, "seconds": running.seconds_to_ready}


def aws(served, *args: str) -> dict:
    assert Path(AWS_CLI).exists(), f"AWS CLI not found at {AWS_CLI} (make test installs it into .venv-tools)"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "any", "AWS_SECRET_ACCESS_KEY": "any", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [AWS_CLI, "--endpoint-url", served["endpoint"], "--region", "us-east-1", "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


@pytest.mark.e2e
def test_the_aws_cli_onboards_a_tenant_on_make_local(served):
    # The ready line says where and how fast
    assert served["endpoint"] in served["ready_line"]
    outputs = json.loads(urllib.request.urlopen(served["endpoint"] + "/_tenantry/health", timeout=5).read())["outputs"]
    # An operator watches outbound events with a rule and a queue added while it runs
    queue_url = aws(served, "sqs", "create-queue", "--queue-name", "cli-watch")["QueueUrl"]
    queue_arn = aws(served, "sqs", "get-queue-attributes", "--queue-url", queue_url, "--attribute-names", "QueueArn")[
        "Attributes"
    ]["QueueArn"]
    aws(
        served,
        "events",
        "put-rule",
        "--name",
        "cli-watch",
        "--event-bus-name",
        "tenantry",
        "--event-pattern",
        json.dumps({"source": ["tenantry"]}),
    )
    aws(
        served,
        "events",
        "put-targets",
        "--rule",
        "cli-watch",
        "--event-bus-name",
        "tenantry",
        "--targets",
        json.dumps([{"Id": "q", "Arn": queue_arn}]),
    )
    # An operator registers the upstream system (the project's operator command, as the README shows it)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "any", "AWS_SECRET_ACCESS_KEY": "any", "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run(
        [sys.executable, "-m", "tenantry.sources", "--endpoint-url", served["endpoint"], "--table", outputs["TableName"]]
        + ["grant", "crm", "--requests", "all", "--tenants", "*"],
        check=True,
        capture_output=True,
        env=env,
        timeout=60,
    )
    # An upstream system posts a request
    detail = {
        "requestId": "cli-1",
        "tenantName": "Cli Co",
        "isolation": "shared",
        "admin": {"email": "root@cli.example", "name": "Cli Admin"},
    }
    sent = aws(
        served,
        "events",
        "put-events",
        "--entries",
        json.dumps(
            [
                {
                    "Source": "crm",
                    "DetailType": "TenantOnboardingRequested",
                    "EventBusName": "tenantry",
                    "Detail": json.dumps(detail),
                }
            ]
        ),
    )
    assert sent["FailedEntryCount"] == 0
    # The operator follows the execution, named after the request
    machine = outputs["TenantOnboardingStateMachineArn"]
    deadline, executions = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        executions = aws(served, "stepfunctions", "list-executions", "--state-machine-arn", machine)["executions"]
        if executions and executions[0]["status"] != "RUNNING":
            break
        time.sleep(0.3)
    assert [(e["name"], e["status"]) for e in executions] == [("onboard-cli-1", "SUCCEEDED")]
    history = aws(served, "stepfunctions", "get-execution-history", "--execution-arn", executions[0]["executionArn"])["events"]
    states = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert states[0] == "ValidateRequest" and states[-1] == "TenantOnboarded"
    # The admin exists in the shared pool
    users = aws(served, "cognito-idp", "list-users", "--user-pool-id", outputs["SharedUserPoolId"])["Users"]
    assert any(u["Username"].endswith("/root@cli.example") for u in users)
    # And the outbound event arrived on the queue the operator added
    deadline, types = time.monotonic() + 20, set()
    while time.monotonic() < deadline and "TenantOnboarded" not in types:
        messages = aws(served, "sqs", "receive-message", "--queue-url", queue_url, "--max-number-of-messages", "10").get(
            "Messages", []
        )
        types |= {json.loads(m["Body"])["detail-type"] for m in messages}
        time.sleep(0.2)
    assert "TenantOnboarded" in types
