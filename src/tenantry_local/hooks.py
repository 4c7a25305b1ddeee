"""The runtime's services as the moto patches see them (set by LocalRuntime; unset means moto's own
behaviour)."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Hooks:
    lambdas: Any = None  # tenantry_local.lambdas.LambdaService
    faults: Any = None  # tenantry_local.faults.FaultInjector
    endpoint_url: str = ""
    cloudtrail: bool = True  # emit CloudTrail events for Cognito calls
    local_role_arn: str = "arn:aws:iam::123456789012:role/tenantry-local"
    time_scale: float = 1.0
    # Called with (detail_type, source, detail) for events AWS itself emits (CloudTrail API calls).
    emit_aws_event: Callable[..., None] | None = None
    # Every AWS API call the endpoint served, as "service:Operation" -> count (for per-flow call counts).
    api_calls: Counter[str] = field(default_factory=Counter)
    # The latest calls with their request bodies, to count the calls made for one user or resource.
    recent_calls: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=20000))


HOOKS = Hooks()
