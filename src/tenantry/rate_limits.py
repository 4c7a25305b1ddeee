"""Counting attempts per subject in fixed windows, on the Tenantry table: failed sign-ins per account, password
reset requests per account and per source address, wrong activation codes per source address.

One item per subject and window (`RATE#<sha256 of the subject>` / `WINDOW#<start>`), expiring with DynamoDB's
TTL after its window: the subject (an email, an address) never appears in a key. `take` counts an attempt and
says whether it is still within the limit (one conditional write), so that parallel attempts cannot all pass a
check made before any of them is counted; `refund` gives an attempt back, for limits that count failures only
(a sign-in takes an attempt, and gives it back when it succeeds); `spent` only reads, `count` adds one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantry import keys
from tenantry.adapters.dynamodb import to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class Limit:
    """At most `attempts` per `window_seconds` for one subject of `kind`."""

    kind: str  # what is counted, part of the subject: "login-failure", "password-reset", ...
    attempts: int
    window_seconds: int


class RateCounter:
    def __init__(self, table_name: str, dynamodb_client: DynamoDBClient, clock: Callable[[], float] = time.time):
        self._table = table_name
        self._ddb = dynamodb_client
        self._clock = clock

    def _key(self, limit: Limit, subject: str) -> tuple[dict[str, str], int]:
        window = int(self._clock()) // limit.window_seconds * limit.window_seconds
        digest = hashlib.sha256(f"{limit.kind}\n{subject}".encode()).hexdigest()
        return keys.rate_counter_key(digest, window), window + limit.window_seconds

    def spent(self, limit: Limit, subject: str) -> bool:
        """Whether the subject's attempts of this window have reached the limit (one read)."""
        key, _ = self._key(limit, subject)
        item = self._ddb.get_item(TableName=self._table, Key=to_item(key), ProjectionExpression="attempts").get("Item")
        return item is not None and int(item["attempts"]["N"]) >= limit.attempts

    def count(self, limit: Limit, subject: str) -> None:
        """Count one attempt, whatever the limit (one write)."""
        self._add(limit, subject, None)

    def take(self, limit: Limit, subject: str) -> bool:
        """Count one attempt if the limit allows it; False (and nothing counted) when it is spent."""
        return self._add(limit, subject, limit.attempts)

    def refund(self, limit: Limit, subject: str) -> None:
        """Give back an attempt `take` counted in this window (one that turned out not to count: a success)."""
        key, _ = self._key(limit, subject)
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=to_item(key),
                UpdateExpression="ADD attempts :minus_one",
                ConditionExpression="attempts > :zero",
                ExpressionAttributeValues=to_item({":minus_one": -1, ":zero": 0}),
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return  # the window turned meanwhile: the new one never counted it

    def _add(self, limit: Limit, subject: str, at_most: int | None, step: int = 1) -> bool:
        key, expires = self._key(limit, subject)
        values = {":one": step, ":expires": expires, ":entity": keys.RATE_COUNTER.name}
        condition: dict[str, str] = {}
        if at_most is not None:
            values[":limit"] = at_most
            condition = {"ConditionExpression": "attribute_not_exists(attempts) OR attempts < :limit"}
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=to_item(key),
                UpdateExpression="ADD attempts :one SET #ttl = :expires, entity = :entity",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues=to_item(values),
                **condition,  # type: ignore[arg-type]
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True
