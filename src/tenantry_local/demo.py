"""`make demo`: the main job, offline. Boots the local runtime from template.yaml, posts onboarding requests
(a shared tenant, a dedicated tenant, a duplicate, an invalid one) as an upstream system would, waits for
the executions and prints what an operator wants to see. Exits 1 when an expectation fails."""

from __future__ import annotations

import json
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tenantry import schemas
from tenantry.adapters.dynamodb import from_item
from tenantry_local.runtime import LocalRuntime, ready_line

PROJECT = Path(__file__).resolve().parents[2]


def _free_port(preferred: int = 4566) -> int:
    """`preferred` if it is free (0: any free port)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    def __init__(self, runtime: LocalRuntime):
        self.rt = runtime
        self.outputs = runtime.outputs
        self.events = runtime.client("events")
        self.sfn = runtime.client("stepfunctions")
        self.sqs = runtime.client("sqs")
        self.failures: list[str] = []
        self.run = uuid.uuid4().hex[:6]
        self.queue_url = self._watch_outbound_events()

    def _watch_outbound_events(self) -> str:
        """What a downstream consumer does: a rule on source tenantry, delivering to its queue."""
        url = self.sqs.create_queue(QueueName="demo-outbound")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = self.outputs["EventBusName"]
        self.events.put_rule(Name="demo-outbound", EventBusName=bus, EventPattern=json.dumps({"source": ["tenantry"]}))
        self.events.put_targets(Rule="demo-outbound", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
        return url

    def expect(self, ok: bool, what: str) -> None:
        print(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failures.append(what)

    def post(self, detail: dict[str, Any]) -> None:
        self.events.put_events(
            Entries=[
                {
                    "Source": "crm.example",
                    "DetailType": "TenantOnboardingRequested",
                    "EventBusName": self.outputs["EventBusName"],
                    "Detail": json.dumps(detail),
                }
            ]
        )

    def wait(self, names: list[str], timeout: float = 60) -> dict[str, dict[str, Any]]:
        prefix = self.outputs["TenantOnboardingStateMachineArn"].replace(":stateMachine:", ":execution:")
        done: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(done) < len(names) and time.monotonic() < deadline:
            for name in names:
                if name in done:
                    continue
                try:
                    described = self.sfn.describe_execution(executionArn=f"{prefix}:{name}")
                except self.sfn.exceptions.ExecutionDoesNotExist:
                    continue
                if described["status"] != "RUNNING":
                    done[name] = described
            time.sleep(0.05)
        return done

    def states(self, execution_arn: str) -> list[str]:
        history = self.sfn.get_execution_history(executionArn=execution_arn)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]

    def received_events(self) -> list[dict[str, Any]]:
        self.rt.wait_settled()
        received = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def tenants(self, request_ids: list[str]) -> list[dict[str, Any]]:
        items = self.rt.client("dynamodb").scan(
            TableName=self.outputs["TableName"], FilterExpression="entity = :t", ExpressionAttributeValues={":t": {"S": "Tenant"}}
        )["Items"]
        return [t for t in map(from_item, items) if t.get("requestId") in request_ids]


def main() -> int:
    began = time.perf_counter()
    runtime = LocalRuntime(PROJECT, port=_free_port()).start()
    print(ready_line(runtime))
    try:
        return run(Demo(runtime), began)
    finally:
        runtime.stop()


def run(demo: Demo, began: float) -> int:  # noqa: PLR0915 - a script: one expectation after another
    shared, dedicated, invalid = f"demo-{demo.run}-shared", f"demo-{demo.run}-dedicated", f"demo-{demo.run}-invalid"
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
        demo.post(detail)
    demo.post(requests[shared])  # the duplicate
    names = [f"onboard-{r}" for r in requests]
    finished = demo.wait(names)

    print("\nExecutions (TenantOnboarding)")
    transitions: dict[str, int] = {}
    for name in names:
        execution = finished.get(name)
        if execution is None:
            demo.expect(False, f"{name} finished")
            continue
        states = demo.states(execution["executionArn"])
        transitions[name] = len(states)
        seconds = (execution["stopDate"] - execution["startDate"]).total_seconds()
        print(f"  {name:<34} {execution['status']:<9} {seconds:5.2f}s  {len(states):>2} transitions")
        print(f"    {' > '.join(states)}")
        if execution["status"] == "FAILED":
            print(f"    error: {execution.get('error')}: {execution.get('cause')}")
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

    events = demo.received_events()
    print("\nEvents published on the bus (source tenantry)")
    for event in events:
        detail = event["detail"]
        keys = {k: detail[k] for k in ("requestId", "tenantId", "reason", "field", "userId") if k in detail}
        print(f"  {event['detail-type']:<24} {json.dumps(keys)}  id {detail.get('eventId')}")

    print("\nExpectations")
    status = {n: finished[n]["status"] for n in finished}
    demo.expect(status.get(f"onboard-{shared}") == "SUCCEEDED", "shared tenant onboarded")
    demo.expect(status.get(f"onboard-{dedicated}") == "SUCCEEDED", "dedicated tenant onboarded")
    demo.expect(
        all_names.count(f"onboard-{shared}") == 1 and sum(t["requestId"] == shared for t in tenants) == 1,
        "duplicate absorbed: one execution and one tenant for the shared request",
    )
    demo.expect(status.get(f"onboard-{invalid}") == "FAILED", "invalid request rejected")
    demo.expect(not any(t["requestId"] == invalid for t in tenants), "invalid request created nothing")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["detail-type"], []).append(event["detail"])
    demo.expect(
        sorted(d["requestId"] for d in by_type.get("TenantOnboarded", [])) == sorted([shared, dedicated]),
        "TenantOnboarded published once for each new tenant",
    )
    rejected = [d for d in by_type.get("TenantOnboardingFailed", []) if d["requestId"] == invalid]
    demo.expect(
        len(rejected) == 1 and rejected[0].get("field") == "admin.email",
        "TenantOnboardingFailed names the wrong field (admin.email)",
    )
    invalid_events = [f"{e['detail-type']}: {err}" for e in events for err in [_violation(e)] if err]
    demo.expect(
        not invalid_events,
        f"every event matches its schema ({len(events)} events){'; ' + '; '.join(invalid_events) if invalid_events else ''}",
    )
    demo.expect(all(t["status"] == "ACTIVE" for t in tenants) and len(tenants) == 2, "both tenants ACTIVE")

    print(f"\nState transitions: {json.dumps(transitions)}")
    print(f"Demo wall time: {time.perf_counter() - began:.2f}s (runtime ready in {demo.rt.started_in:.2f}s)")
    if demo.failures:
        print(f"\n{len(demo.failures)} expectation(s) failed")
        return 1
    print("\nAll expectations met.")
    return 0


def _violation(event: dict[str, Any]) -> str | None:
    try:
        schemas.check(event["detail-type"], event["detail"])
    except schemas.SchemaViolation as error:
        return str(error)
    return None


if __name__ == "__main__":
    sys.exit(main())
