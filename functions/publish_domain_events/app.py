"""DynamoDB stream consumer: committed tenant and user changes become Tenantry's domain events."""

import json
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from tenantry.adapters import client
from tenantry.adapters.eventbridge import EventPublisher
from tenantry.config import load_settings
from tenantry.observability import logger, metrics
from tenantry.stream_publisher import publish_changes, sequence_number


@dataclass(frozen=True)
class Settings:
    event_bus_name: str
    failure_queue_url: str


SETTINGS = load_settings(Settings)
log = logger()
meter = metrics()


def park(record, reason):
    """Send an unmappable record to the failure queue, where an operator can look at it."""
    log.error("unmappable stream record parked", extra={"reason": reason, "sequence_number": sequence_number(record)})
    meter.add_metric(name="MalformedStreamRecords", unit=MetricUnit.Count, value=1)
    client("sqs").send_message(
        QueueUrl=SETTINGS.failure_queue_url,
        MessageBody=json.dumps({"reason": reason, "record": record}, default=str),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "MalformedStreamRecord"}},
    )


@meter.log_metrics
def handler(event, context):
    publisher = EventPublisher(SETTINGS.event_bus_name, client("events"))
    failed = publish_changes(event.get("Records", []), publisher, park)
    if failed:
        log.warning("some events were not accepted; their records will be retried", extra={"records": failed})
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
