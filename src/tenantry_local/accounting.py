"""Call accounting: how many calls of each AWS operation the application made, the time the runtime took to
serve them, and the latest calls with their request bodies (to count the calls made for one user or resource).
While `captured` is a list, every call is kept whole with its answer (the bench sends a flow's calls again)."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass

from tenantry_local.api_calls import ApiCall, Proceed, Response


@dataclass(frozen=True)
class CapturedCall:
    call: ApiCall
    status: int
    answer: str  # the response body as text


class CallAccounting:
    def __init__(self, keep_recent: int = 20000) -> None:
        self.counts: Counter[str] = Counter()  # "service:Operation" -> calls
        self.seconds: defaultdict[str, float] = defaultdict(float)  # "service:Operation" -> seconds serving them
        self.transacted: Counter[str] = Counter()  # "dynamodb:TransactWriteItems" -> items they named (priced per item)
        self.recent: deque[tuple[str, str]] = deque(maxlen=keep_recent)  # (operation, first 2,000 chars of the body)
        self.captured: list[CapturedCall] | None = None

    def __call__(self, call: ApiCall, proceed: Proceed) -> Response:
        self.counts[call.name] += 1
        self.recent.append((call.name, call.body[:2000]))
        if call.name in ("dynamodb:TransactWriteItems", "dynamodb:TransactGetItems"):
            self.transacted[call.name] += _items_in(call.body)
        began = time.perf_counter()
        try:
            response = proceed(call)
        finally:
            self.seconds[call.name] += time.perf_counter() - began
        if self.captured is not None:
            body = response[2]
            self.captured.append(CapturedCall(call, int(response[0]), body.decode() if isinstance(body, bytes) else str(body)))
        return response

    def clear(self) -> None:
        self.counts.clear()
        self.seconds.clear()
        self.transacted.clear()
        self.recent.clear()


def _items_in(body: str) -> int:
    try:
        return len(json.loads(body).get("TransactItems", []))
    except (ValueError, AttributeError):
        return 0
