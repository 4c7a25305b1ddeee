"""What the tests share besides fixtures: where the project is, and the requests an upstream system posts."""

from __future__ import annotations

import math
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tenantry_local.client import free_port

__all__ = ["ACTIVATION_TTL_SECONDS", "ROOT", "free_port", "onboarding_request", "registration_request"]

ROOT = Path(__file__).resolve().parents[2]
# Long enough for an activation to get through the local runtime under a full test run on 2 cores, short
# enough that the expiry tests wait for it
ACTIVATION_TTL_SECONDS = 15


def sign_in_after_revocation(revoked_at: str) -> None:
    """Wait until a sign-in would be honoured again after a revocation at `revoked_at` (ISO 8601): the verifier
    refuses every token issued up to the whole second after it (tenantry.tokens rounds it up)."""
    revoked = datetime.fromisoformat(revoked_at.replace("Z", "+00:00")).timestamp()
    time.sleep(max(0.0, math.ceil(revoked) + 1.05 - time.time()))


def registration_request(request_id: str, tenant_id: str, role: str = "Member", **overrides: Any) -> dict[str, Any]:
    detail = {
        "requestId": request_id,
        "tenantId": tenant_id,
        "email": f"{request_id}@example.com",
        "name": "Grace Hopper",
        "role": role,
    }
    detail.update(overrides)
    return detail


def onboarding_request(request_id: str, isolation: str = "shared", **overrides: Any) -> dict[str, Any]:
    detail = {
        "requestId": request_id,
        "tenantName": f"Tenant {request_id}",
        "isolation": isolation,
        "admin": {"email": f"admin.{request_id}@example.com", "name": "Ada Admin"},
        "plan": "pro",
    }
    detail.update(overrides)
    return detail


UNIT_TABLE = "test-table"  # the moto table of the unit tests' `ddb` fixture (tests/unit/conftest.py)


def api_event(method, path, context=None, *, body=None, headers=None, query=None):
    """An API Gateway HTTP API (payload format 2.0) proxy event, as the Identity API's function gets it after
    the authorizer: `context` is what the authorizer passed on (None: a route without one); `body` a dict
    (sent as JSON) or the raw text; `query` a dict or the raw query string."""
    import json
    from urllib.parse import parse_qsl, urlencode

    raw_query = query if isinstance(query, str) else urlencode(query or {})
    request_context = {
        "accountId": "123456789012",
        "apiId": "api-id",
        "domainName": "api-id.execute-api.us-east-1.amazonaws.com",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "pytest"},
        "requestId": "r-1",
        "routeKey": f"{method} {path}",
        "stage": "$default",
        "time": "23/Nov/2026:18:00:00 +0000",
        "timeEpoch": 1795456800000,
    }
    if context is not None:
        request_context["authorizer"] = {"lambda": context}
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": raw_query,
        "queryStringParameters": dict(parse_qsl(raw_query)) or None,
        "headers": {"host": "api-id.execute-api.us-east-1.amazonaws.com", "content-type": "application/json", **(headers or {})},
        "requestContext": request_context,
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


class Interleaved:
    """A boto3 client, but with other requests run just before each of its next UpdateItems: a concurrent
    request that lands between the caller's read and its write."""

    def __init__(self, client, *between):
        self._client = client
        self._between = list(between)
        self.exceptions = client.exceptions

    def __getattr__(self, name):
        return getattr(self._client, name)

    def update_item(self, **params):
        if self._between:
            self._between.pop(0)()
        return self._client.update_item(**params)


def tenant_item(tenant_id: str, status: str) -> dict[str, Any]:
    """A Tenant record in `status`, in DynamoDB's JSON, to write straight to the table: a committed change
    for the stream publisher (ONBOARDING then ACTIVE is one TenantOnboarded)."""
    from tenantry.adapters.dynamodb import to_item

    return to_item(
        {
            "PK": f"TENANT#{tenant_id}",
            "SK": "TENANT",
            "entity": "Tenant",
            "tenantId": tenant_id,
            "tenantName": "Stream Co",
            "isolation": "shared",
            "status": status,
            "requestId": f"req-{tenant_id}",
            "userPoolId": "us-east-1_stream",
        }
    )
