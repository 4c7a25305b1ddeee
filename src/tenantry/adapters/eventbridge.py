"""Publishing to EventBridge in PutEvents batches of at most 10, reporting each rejected entry."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

MAX_ENTRIES_PER_PUT = 10
SOURCE = "tenantry"


@dataclass(frozen=True)
class OutboundEvent:
    """One event Tenantry publishes; `detail['eventId']` is its deterministic id."""

    detail_type: str
    detail: dict[str, Any]

    def entry(self, bus_name: str) -> PutEventsRequestEntryTypeDef:
        return {
            "EventBusName": bus_name,
            "Source": SOURCE,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail, separators=(",", ":"), sort_keys=True),
        }


class EventPublisher:
    def __init__(self, bus_name: str, events_client: EventBridgeClient):
        self._bus = bus_name
        self._client = events_client

    def publish(self, events: Sequence[OutboundEvent]) -> list[int]:
        """Send `events`; return the indexes of those EventBridge did not accept."""
        failed: list[int] = []
        for start in range(0, len(events), MAX_ENTRIES_PER_PUT):
            chunk = events[start : start + MAX_ENTRIES_PER_PUT]
            try:
                response = self._client.put_events(Entries=[e.entry(self._bus) for e in chunk])
            except Exception:  # noqa: BLE001 - a failed call fails every entry of the chunk, not the batch
                failed.extend(range(start, start + len(chunk)))
                continue
            if response.get("FailedEntryCount", 0):
                for offset, result in enumerate(response.get("Entries", [])):
                    if result.get("ErrorCode") or not result.get("EventId"):
                        failed.append(start + offset)
        return failed
