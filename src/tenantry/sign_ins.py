"""Recording sign-ins on profiles, from the log lines post authentication writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tenantry import keys
from tenantry.adapters.dynamodb import to_item
from tenantry.triggers import SIGNED_IN

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def latest_sign_ins(records: list[dict[str, Any]]) -> dict[str, int]:
    """userId -> the latest sign-in time among `records` (lines of other kinds are ignored)."""
    latest: dict[str, int] = {}
    for record in records:
        if record.get("event") == SIGNED_IN and record.get("userId") and isinstance(record.get("at"), int):
            latest[record["userId"]] = max(latest.get(record["userId"], 0), record["at"])
    return latest


def record_sign_ins(table_name: str, dynamodb_client: DynamoDBClient, latest: dict[str, int]) -> int:
    """Set lastSignInAt on each profile unless a later sign-in is already recorded; returns how many moved."""
    updated = 0
    for user_id, epoch in latest.items():
        moment = datetime.fromtimestamp(epoch, UTC)
        try:
            dynamodb_client.update_item(
                TableName=table_name,
                Key=to_item(keys.profile_key(user_id)),
                UpdateExpression=(
                    "SET lastSignInAt = :at, lastSignInEpoch = :epoch, lastSignInDay = :day, GSI2PK = :day_key, GSI2SK = :user"
                ),
                ConditionExpression=(
                    "attribute_exists(PK) AND (attribute_not_exists(lastSignInEpoch) OR lastSignInEpoch < :epoch)"
                ),
                ExpressionAttributeValues=to_item(
                    {
                        ":at": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
                        ":epoch": epoch,
                        ":day": moment.strftime("%Y-%m-%d"),
                        ":day_key": keys.sign_in_day_partition(moment.strftime("%Y-%m-%d")),
                        ":user": user_id,
                    }
                ),
            )
            updated += 1
        except dynamodb_client.exceptions.ConditionalCheckFailedException:
            continue  # no profile (an admin without one) or a later sign-in already recorded
    return updated


def recently_active_user_ids(
    table_name: str, dynamodb_client: DynamoDBClient, days: int, today: datetime | None = None
) -> list[str]:
    """Users whose last sign-in falls within the last `days` days (index ByLastSignInDay); never anyone else."""
    from datetime import timedelta

    today = today or datetime.now(UTC)
    paginator = dynamodb_client.get_paginator("query")
    found: list[str] = []
    for back in range(days):
        day = (today - timedelta(days=back)).strftime("%Y-%m-%d")
        pages = paginator.paginate(
            TableName=table_name,
            IndexName="ByLastSignInDay",
            KeyConditionExpression="GSI2PK = :day",
            ExpressionAttributeValues={":day": {"S": keys.sign_in_day_partition(day)}},
        )
        found += [item["GSI2SK"]["S"] for page in pages for item in page["Items"]]
    return list(dict.fromkeys(found))
