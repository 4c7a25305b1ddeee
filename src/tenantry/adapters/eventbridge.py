"""Publishing to EventBridge in PutEvents batches of at most 10, reporting each rejected entry."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
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
    """PutEvents in chunks of 10. EventBridge may refuse some entries of a call (HTTP 200 with a FailedEntryCount,
    throttling or an internal failure) or fail the call: those entries alone are sent again, `attempts` times
    in all with a short backoff, before they are reported. A stream batch then retries only what EventBridge
    kept refusing, instead of every record after it (each a duplicate for consumers)."""

    def __init__(
        self,
        bus_name: str,
        events_client: EventBridgeClient,
        attempts: int = 3,
        pause: Callable[[float], None] = time.sleep,
    ):
        self._bus = bus_name
        self._client = events_client
        self._attempts = attempts
        self._pause = pause

    def publish(self, events: Sequence[OutboundEvent]) -> list[int]:
        """Send `events`; return the indexes of those EventBridge did not accept."""
        failed: list[int] = []
        for start in range(0, len(events), MAX_ENTRIES_PER_PUT):
            pending = list(range(start, min(start + MAX_ENTRIES_PER_PUT, len(events))))
            for attempt in range(self._attempts):
                if attempt:
                    self._pause(0.05 * 2**attempt)
                pending = self._put(events, pending)
                if not pending:
                    break
            failed.extend(pending)
        return failed

    def _put(self, events: Sequence[OutboundEvent], indexes: list[int]) -> list[int]:
        """One PutEvents of `events[i] for i in indexes`; the indexes it did not accept."""
        try:
            response = self._client.put_events(Entries=[events[i].entry(self._bus) for i in indexes])
        except Exception:  # noqa: BLE001 - a failed call fails every entry it carried, not the batch
            return indexes
        if not response.get("FailedEntryCount", 0):
            return []
        results = response.get("Entries", [])
        refused = [i for i, result in zip(indexes, results, strict=False) if result.get("ErrorCode") or not result.get("EventId")]
        return refused + indexes[len(results) :]  # an entry EventBridge gave no result for was not accepted
