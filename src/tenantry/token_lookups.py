"""The lookups TokenVerifier needs, from the Tenantry table: pool registrations (written when a tenant is
activated, deleted when it is offboarded) and each user's sessionsRevokedAt."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from tenantry import keys
from tenantry.adapters.dynamodb import from_item, to_item
from tenantry.tokens import PoolRegistration, RegistrationLookup, RevocationLookup, TokenVerifier, jwks_url_under

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def registrations_from_table(table_name: str, dynamodb_client: DynamoDBClient) -> RegistrationLookup:
    def lookup(pool_id: str, tenant_id: str) -> PoolRegistration | None:
        if not tenant_id:
            return None
        key = to_item(keys.pool_registration_key(pool_id, tenant_id))
        item = dynamodb_client.get_item(TableName=table_name, Key=key).get("Item")
        if not item:
            return None
        plain = from_item(item)
        return PoolRegistration(plain["tenantId"], frozenset([plain["clientId"]]))

    return lookup


NO_SESSION_HONOURED = 2**63 - 1  # a revocation time after every token: what a user without a profile gets


def revocations_from_table(table_name: str, dynamodb_client: DynamoDBClient) -> RevocationLookup:
    def lookup(user_id: str) -> int | None:
        item = dynamodb_client.get_item(
            TableName=table_name, Key=to_item(keys.profile_key(user_id)), ProjectionExpression="sessionsRevokedAt"
        ).get("Item")
        if item is None:  # no profile: a deleted user (DELETE /users/{id}); their unexpired tokens die with it
            return NO_SESSION_HONOURED
        revoked = from_item(item).get("sessionsRevokedAt")
        if not revoked:
            return None
        return int(datetime.fromisoformat(revoked.replace("Z", "+00:00")).timestamp() * 1000)

    return lookup


def table_verifier(table_name: str, dynamodb_client: DynamoDBClient, endpoint_url: str = "") -> TokenVerifier:
    """The TokenVerifier of this stack: registrations and revocations from the table, each pool's JWKS from
    Cognito (or, offline, below the SDK's `AWS_ENDPOINT_URL`, where the local runtime serves it)."""
    return TokenVerifier(
        dynamodb_client.meta.region_name,  # the function's own region: its pools' tokens name it as issuer
        registrations_from_table(table_name, dynamodb_client),
        revocations_from_table(table_name, dynamodb_client),
        jwks_url=jwks_url_under(endpoint_url) if endpoint_url else None,
    )
