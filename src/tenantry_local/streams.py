"""DynamoDB stream event source mappings, as Lambda runs them: poll each shard, deliver records in
batches (BatchSize, MaximumBatchingWindowInSeconds), honour ReportBatchItemFailures (resume from the
first failed record), BisectBatchOnFunctionError, MaximumRetryAttempts, and send a batch that exhausted
its retries to the OnFailure destination (SQS) with Lambda's on-failure record, then move on.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from tenantry_local.lambdas import LambdaService

LOG = logging.getLogger("tenantry_local.streams")


@dataclass
class StreamMapping:
    function_name: str
    stream_arn: str
    batch_size: int = 100
    batching_window_seconds: float = 0.0
    maximum_retry_attempts: int = -1  # -1: until the record expires, as on AWS
    bisect_on_error: bool = False
    report_batch_item_failures: bool = False
    on_failure_arn: str | None = None
    starting_position: str = "LATEST"
    # per shard: the sequence number to resume after (None: starting position)
    checkpoints: dict[str, str | None] = field(default_factory=dict)
    delivered_batches: int = 0
    failed_batches: int = 0


def _as_lambda_json(value: Any) -> Any:
    """boto3 decodes what Lambda's event carries as JSON: binary attributes back to base64, times to epoch."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if hasattr(value, "timestamp"):
        return int(value.timestamp())
    if isinstance(value, dict):
        return {k: _as_lambda_json(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_as_lambda_json(v) for v in value]
    return value


class StreamPoller:
    def __init__(
        self, lambdas: LambdaService, streams_client: Any, sqs_client: Any, time_scale: float, poll_interval: float = 0.05
    ):
        self._lambdas = lambdas
        self._streams = streams_client
        self._sqs = sqs_client
        self._time_scale = time_scale
        self._interval = poll_interval
        self.mappings: list[StreamMapping] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._paused = threading.Event()

    def add(self, mapping: StreamMapping) -> None:
        self.mappings.append(mapping)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def pause(self) -> None:
        """Hold delivery (records wait in the stream, as when a consumer lags); `resume()` lets them go."""
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def _run(self) -> None:
        while not self._stop.is_set():
            for mapping in [] if self._paused.is_set() else self.mappings:
                try:
                    self._poll(mapping)
                except Exception:  # noqa: BLE001 - a broken mapping must not stop the others
                    LOG.exception("polling %s failed", mapping.stream_arn)
            self._stop.wait(self._interval)

    def _poll(self, mapping: StreamMapping) -> None:
        shards = self._streams.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            records = self._read(mapping, shard_id)
            if not records:
                continue
            if mapping.batching_window_seconds and len(records) < mapping.batch_size:
                # Wait for the window (scaled) to gather a fuller batch, as Lambda does.
                time.sleep(mapping.batching_window_seconds * self._time_scale)
                records = self._read(mapping, shard_id)
            self._deliver(mapping, shard_id, records)

    def start_positions(self) -> None:
        """LATEST: records already in a shard when the mapping starts are not delivered (as on AWS)."""
        for mapping in self.mappings:
            if mapping.starting_position != "LATEST":
                continue
            for shard in self._streams.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"]["Shards"]:
                iterator = self._streams.get_shard_iterator(
                    StreamArn=mapping.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                records = self._streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
                mapping.checkpoints[shard["ShardId"]] = records[-1]["dynamodb"]["SequenceNumber"] if records else ""

    def _read(self, mapping: StreamMapping, shard_id: str) -> list[dict[str, Any]]:
        after = mapping.checkpoints.get(shard_id)
        if after:
            iterator = self._streams.get_shard_iterator(
                StreamArn=mapping.stream_arn, ShardId=shard_id, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after
            )
        else:  # nothing delivered yet ("" for a LATEST mapping whose shard was empty at start)
            iterator = self._streams.get_shard_iterator(
                StreamArn=mapping.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )
        return self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=mapping.batch_size)["Records"]

    def _deliver(self, mapping: StreamMapping, shard_id: str, records: list[dict[str, Any]]) -> None:
        pending = [self._lambda_record(mapping, r) for r in records]
        attempts = 0
        while pending and not self._stop.is_set():
            result = self._lambdas.invoke(mapping.function_name, {"Records": pending})
            mapping.delivered_batches += 1
            failed_from = self._first_failure(mapping, result, pending)
            if failed_from is None:
                self._checkpoint(mapping, shard_id, pending[-1])
                return
            if failed_from > 0:
                self._checkpoint(mapping, shard_id, pending[failed_from - 1])
                pending = pending[failed_from:]
            attempts += 1
            mapping.failed_batches += 1
            if mapping.maximum_retry_attempts >= 0 and attempts > mapping.maximum_retry_attempts:
                if mapping.bisect_on_error and len(pending) > 1 and not result.ok:
                    half = len(pending) // 2
                    pending, attempts = pending[:half], 0  # retry the first half on its own
                    continue
                self._send_on_failure(mapping, shard_id, pending, result)
                self._checkpoint(mapping, shard_id, pending[-1])
                return
            self._stop.wait(max(0.05, min(1.0, 0.5 * attempts) * self._time_scale))

    @staticmethod
    def _first_failure(mapping: StreamMapping, result: Any, pending: list[dict[str, Any]]) -> int | None:
        if not result.ok:
            return 0
        if not mapping.report_batch_item_failures or not isinstance(result.payload, dict):
            return None
        failures = result.payload.get("batchItemFailures") or []
        if not failures:
            return None
        positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(pending)}
        indexes = [positions.get(f.get("itemIdentifier"), 0) for f in failures]  # an unknown id fails the batch
        return min(indexes)

    @staticmethod
    def _checkpoint(mapping: StreamMapping, shard_id: str, record: dict[str, Any]) -> None:
        mapping.checkpoints[shard_id] = record["dynamodb"]["SequenceNumber"]

    @staticmethod
    def _lambda_record(mapping: StreamMapping, record: dict[str, Any]) -> dict[str, Any]:
        change = _as_lambda_json(record["dynamodb"])
        return {**record, "dynamodb": change, "eventSourceARN": mapping.stream_arn}

    def _send_on_failure(self, mapping: StreamMapping, shard_id: str, records: list[dict[str, Any]], result: Any) -> None:
        LOG.warning("%s: %d records exhausted their retries", mapping.function_name, len(records))
        if not mapping.on_failure_arn:
            return
        queue_name = mapping.on_failure_arn.rsplit(":", 1)[-1]
        queue_url = self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        body = {
            "requestContext": {
                "functionArn": self._lambdas.spec(mapping.function_name).arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": mapping.maximum_retry_attempts + 1,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": result.function_error or ""},
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": str(records[0]["dynamodb"].get("ApproximateCreationDateTime", "")),
                "approximateArrivalOfLastRecord": str(records[-1]["dynamodb"].get("ApproximateCreationDateTime", "")),
                "batchSize": len(records),
                "streamArn": mapping.stream_arn,
            },
        }
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(body, default=str))

    def where(self) -> str:
        """Where the poller's thread is now (its innermost frames), to tell a slow consumer from a stuck one."""
        frame = sys._current_frames().get(self._thread.ident) if self._thread and self._thread.ident else None
        return "is not running" if frame is None else "is at\n" + "".join(traceback.format_stack(frame)[-6:])

    def idle(self) -> bool:
        """True when no shard has undelivered records (used by tests and the demo to wait for events)."""
        for mapping in self.mappings:
            for shard in self._streams.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"]["Shards"]:
                if self._peek(mapping, shard["ShardId"]):
                    return False
        return True

    def _peek(self, mapping: StreamMapping, shard_id: str) -> bool:
        after = mapping.checkpoints.get(shard_id) or None
        kwargs: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = self._streams.get_shard_iterator(StreamArn=mapping.stream_arn, ShardId=shard_id, **kwargs)
        return bool(self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1)["Records"])
