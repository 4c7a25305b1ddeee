"""The one lookup Cognito's pre sign-up trigger makes: a tenant's status (imports the AWS SDK)."""

from __future__ import annotations

from tenantry import keys
from tenantry.adapters import client


def tenant_status(table_name: str, tenant_id: str) -> str | None:
    item = (
        client("dynamodb")
        .get_item(
            TableName=table_name,
            Key={k: {"S": v} for k, v in keys.tenant_key(tenant_id).items()},
            ProjectionExpression="#s",
            ConsistentRead=True,  # the onboarding workflow creates its first admin right after writing the tenant
            ExpressionAttributeNames={"#s": "status"},
        )
        .get("Item")
    )
    return item["status"]["S"] if item else None
