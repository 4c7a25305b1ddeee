"""What the tests share besides fixtures: where the project is, and the requests an upstream system posts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tenantry_local.client import free_port

__all__ = ["ACTIVATION_TTL_SECONDS", "ROOT", "free_port", "onboarding_request", "registration_request"]

ROOT = Path(__file__).resolve().parents[2]
ACTIVATION_TTL_SECONDS = 6


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
