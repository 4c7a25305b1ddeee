"""The audit trail: the archive of every event on Tenantry's bus. Replaying a window sends its events to the
bus again; every consumer is idempotent, so a replay creates nothing twice. An archive cannot be read, only
replayed: reading replays the window to one rule (the stack's ArchiveReadsRule, through the replay's FilterArns),
which writes the events to a log group that is then read; no consumer sees those events."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tenantry_ops.stack import Stack

READ_PREFIX = "archive-read-"  # the replays the ArchiveReadsRule matches (its pattern: replay-name prefix)
DONE = ("COMPLETED", "FAILED", "CANCELLED")
# Step Functions refuses an execution's name again for 90 days, which is what makes a replayed request a duplicate:
# a window older than that could run old requests again (an MFA change has no other guard).
SAFE_REPLAY_DAYS = 89


class ReplayFailed(RuntimeError):
    pass


def replay(
    stack: Stack,
    since: datetime,
    until: datetime,
    name: str | None = None,
    rules: list[str] | None = None,
    progress: Callable[[str], None] = lambda state: None,
    timeout: float = 3600.0,
) -> dict[str, Any]:
    """Replay the archived events of [since, until] to the bus (to every rule, or only to `rules`); wait for the
    replay to end. Its description; ReplayFailed if it failed or was cancelled. A replay to the consumers of a
    window that starts more than SAFE_REPLAY_DAYS ago is refused (ValueError)."""
    if not rules and since < datetime.now(UTC) - timedelta(days=SAFE_REPLAY_DAYS):
        raise ValueError(
            f"--since is more than {SAFE_REPLAY_DAYS} days ago: Step Functions no longer refuses those requests' "
            "execution names, so a replay could run them again"
        )
    events = stack.client("events")
    name = name or f"replay-{uuid.uuid4().hex[:12]}"
    bus_arn = events.describe_event_bus(Name=stack.output("EventBusName"))["Arn"]
    destination: dict[str, Any] = {"Arn": bus_arn, **({"FilterArns": rules} if rules else {})}
    events.start_replay(
        ReplayName=name,
        EventSourceArn=stack.output("EventArchiveArn"),
        EventStartTime=since,
        EventEndTime=until,
        Destination=destination,
    )
    deadline = time.monotonic() + timeout
    while True:
        described = events.describe_replay(ReplayName=name)
        progress(described["State"])
        if described["State"] in DONE or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    if described["State"] != "COMPLETED":
        raise ReplayFailed(f"replay {name} ended {described['State']}: {described.get('StateReason', '')}")
    return {
        "replay": name,
        "state": described["State"],
        "since": since.isoformat(),
        "until": until.isoformat(),
        "rules": rules or "all",
    }


def read_events(
    stack: Stack,
    since: datetime,
    until: datetime,
    tenant: str | None = None,
    request_ids: frozenset[str] = frozenset(),
    progress: Callable[[str], None] = lambda state: None,
    quiet_seconds: float = 3.0,
) -> list[dict[str, Any]]:
    """The archived events of [since, until], oldest first; with `tenant`, those whose detail names the tenant
    or one of `request_ids` (the requests that made or ended it, which name no tenant id yet)."""
    name = f"{READ_PREFIX}{uuid.uuid4().hex[:12]}"
    started_ms = int(time.time() * 1000) - 60_000
    replay(stack, since, until, name=name, rules=[stack.output("ArchiveReadsRuleArn")], progress=progress)
    # The replay has ended; its events reach the log group a little later (on AWS, seconds): read until none has
    # come for a while
    if stack.endpoint_url is None:
        quiet_seconds = max(quiet_seconds, 20.0)
    logs, group = stack.client("logs"), stack.output("ArchiveReadsLogGroupName")
    found: dict[str, dict[str, Any]] = {}
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_seconds:
        before = len(found)
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=started_ms)
        for page in pages:
            for line in page["events"]:
                event = json.loads(line["message"])
                if event.get("replay-name") == name:
                    found.setdefault(str(event.get("id")), event)
        if len(found) > before:
            quiet_since = time.monotonic()
        time.sleep(0.5)
    events = [e for e in found.values() if tenant is None or _about(e.get("detail") or {}, tenant, request_ids)]
    return sorted(events, key=lambda e: str(e.get("time")))


def _about(detail: dict[str, Any], tenant: str, request_ids: frozenset[str]) -> bool:
    return detail.get("tenantId") == tenant or detail.get("requestId") in request_ids
