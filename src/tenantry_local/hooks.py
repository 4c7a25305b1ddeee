"""The runtime's services as the moto patches see them (set by LocalRuntime; unset means moto's own
behaviour)."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

# The key the runtime's own clients sign with (the stream poller): their calls are not the application's,
# so accounting, fault injection and CloudTrail leave them out.
INTERNAL_ACCESS_KEY = "local-runtime-internal"


class InFlight:
    """Work started asynchronously and not finished yet (async invocations, rule deliveries)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def __enter__(self) -> InFlight:
        with self._lock:
            self._count += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._count -= 1

    def __eq__(self, other: object) -> bool:
        return self._count == other

    def __hash__(self) -> int:
        return id(self)


@dataclass
class Hooks:
    lambdas: Any = None  # tenantry_local.lambdas.LambdaService
    faults: Any = None  # tenantry_local.faults.FaultInjector
    endpoint_url: str = ""
    time_scale: float = 1.0
    cloudtrail: bool = True  # emit CloudTrail events for Cognito calls
    local_role_arn: str = "arn:aws:iam::123456789012:role/local-runtime"
    in_flight: InFlight = field(default_factory=InFlight)
    # Every AWS API call the endpoint served, as "service:Operation" -> count (for per-flow call counts).
    api_calls: Counter[str] = field(default_factory=Counter)
    # The latest calls with their request bodies, to count the calls made for one user or resource.
    recent_calls: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=20000))


HOOKS = Hooks()
