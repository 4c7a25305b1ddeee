"""DynamoDB stream consumer: committed tenant and user changes become Tenantry's domain events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent

from tenantry.adapters import client
from tenantry.adapters.eventbridge import EventPublisher
from tenantry.config import load_settings
from tenantry.observability import logger, metrics, traced
from tenantry.stream_publisher import publish_changes, sequence_number

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True)
class Settings:
    event_bus_name: str
    failure_queue_url: str


SETTINGS = load_settings(Settings)
log = logger()
meter = metrics()


def park(record: dict[str, Any], reason: str) -> None:
    """Send an unmappable record to the failure queue, where an operator can look at it."""
    log.error("unmappable stream record parked", extra={"reason": reason, "sequence_number": sequence_number(record)})
    meter.add_metric(name="MalformedStreamRecords", unit=MetricUnit.Count, value=1)
    client("sqs").send_message(
        QueueUrl=SETTINGS.failure_queue_url,
        MessageBody=json.dumps({"reason": reason, "record": record}, default=str),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "MalformedStreamRecord"}},
    )


@traced
@meter.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    publisher = EventPublisher(SETTINGS.event_bus_name, client("events"))
    # The raw records: one that cannot be read as a change is parked as it came, not as Powertools saw it.
    records = [record.raw_event for record in DynamoDBStreamEvent(event).records]
    failed = publish_changes(records, publisher, park)
    if failed:
        log.warning("some events were not accepted; their records will be retried", extra={"records": failed})
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
