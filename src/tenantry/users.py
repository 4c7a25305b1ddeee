"""Users of a tenant, as offboarding must find them: every user Cognito holds for the tenant, and every
registration still waiting for its activation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantry import keys
from tenantry.adapters.dynamodb import from_item, to_item
from tenantry.naming import WORKFLOW_PREFIXES, execution_name

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_MAX = 100  # keys per BatchGetItem


def list_tenant_usernames(tenant: dict[str, Any], cognito_client: CognitoIdentityProviderClient) -> list[str]:
    """Every Cognito username of the tenant, as Cognito has them now.

    Cognito, not the profiles: a user whose profile write is still being retried (or failed) exists in the
    pool all the same, and must not survive the offboarding enabled. A dedicated pool holds only this tenant;
    in the shared pool the tenant's usernames are those starting `<tenantId>/` (ListUsers' prefix filter).
    """
    pages = cognito_client.get_paginator("list_users")
    if tenant["isolation"] == "dedicated":
        listed = pages.paginate(UserPoolId=tenant["userPoolId"])
    else:
        listed = pages.paginate(UserPoolId=tenant["userPoolId"], Filter=f'username ^= "{tenant["tenantId"]}/"')
    return [user["Username"] for page in listed for user in page["Users"]]


def pending_registration_executions(
    tenant_id: str, registration_state_machine_arn: str, table_name: str, dynamodb_client: DynamoDBClient
) -> list[str]:
    """The executions of the tenant's registrations that wait for an activation (their profiles are PENDING):
    offboarding stops them, or a code used later would resume one for a tenant that is gone."""
    pages = dynamodb_client.get_paginator("query").paginate(
        TableName=table_name,
        IndexName="ByTenant",
        KeyConditionExpression="GSI1PK = :tenant",
        ExpressionAttributeValues=to_item({":tenant": keys.tenant_users_partition(tenant_id)}),
    )
    pending = [
        from_item(item)["userId"] for page in pages for item in page["Items"] if item.get("status", {}).get("S") == "PENDING"
    ]
    request_ids: list[str] = []
    for start in range(0, len(pending), BATCH_GET_MAX):
        keys_wanted = [to_item(keys.profile_key(user_id)) for user_id in pending[start : start + BATCH_GET_MAX]]
        request: Any = {table_name: {"Keys": keys_wanted, "ProjectionExpression": "requestId"}}
        while request:  # unprocessed keys come back to be asked again
            response = dynamodb_client.batch_get_item(RequestItems=request)
            request_ids += [
                from_item(item)["requestId"] for item in response["Responses"].get(table_name, []) if "requestId" in item
            ]
            request = response.get("UnprocessedKeys") or None
    executions = registration_state_machine_arn.replace(":stateMachine:", ":execution:", 1)
    return [
        f"{executions}:{execution_name(WORKFLOW_PREFIXES['UserRegistrationRequested'], request_id, request_id)}"
        for request_id in sorted(request_ids)
    ]
