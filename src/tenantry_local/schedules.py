"""Scheduled rules (`rate(...)` / `cron(...)` ScheduleExpression), which moto stores but never fires.

`fire_all(rules)` delivers one "Scheduled Event" to the targets of every scheduled rule, as EventBridge does
when a schedule comes due; `start()` fires each rule on its rate, on the runtime's time scale (a cron
expression is treated as hourly). Tests fire schedules themselves instead of waiting for them.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from tenantry_local.rule_delivery import RuleDelivery, delivered_by_runtime
from tenantry_local.template import ACCOUNT_ID, REGION

LOG = logging.getLogger("tenantry_local.schedules")

_RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def period_seconds(expression: str) -> float:
    match = _RATE.fullmatch(expression.strip())
    if not match:
        return 3600.0
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def _scheduled_rules() -> list[Any]:
    from moto.events.models import events_backends

    backend = events_backends[ACCOUNT_ID][REGION]
    return [
        rule
        for bus in backend.event_buses.values()
        for rule in bus.rules.values()
        if rule.scheduled_expression and rule.state == "ENABLED"
    ]


def fire(rule: Any, rules: RuleDelivery) -> None:
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule.arn],
        "detail": {},
        "ingestion-time": time.time(),
    }
    for target in rule.targets:
        if delivered_by_runtime(target["Arn"]):
            rules.deliver(rule, target, json.loads(json.dumps(event)))


def fire_all(rules: RuleDelivery) -> int:
    scheduled = _scheduled_rules()
    for rule in scheduled:
        fire(rule, rules)
    return len(scheduled)


class Scheduler:
    def __init__(self, rules: RuleDelivery, time_scale: float):
        self._rules = rules
        self._time_scale = time_scale
        self._stop = threading.Event()
        self._due: dict[str, float] = {}

    def start(self) -> None:
        threading.Thread(target=self._run, name="schedules", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self._fire_due(time.monotonic())
            except Exception:  # noqa: BLE001 - one bad rule must not stop every schedule
                LOG.exception("firing schedules failed")

    def _fire_due(self, now: float) -> None:
        for rule in list(_scheduled_rules()):
            period = max(1.0, period_seconds(rule.scheduled_expression) * self._time_scale)
            due = self._due.setdefault(rule.arn, now + period)
            if now >= due:
                self._due[rule.arn] = now + period
                fire(rule, self._rules)
