"""A tenant's story for an operator: its record, its pool, its users by role and status, its recent executions."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tenantry import keys
from tenantry.adapters.dynamodb import from_item, to_item
from tenantry_ops.executions import list_executions, masked
from tenantry_ops.stack import NotFound, Stack

BATCH = 100  # BatchGetItem's largest request


class TenantNotFound(NotFound):
    pass


def tenant_story(stack: Stack, tenant_id: str, executions: int = 20) -> dict[str, Any]:
    ddb, table = stack.client("dynamodb"), stack.output("TableName")
    item = ddb.get_item(TableName=table, Key=to_item(keys.tenant_key(tenant_id)), ConsistentRead=True).get("Item")
    if not item:
        raise TenantNotFound(f"no tenant {tenant_id}")
    record = masked(from_item(item))
    profiles = _profiles(ddb, table, tenant_id)
    return {
        "tenant": {k: v for k, v in record.items() if k not in ("PK", "SK") and not k.startswith("GSI")},
        "pool": {
            "isolation": record.get("isolation"),
            "userPoolId": record.get("userPoolId"),
            "appClientId": record.get("appClientId"),
        },
        "users": {
            "total": len(profiles),
            "byRoleAndStatus": [
                {"role": role, "status": status, "users": count}
                for (role, status), count in sorted(Counter((p.get("role"), p.get("status")) for p in profiles).items())
            ],
        },
        "executions": list_executions(stack, tenant=tenant_id, limit=executions)[:executions],
    }


def _profiles(ddb: Any, table: str, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's profiles: their keys from the ByTenant index, then the items."""
    index_pk, _ = keys.INDEXES["ByTenant"]
    pages = ddb.get_paginator("query").paginate(
        TableName=table,
        IndexName="ByTenant",
        KeyConditionExpression=f"{index_pk} = :tenant",
        ExpressionAttributeValues={":tenant": {"S": keys.tenant_users_partition(tenant_id)}},
    )
    wanted = [{"PK": i["PK"], "SK": i["SK"]} for page in pages for i in page["Items"]]
    profiles: list[dict[str, Any]] = []
    for start in range(0, len(wanted), BATCH):
        request = {table: {"Keys": wanted[start : start + BATCH]}}
        while request:
            answer = ddb.batch_get_item(RequestItems=request)
            profiles += [from_item(i) for i in answer["Responses"].get(table, [])]
            request = answer.get("UnprocessedKeys") or {}
    return profiles
