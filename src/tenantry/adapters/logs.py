"""Reading CloudWatch Logs subscription deliveries (the `awslogs` payload)."""

from __future__ import annotations

import json
from typing import Any


def json_log_records(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON log lines a subscription filter delivered (lines that are not JSON objects are skipped)."""
    from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent

    records = []
    for line in CloudWatchLogsEvent(event).parse_logs_data().log_events:
        try:
            record = json.loads(line.message)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
