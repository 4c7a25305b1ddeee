"""The stream publisher on the local runtime: the event source mapping's retries, its on-failure
destination, and malformed records parked without blocking the shard."""

from __future__ import annotations

import json
import time
import uuid

from helpers import tenant_item
from tenantry.adapters.dynamodb import to_item


def activate_tenant(tenantry, tenant_id: str) -> None:
    table = tenantry.outputs["TableName"]
    tenantry.ddb.put_item(TableName=table, Item=tenant_item(tenant_id, "ONBOARDING"))
    tenantry.ddb.put_item(TableName=table, Item=tenant_item(tenant_id, "ACTIVE"))


def failure_messages(tenantry, timeout: float = 10.0) -> list[dict]:
    sqs, url = tenantry.rt.client("sqs"), tenantry.outputs["DomainEventsFailureQueueUrl"]
    found, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if found and not messages:
            return found
        time.sleep(0.1)
    return found


def test_a_put_refused_beyond_the_publishers_own_tries_is_retried_from_the_failed_record(tenantry, outbound):
    tenant_id = f"tnt-stream-{uuid.uuid4().hex[:8]}"
    mapping = tenantry.rt.streams.mappings[0]
    failed_before = mapping.failed_batches
    # the publisher tries three times itself; the fourth try is the mapping's retry of the record
    tenantry.arm_fault(service="events", operation="PutEvents", error="InternalException", match=tenant_id, count=4)
    activate_tenant(tenantry, tenant_id)
    [event] = outbound.wait_for("TenantOnboarded", tenantId=tenant_id)
    assert mapping.failed_batches >= failed_before + 1
    assert tenantry.rt.faults.pending() == []
    # A replayed record would carry the same id: the one published is the record's
    assert len(event["detail"]["eventId"]) == 32


def test_a_batch_that_exhausts_its_retries_goes_to_the_on_failure_destination(tenantry, outbound):
    failure_messages(tenantry, timeout=0.5)  # start from an empty queue
    tenant_id = f"tnt-exhaust-{uuid.uuid4().hex[:8]}"
    tenantry.arm_fault(service="events", operation="PutEvents", error="InternalException", match=tenant_id, count=50)
    activate_tenant(tenantry, tenant_id)
    messages = failure_messages(tenantry)
    batches = [m for m in messages if "DDBStreamBatchInfo" in m]
    assert batches, messages
    assert batches[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert batches[0]["DDBStreamBatchInfo"]["streamArn"].startswith("arn:aws:dynamodb:")
    tenantry.rt.faults.clear()
    # the shard moved on: a later change is published
    later = f"tnt-after-{uuid.uuid4().hex[:8]}"
    activate_tenant(tenantry, later)
    assert outbound.wait_for("TenantOnboarded", tenantId=later)
    assert outbound.matching("TenantOnboarded", tenantId=tenant_id) == []


def test_a_malformed_record_is_parked_counted_and_does_not_block(tenantry, outbound):
    failure_messages(tenantry, timeout=0.5)
    table = tenantry.outputs["TableName"]
    tenantry.ddb.put_item(TableName=table, Item=to_item({"PK": f"ALIEN#{uuid.uuid4().hex}", "SK": "X", "entity": "Alien"}))
    tenant_id = f"tnt-next-{uuid.uuid4().hex[:8]}"
    activate_tenant(tenantry, tenant_id)
    assert outbound.wait_for("TenantOnboarded", tenantId=tenant_id)
    parked = [m for m in failure_messages(tenantry) if "reason" in m]
    assert parked and "Alien" in parked[0]["reason"]
    assert parked[0]["record"]["dynamodb"]["NewImage"]["entity"] == {"S": "Alien"}
    metrics = (tenantry.rt.log_dir / "aws_lambda_tenantry-PublishDomainEventsFunction.log").read_text()
    assert '"MalformedStreamRecords"' in metrics
