"""The single-table key design, in one place.

| item                 | PK                                | SK        | GSI1 (ByTenant)                  |
| -------------------- | --------------------------------- | --------- | -------------------------------- |
| tenant               | TENANT#<tenantId>                 | TENANT    |                                  |
| request reservation  | REQUEST#<workflow>#<requestId>    | REQUEST   |                                  |
| user profile         | USER#<userId (Cognito sub)>       | PROFILE   | TENANT#<tenantId> / USER#<userId> |
"""

from __future__ import annotations

TENANT_SK = "TENANT"
REQUEST_SK = "REQUEST"
PROFILE_SK = "PROFILE"


def tenant_key(tenant_id: str) -> dict[str, str]:
    return {"PK": f"TENANT#{tenant_id}", "SK": TENANT_SK}


def request_key(workflow: str, request_id: str) -> dict[str, str]:
    return {"PK": f"REQUEST#{workflow}#{request_id}", "SK": REQUEST_SK}


def profile_key(user_id: str) -> dict[str, str]:
    return {"PK": f"USER#{user_id}", "SK": PROFILE_SK}


def tenant_index_key(tenant_id: str, user_id: str) -> dict[str, str]:
    return {"GSI1PK": f"TENANT#{tenant_id}", "GSI1SK": f"USER#{user_id}"}
