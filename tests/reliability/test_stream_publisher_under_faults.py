"""The stream publisher under poison records and partial PutEvents failures: nothing lost, ids stable.

Committed changes are written straight to the table (as the workflows' own writes would be), with items of a
kind the publisher cannot map written between them, while EventBridge refuses some entries of its batches (a
partial failure: HTTP 200 with a FailedEntryCount) and fails whole calls. Every figure is counted from the run.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from typing import Any

from helpers import tenant_item
from helpers.reliability import REPORT
from tenantry.adapters.dynamodb import to_item
from tenantry_local.client import OutboundEvents

CHANGES = 30


def failure_queue_messages(tenantry: Any, run: str, want: int) -> tuple[Counter[str], int]:
    """(this run's poison records parked, by key; batches given up after their retries) in the publisher's
    failure queue, both taken off it. Waits until `want` distinct poison records arrived, or 15 s."""
    sqs, url = tenantry.rt.client("sqs"), tenantry.outputs["DomainEventsFailureQueueUrl"]
    parked: Counter[str] = Counter()
    given_up = 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            if f"ALIEN#{run}-" in message["Body"]:
                parked[body["record"]["dynamodb"]["Keys"]["PK"]["S"]] += 1
            elif (body.get("requestContext") or {}).get("condition") == "RetryAttemptsExhausted":
                given_up += 1
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if not messages and len(parked) >= want:
            break
        if not messages:
            time.sleep(0.3)
    return parked, given_up


def test_the_stream_publisher_under_poison_records_and_partial_put_failures(tenantry, runtime):
    watch = OutboundEvents(runtime.client, runtime.outputs["EventBusName"], name="reliability-stream")  # no settling
    table_name, run = tenantry.outputs["TableName"], uuid.uuid4().hex[:6]
    failure_queue_messages(tenantry, run, 0)  # what earlier tests left there is not this run's
    tenant_ids = [f"tnt-rel-{run}-{n:02d}" for n in range(CHANGES)]
    # EventBridge refuses every third tenant's event twice, alone in its call (a partial failure), and the
    # first tenant's four times: more than the publisher's own tries, so its record is retried by the mapping ...
    refused = [
        tenantry.rt.faults.arm(
            {
                "service": "events",
                "operation": "PutEvents",
                "error": "ThrottlingException",
                "match": t,  # ids of one length: none is part of another
                "partial": True,
                "count": 4 if t == tenant_ids[0] else 2,
            }
        )
        for t in tenant_ids[::3]
    ]
    # ... and fails two whole calls that carry one of this run's events
    whole = tenantry.rt.faults.arm(
        {"service": "events", "operation": "PutEvents", "error": "InternalException", "match": f"tnt-rel-{run}-", "count": 2}
    )
    poison = 0
    for n, tenant_id in enumerate(tenant_ids):
        tenantry.ddb.put_item(TableName=table_name, Item=tenant_item(tenant_id, "ONBOARDING"))
        tenantry.ddb.put_item(TableName=table_name, Item=tenant_item(tenant_id, "ACTIVE"))  # -> TenantOnboarded
        if n % 5 == 0:  # an item of a kind the publisher does not know, between the others
            tenantry.ddb.put_item(TableName=table_name, Item=to_item({"PK": f"ALIEN#{run}-{n}", "SK": "X", "entity": "Alien"}))
            poison += 1

    def published() -> list[dict[str, Any]]:
        return [e for e in watch.drain() if e["detail-type"] == "TenantOnboarded" and e["detail"]["tenantId"] in tenant_ids]

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and {e["detail"]["tenantId"] for e in published()} != set(tenant_ids):
        time.sleep(0.3)
    tenantry.settle()
    received = published()
    for fault in [*refused, whole]:
        tenantry.rt.faults.disarm(fault)
    parked, given_up = failure_queue_messages(tenantry, run, poison)

    per_tenant = Counter(e["detail"]["tenantId"] for e in received)
    ids_per_tenant = {t: {e["detail"]["eventId"] for e in received if e["detail"]["tenantId"] == t} for t in per_tenant}
    row = {
        "changes": len(tenant_ids),
        "entries refused": sum(f.fired for f in refused),
        "whole calls failed": whole.fired,
        "events received": len(received),
        "lost": len(set(tenant_ids) - set(per_tenant)),
        "received again (same eventId)": sum(n - 1 for n in per_tenant.values()),
        "changes with two eventIds": sum(len(ids) > 1 for ids in ids_per_tenant.values()),
        "poison written": poison,
        "poison parked": len(parked),
        "parked again": sum(parked.values()) - len(parked),
        "batches given up": given_up,
    }
    table = REPORT.table(
        "stream",
        "The stream publisher under poison records and partial PutEvents failures",
        (
            f"{CHANGES} tenants written ONBOARDING then ACTIVE straight to the table (one TenantOnboarded each), "
            "with items of a kind the publisher does not know written between them. EventBridge refused every "
            "third tenant's entry twice (the first tenant's four times) while putting the rest of its call "
            "(HTTP 200, FailedEntryCount), and failed two whole calls. The publisher sends a refused entry again "
            "itself, up to three tries; after that its record is retried by the event source mapping. "
            "*received again*: copies of an event already received, with its eventId (a retried record is "
            "published again; consumers de-duplicate by eventId). *batches given up*: batches sent to the "
            "on-failure queue after the mapping's retries (their events lost). *parked again*: a poison record "
            "parked a second time, when the mapping retried the batch it was in."
        ),
        tuple(row),
    )
    table.add(*row.values())
    assert row["entries refused"] > 0 and row["whole calls failed"] > 0, row
    assert (row["events received"] - row["received again (same eventId)"], row["lost"]) == (CHANGES, 0), row
    assert (row["changes with two eventIds"], row["batches given up"]) == (0, 0), row
    assert row["poison parked"] == poison, row
