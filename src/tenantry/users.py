"""Users of a tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantry import keys
from tenantry.adapters.dynamodb import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient


def list_tenant_usernames(
    tenant: dict[str, Any], table_name: str, dynamodb_client: DynamoDBClient, cognito_client: CognitoIdentityProviderClient
) -> list[str]:
    """Every Cognito username of the tenant.

    A dedicated pool holds only this tenant, so Cognito lists them. In the shared pool Cognito cannot
    filter on custom:tenant_id, so the tenant's user profiles (index ByTenant) are the list.
    """
    if tenant["isolation"] == "dedicated":
        users = cognito_client.get_paginator("list_users").paginate(UserPoolId=tenant["userPoolId"])
        return [u["Username"] for page in users for u in page["Users"]]
    pages = dynamodb_client.get_paginator("query").paginate(
        TableName=table_name,
        IndexName="ByTenant",
        KeyConditionExpression="GSI1PK = :tenant",
        ExpressionAttributeValues=to_item({":tenant": keys.tenant_users_partition(tenant["tenantId"])}),
    )
    return [from_item(item)["username"] for page in pages for item in page["Items"] if "username" in item]
