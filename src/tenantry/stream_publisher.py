"""The one stream publisher: a batch of DynamoDB stream records -> validated events on the bus.

Events of the whole batch go out in PutEvents calls of at most 10 entries. A record whose events were
not all accepted is reported as a batch item failure, so Lambda retries from it (bounded by the event
source mapping's MaximumRetryAttempts, then its on-failure destination). A record that cannot be mapped
at all would fail forever: it is parked in the failure queue at once and never blocks its shard.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tenantry import schemas
from tenantry.adapters.eventbridge import EventPublisher, OutboundEvent
from tenantry.domain_events import MalformedRecord, events_for_record


def sequence_number(record: dict[str, Any]) -> str:
    return str((record.get("dynamodb") or {}).get("SequenceNumber") or record.get("eventID") or "")


def publish_changes(
    records: Sequence[dict[str, Any]],
    publisher: EventPublisher,
    park: Callable[[dict[str, Any], str], None],
) -> list[str]:
    """Publish the events of `records`; return the sequence numbers of the records to retry."""
    events: list[OutboundEvent] = []
    owners: list[str] = []
    for record in records:
        try:
            produced = events_for_record(record)
            for event in produced:
                schemas.check(event.detail_type, event.detail)
        except (MalformedRecord, schemas.SchemaViolation) as error:
            park(record, str(error))
            continue
        events.extend(produced)
        owners.extend(sequence_number(record) for _ in produced)
    failed_indexes = publisher.publish(events)
    return list(dict.fromkeys(owners[i] for i in failed_indexes))
