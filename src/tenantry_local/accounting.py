"""Call accounting: how many calls of each AWS operation the application made, and the latest calls with
their request bodies (to count the calls made for one user or resource)."""

from __future__ import annotations

from collections import Counter, deque

from tenantry_local.api_calls import ApiCall, Proceed, Response


class CallAccounting:
    def __init__(self, keep_recent: int = 20000) -> None:
        self.counts: Counter[str] = Counter()  # "service:Operation" -> calls
        self.recent: deque[tuple[str, str]] = deque(maxlen=keep_recent)  # (operation, first 2,000 chars of the body)

    def __call__(self, call: ApiCall, proceed: Proceed) -> Response:
        self.counts[call.name] += 1
        self.recent.append((call.name, call.body[:2000]))
        return proceed(call)

    def clear(self) -> None:
        self.counts.clear()
        self.recent.clear()
