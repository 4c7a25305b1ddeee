"""Cognito pre sign-up trigger (every pool): the second lock behind AllowAdminCreateUserOnly."""

import os

from tenantry.triggers import check_sign_up

TABLE_NAME = os.environ["TABLE_NAME"]


def tenant_status(tenant_id):
    from tenantry import keys
    from tenantry.adapters import client

    item = (
        client("dynamodb")
        .get_item(
            TableName=TABLE_NAME,
            Key={k: {"S": v} for k, v in keys.tenant_key(tenant_id).items()},
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": "status"},
        )
        .get("Item")
    )
    return item["status"]["S"] if item else None


def handler(event, context):
    return check_sign_up(event, tenant_status)
