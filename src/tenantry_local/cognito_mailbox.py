"""What Cognito would have emailed: moto sends no message, so the codes Cognito mails to a user (a forgotten
password's code) are kept here instead, for the person at the keyboard to read, as they would read their mail:
`GET /_tenantry/cognito/messages` on the local endpoint (newest last). A local stand-in for a mailbox only: the
deployed application never reads it, and nothing else of the runtime logs a code."""

from __future__ import annotations

import threading
import time
from typing import Any

_lock = threading.Lock()
_messages: list[dict[str, Any]] = []
_KEPT = 500


def deliver(user_pool_id: str, username: str, email: str | None, kind: str, code: str) -> None:
    with _lock:
        _messages.append(
            {"userPoolId": user_pool_id, "username": username, "email": email, "kind": kind, "code": code, "at": time.time()}
        )
        del _messages[:-_KEPT]


def messages() -> list[dict[str, Any]]:
    with _lock:
        return list(_messages)
