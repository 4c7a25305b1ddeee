"""Tenant-scoped API keys: for a tenant's own machines, created by that tenant's Admin.

A key is shown once, as `tk_<keyId>_<secret>`; Tenantry keeps only the SHA-256 of the secret (256 bits of
randomness: a fast hash is enough, nothing to brute-force), so reading the table never yields a usable key.
The key id in the clear makes verification one strongly consistent read. Each key has named scopes, an
expiry, can be revoked at once, and has its own rate limit: a counter per key and minute, so one tenant's
key never spends another's quota.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from tenantry import keys
from tenantry.adapters.dynamodb import from_item, get_plain, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SCOPES = ("users:read", "users:write", "badges:write", "tokens:verify")
KEY_PREFIX = "tk"
SECRET_BYTES = 32
MAX_LIFETIME_DAYS = 365
DEFAULT_RATE_PER_MINUTE = 600
_PRESENTED = re.compile(rf"{KEY_PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{43}})")

Refusal = Literal["MALFORMED", "UNKNOWN", "REVOKED", "EXPIRED"]


class InvalidKeyRequest(ValueError):
    """A key cannot be created as asked; `field` names the part of the request at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ApiKey:
    """A key as an Admin lists it: never the secret, never its hash."""

    keyId: str  # noqa: N815 - the API's field names
    tenantId: str  # noqa: N815
    name: str
    scopes: list[str]
    createdBy: str  # noqa: N815
    createdAt: int  # noqa: N815 - epoch seconds
    expiresAt: int  # noqa: N815
    revokedAt: int | None  # noqa: N815
    ratePerMinute: int  # noqa: N815

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ApiKey:
        return cls(
            keyId=item["keyId"],
            tenantId=item["tenantId"],
            name=item["name"],
            scopes=list(item["scopes"]),
            createdBy=item["createdBy"],
            createdAt=int(item["createdAt"]),
            expiresAt=int(item["expiresAt"]),
            revokedAt=int(item["revokedAt"]) if item.get("revokedAt") is not None else None,
            ratePerMinute=int(item["ratePerMinute"]),
        )


@dataclass(frozen=True)
class VerifiedKey:
    keyId: str  # noqa: N815
    tenantId: str  # noqa: N815
    scopes: list[str]
    ratePerMinute: int  # noqa: N815


@dataclass(frozen=True)
class RefusedKey:
    reason: Refusal


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_request(name: Any, scopes: Any, expires_in_days: Any) -> tuple[str, list[str], int]:
    """The creation request, checked; InvalidKeyRequest names the first field at fault."""
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidKeyRequest("name", "name must be 1 to 100 characters")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        raise InvalidKeyRequest("scopes", f"scopes must be a non-empty list of {', '.join(SCOPES)}")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidKeyRequest("scopes", f"unknown scopes {', '.join(unknown)}; allowed: {', '.join(SCOPES)}")
    if isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int) or not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise InvalidKeyRequest("expiresInDays", f"expiresInDays must be a whole number from 1 to {MAX_LIFETIME_DAYS}")
    return name.strip(), sorted(set(scopes)), expires_in_days


class ApiKeyStore:
    """API keys and their rate-limit counters in the Tenantry table."""

    def __init__(self, table_name: str, dynamodb_client: DynamoDBClient, clock: Any = time.time):
        self._table = table_name
        self._ddb = dynamodb_client
        self._clock = clock

    def create(
        self,
        tenant_id: str,
        created_by: str,
        name: Any,
        scopes: Any,
        expires_in_days: Any,
        rate_per_minute: int = DEFAULT_RATE_PER_MINUTE,
    ) -> tuple[ApiKey, str]:
        """A new key of `tenant_id`: its record and the key itself, which is never shown again."""
        name, scopes, days = check_request(name, scopes, expires_in_days)
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(SECRET_BYTES)
        now = int(self._clock())
        record = ApiKey(key_id, tenant_id, name, scopes, created_by, now, now + days * 86400, None, rate_per_minute)
        item = {
            **keys.api_key_key(key_id),
            **keys.tenant_api_key_index_key(tenant_id, key_id),
            "entity": keys.API_KEY.name,
            **{k: v for k, v in record.__dict__.items() if v is not None},
            "secretHash": secret_hash(secret),
        }
        self._ddb.put_item(TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(PK)")
        return record, f"{KEY_PREFIX}_{key_id}_{secret}"

    def list(self, tenant_id: str) -> list[ApiKey]:
        """The tenant's keys, newest first: their ids from the ByTenant index (which projects keys only for
        them), then the items (a tenant has a handful of keys: one BatchGetItem per 100)."""
        index_pk, _ = keys.INDEXES["ByTenant"]
        item_keys: list[dict[str, Any]] = []
        for page in self._ddb.get_paginator("query").paginate(
            TableName=self._table,
            IndexName="ByTenant",
            KeyConditionExpression=f"{index_pk} = :p",
            ExpressionAttributeValues={":p": {"S": keys.tenant_api_keys_partition(tenant_id)}},
        ):
            item_keys += [{"PK": item["PK"], "SK": item["SK"]} for item in page["Items"]]
        found: list[ApiKey] = []
        for start in range(0, len(item_keys), 100):
            pending: dict[str, Any] = {self._table: {"Keys": item_keys[start : start + 100], "ConsistentRead": True}}
            while pending:
                answer = self._ddb.batch_get_item(RequestItems=pending)
                found += [ApiKey.from_item(from_item(item)) for item in answer["Responses"].get(self._table, [])]
                pending = dict(answer.get("UnprocessedKeys") or {})
        return sorted(found, key=lambda k: (-k.createdAt, k.keyId))

    def revoke(self, tenant_id: str, key_id: str) -> ApiKey | None:
        """Revoke a key of `tenant_id` (at once: the next request with it is refused); None when the tenant
        has no such key (another tenant's key is not found, exactly as one that does not exist)."""
        try:
            answer = self._ddb.update_item(
                TableName=self._table,
                Key=to_item(keys.api_key_key(key_id)),
                UpdateExpression="SET revokedAt = if_not_exists(revokedAt, :now)",
                ConditionExpression="tenantId = :t",
                ExpressionAttributeValues={":now": {"N": str(int(self._clock()))}, ":t": {"S": tenant_id}},
                ReturnValues="ALL_NEW",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return None
        return ApiKey.from_item(from_item(answer["Attributes"]))

    def verify(self, presented: str) -> VerifiedKey | RefusedKey:
        """The key's tenant and scopes, or why it is refused. One strongly consistent read."""
        match = _PRESENTED.fullmatch(presented.strip())
        if match is None:
            return RefusedKey("MALFORMED")
        key_id, secret = match.groups()
        item = get_plain(self._ddb, self._table, keys.api_key_key(key_id))
        if item is None or not hmac.compare_digest(item.get("secretHash", ""), secret_hash(secret)):
            return RefusedKey("UNKNOWN")
        if item.get("revokedAt") is not None:
            return RefusedKey("REVOKED")
        if int(item["expiresAt"]) <= self._clock():
            return RefusedKey("EXPIRED")
        return VerifiedKey(key_id, item["tenantId"], list(item["scopes"]), int(item["ratePerMinute"]))

    def take_request(self, key: VerifiedKey) -> bool:
        """Count one request against the key's limit for this minute; False when the limit is spent. One
        conditional write on the key's own counter (which expires with DynamoDB's TTL after two minutes)."""
        minute = int(self._clock()) // 60
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=to_item(keys.api_key_rate_key(key.keyId, minute)),
                UpdateExpression="ADD requests :one SET #ttl = :expires, entity = :entity",
                ConditionExpression="attribute_not_exists(requests) OR requests < :limit",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(key.ratePerMinute)},
                    ":expires": {"N": str((minute + 2) * 60)},
                    ":entity": {"S": keys.API_KEY_RATE.name},
                },
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True
