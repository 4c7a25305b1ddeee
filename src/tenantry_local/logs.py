"""CloudWatch Logs, locally, as far as the template needs it: every function's output lines go to its log
group (a file under the runtime's log directory) and through the group's subscription filters, which
deliver matching lines to their destination function in the awslogs format, as CloudWatch Logs does.

Filter patterns: the empty pattern, space-separated terms (all must appear), and JSON patterns such as
`{ $.event = "UserSignedIn" }` or `{ $.a = 1 && $.b.c != "x" }`.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantry_local.template import ACCOUNT_ID

LOG = logging.getLogger("tenantry_local.logs")
_CONDITION = re.compile(r'^\$\.([A-Za-z0-9_.\-]+)\s*(=|!=)\s*(".*?"|[^\s"]+)$')


class UnsupportedFilterPattern(ValueError):
    pass


def compile_pattern(pattern: str):
    """A predicate over one log line for a CloudWatch Logs filter pattern."""
    text = (pattern or "").strip()
    if not text:
        return lambda line: True
    if text.startswith("{") and text.endswith("}"):
        conditions = []
        for part in text[1:-1].split("&&"):
            match = _CONDITION.match(part.strip())
            if not match:
                raise UnsupportedFilterPattern(pattern)
            path, operator, raw = match.groups()
            expected = raw[1:-1] if raw.startswith('"') else json.loads(raw) if raw[0].isdigit() or raw[0] == "-" else raw
            conditions.append((path.split("."), operator, expected))

        def matches_json(line: str) -> bool:
            try:
                document = json.loads(line)
            except ValueError:
                return False
            for path, operator, expected in conditions:
                value: Any = document
                for key in path:
                    value = value.get(key) if isinstance(value, dict) else None
                if (value == expected) != (operator == "="):
                    return False
            return True

        return matches_json
    terms = [t.strip('"') for t in text.split()]
    return lambda line: all(term in line for term in terms)


@dataclass
class Subscription:
    name: str
    log_group: str
    pattern: str
    destination_arn: str
    matches: Any = None
    pending: list[dict[str, Any]] = field(default_factory=list)


class LogRouter:
    def __init__(self, log_dir: Path | None, deliver: Any, window_seconds: float = 0.2):
        self._log_dir = log_dir
        self._deliver = deliver  # (destination_arn, payload) -> None, invoked asynchronously
        self._window = window_seconds
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._lock = threading.Lock()
        self._files: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flush_loop, name="log-subscriptions", daemon=True)
        self._thread.start()
        self.delivered = 0
        # Readers of every line written from now on, (log group, line) -> None: the demo checks its lines for secrets
        self.taps: list[Any] = []

    def subscribe(self, name: str, log_group: str, pattern: str, destination_arn: str) -> None:
        subscription = Subscription(name, log_group, pattern, destination_arn)
        subscription.matches = compile_pattern(pattern)
        with self._lock:
            self._subscriptions.setdefault(log_group, []).append(subscription)

    def write(self, log_group: str, log_stream: str, line: str) -> None:
        line = line.rstrip("\n")
        self._append_to_file(log_group, line)
        for tap in list(self.taps):
            tap(log_group, line)
        for subscription in self._subscriptions.get(log_group, []):
            if subscription.matches(line):
                with self._lock:
                    subscription.pending.append(
                        {"id": uuid.uuid4().hex, "timestamp": int(time.time() * 1000), "message": line, "logStream": log_stream}
                    )

    def _append_to_file(self, log_group: str, line: str) -> None:
        if self._log_dir is None:
            return
        with self._lock:
            handle = self._files.get(log_group)
            if handle is None:
                self._log_dir.mkdir(parents=True, exist_ok=True)
                handle = open(self._log_dir / (log_group.strip("/").replace("/", "_") + ".log"), "a", buffering=1)  # noqa: SIM115
                self._files[log_group] = handle
            handle.write(line + "\n")

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._window):
            self.flush()

    def flush(self) -> None:
        for subscriptions in list(self._subscriptions.values()):
            for subscription in subscriptions:
                with self._lock:
                    batch, subscription.pending = subscription.pending, []
                if batch:
                    self._deliver(subscription.destination_arn, _awslogs_payload(subscription, batch))
                    self.delivered += len(batch)

    def idle(self) -> bool:
        return not any(s.pending for subs in self._subscriptions.values() for s in subs)

    def close(self) -> None:
        self._stop.set()
        self.flush()
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()


def _awslogs_payload(subscription: Subscription, batch: list[dict[str, Any]]) -> dict[str, Any]:
    document = {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT_ID,
        "logGroup": subscription.log_group,
        "logStream": batch[0]["logStream"],
        "subscriptionFilters": [subscription.name],
        "logEvents": [{k: e[k] for k in ("id", "timestamp", "message")} for e in batch],
    }
    data = base64.b64encode(gzip.compress(json.dumps(document).encode())).decode()
    return {"awslogs": {"data": data}}
