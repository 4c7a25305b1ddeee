"""The stream publisher, with an in-memory EventBridge stand-in: batching, partial failure, replay, malformed."""

from __future__ import annotations

import json

from tenantry.adapters.eventbridge import EventPublisher
from tenantry.stream_publisher import publish_changes

BUS = "tenantry"


class RecordingEventBridge:
    """Accepts PutEvents like EventBridge; rejects the entries whose detail mentions a chosen tenant."""

    def __init__(self, reject_tenant: str | None = None, fail_calls: int = 0):
        self.calls: list[list[dict]] = []
        self.reject_tenant = reject_tenant
        self.fail_calls = fail_calls

    def put_events(self, Entries):  # noqa: N803 - boto3's parameter name
        self.calls.append(Entries)
        if self.fail_calls:
            self.fail_calls -= 1
            raise ConnectionError("endpoint unreachable")
        results = []
        for entry in Entries:
            if self.reject_tenant and self.reject_tenant in entry["Detail"]:
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                results.append({"EventId": f"ev-{len(results)}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def tenant_change(seq: int, tenant_id: str, old_status: str | None, new_status: str) -> dict:
    def image(status):
        return {
            "PK": {"S": f"TENANT#{tenant_id}"},
            "SK": {"S": "TENANT"},
            "entity": {"S": "Tenant"},
            "tenantId": {"S": tenant_id},
            "tenantName": {"S": "Acme"},
            "isolation": {"S": "shared"},
            "status": {"S": status},
            "requestId": {"S": f"req-{tenant_id}"},
            "userPoolId": {"S": "us-east-1_x"},
            "offboardingRequestId": {"S": f"off-{tenant_id}"},
        }

    change = {
        "Keys": {"PK": {"S": f"TENANT#{tenant_id}"}, "SK": {"S": "TENANT"}},
        "SequenceNumber": str(seq),
        "NewImage": image(new_status),
    }
    if old_status:
        change["OldImage"] = image(old_status)
    return {"eventID": f"record-{seq}", "eventName": "MODIFY" if old_status else "INSERT", "dynamodb": change}


def test_events_go_out_in_batches_of_at_most_ten():
    # Given 23 tenants becoming ACTIVE in one stream batch
    records = [tenant_change(i, f"t{i}", "ONBOARDING", "ACTIVE") for i in range(23)]
    bus = RecordingEventBridge()
    # When the batch is published
    failed = publish_changes(records, EventPublisher(BUS, bus), park=lambda r, why: None)
    # Then nothing failed and PutEvents saw 10 + 10 + 3 entries
    assert failed == []
    assert [len(call) for call in bus.calls] == [10, 10, 3]
    assert {json.loads(e["Detail"])["tenantId"] for call in bus.calls for e in call} == {f"t{i}" for i in range(23)}
    assert all(e["Source"] == "tenantry" and e["DetailType"] == "TenantOnboarded" for call in bus.calls for e in call)


def publisher(bus: RecordingEventBridge) -> EventPublisher:
    return EventPublisher(BUS, bus, pause=lambda seconds: None)


def test_an_entry_refused_on_every_try_fails_only_its_record_and_only_it_is_sent_again():
    records = [tenant_change(i, f"t{i}", "ONBOARDING", "ACTIVE") for i in range(5)]
    bus = RecordingEventBridge(reject_tenant='"t3"')
    failed = publish_changes(records, publisher(bus), park=lambda r, w: None)
    assert failed == ["3"]
    assert [len(call) for call in bus.calls] == [5, 1, 1]  # three tries in all, the others sent once


def test_an_entry_refused_once_is_sent_again_alone_and_nothing_fails():
    records = [tenant_change(i, f"t{i}", "ONBOARDING", "ACTIVE") for i in range(5)]
    bus = RecordingEventBridge(reject_tenant='"t3"')
    bus.put_events = once_refusing(bus.put_events)  # type: ignore[method-assign]
    assert publish_changes(records, publisher(bus), park=lambda r, w: None) == []
    assert [len(call) for call in bus.calls] == [5, 1]
    assert json.loads(bus.calls[1][0]["Detail"])["tenantId"] == "t3"


def once_refusing(put_events):
    calls = []

    def put(Entries):  # noqa: N803 - boto3's parameter name
        calls.append(1)
        answer = put_events(Entries)
        if len(calls) > 1:  # accepted the second time
            return {"FailedEntryCount": 0, "Entries": [{"EventId": f"ev-{i}"} for i, _ in enumerate(Entries)]}
        return answer

    return put


def test_a_call_failing_on_every_try_fails_every_record_of_its_chunk():
    records = [tenant_change(i, f"t{i}", "ONBOARDING", "ACTIVE") for i in range(12)]
    failed = publish_changes(records, publisher(RecordingEventBridge(fail_calls=3)), park=lambda r, w: None)
    assert failed == [str(i) for i in range(10)]


def test_a_call_failing_once_is_made_again():
    records = [tenant_change(i, f"t{i}", "ONBOARDING", "ACTIVE") for i in range(12)]
    bus = RecordingEventBridge(fail_calls=1)
    assert publish_changes(records, publisher(bus), park=lambda r, w: None) == []
    assert [len(call) for call in bus.calls] == [10, 10, 2]


def test_replaying_a_record_yields_the_same_event_id():
    record = tenant_change(7, "t7", "ONBOARDING", "ACTIVE")
    first, second = RecordingEventBridge(), RecordingEventBridge()
    publish_changes([record], EventPublisher(BUS, first), park=lambda r, w: None)
    publish_changes([json.loads(json.dumps(record))], EventPublisher(BUS, second), park=lambda r, w: None)
    ids = [json.loads(bus.calls[0][0]["Detail"])["eventId"] for bus in (first, second)]
    assert ids[0] == ids[1] and len(ids[0]) == 32
    other = RecordingEventBridge()
    publish_changes([tenant_change(8, "t7", "ONBOARDING", "ACTIVE")], EventPublisher(BUS, other), park=lambda r, w: None)
    assert json.loads(other.calls[0][0]["Detail"])["eventId"] != ids[0]


def test_a_malformed_record_is_parked_and_does_not_block_the_others():
    parked = []
    records = [
        tenant_change(1, "t1", "ONBOARDING", "ACTIVE"),
        {"eventID": "broken", "eventName": "MODIFY", "dynamodb": {"SequenceNumber": "2", "Keys": {}}},
        {"eventID": "alien", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "3", "NewImage": {"entity": {"S": "Alien"}}}},
        tenant_change(4, "t4", "ONBOARDING", "ACTIVE"),
    ]
    bus = RecordingEventBridge()
    failed = publish_changes(records, EventPublisher(BUS, bus), park=lambda r, why: parked.append((r["eventID"], why)))
    assert failed == []
    assert [p[0] for p in parked] == ["broken", "alien"]
    assert "without a new image" in parked[0][1] and "Alien" in parked[1][1]
    assert len(bus.calls[0]) == 2


def test_changes_that_are_not_domain_events_publish_nothing():
    bus = RecordingEventBridge()
    failed = publish_changes([tenant_change(1, "t1", "ACTIVE", "ACTIVE")], EventPublisher(BUS, bus), park=lambda r, w: None)
    assert failed == [] and bus.calls == []


def test_offboarded_tenant_becomes_tenant_offboarded():
    bus = RecordingEventBridge()
    publish_changes([tenant_change(1, "t1", "OFFBOARDING", "OFFBOARDED")], EventPublisher(BUS, bus), park=lambda r, w: None)
    [[entry]] = bus.calls
    assert entry["DetailType"] == "TenantOffboarded"
    assert json.loads(entry["Detail"])["requestId"] == "off-t1"


def test_every_kind_of_item_the_table_holds_has_a_mapping():
    """An item the publisher cannot map is parked as malformed: every entity keys.py names must be mapped
    (most to no event at all)."""
    from tenantry import keys
    from tenantry.domain_events import _MAPPERS

    assert {entity.name for entity in keys.ENTITIES} - set(_MAPPERS) == set()


def test_an_entry_eventbridge_gave_no_result_for_counts_as_refused():
    class ShortAnswers(RecordingEventBridge):
        def put_events(self, Entries):  # noqa: N803 - boto3's parameter name
            self.calls.append(Entries)
            return {"FailedEntryCount": len(Entries), "Entries": []}  # no result for any entry

    records = [tenant_change(i, f"t{i}", "ONBOARDING", "ACTIVE") for i in range(3)]
    bus = ShortAnswers()
    assert publish_changes(records, publisher(bus), park=lambda r, w: None) == ["0", "1", "2"]
    assert len(bus.calls) == 3  # sent again, as a refusal is
