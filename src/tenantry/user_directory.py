"""Finding a tenant's users by email, handle or name: the tenant's partition of the `ByTenant` index only
(never a scan, never another tenant's partition), then the matching profiles themselves.

`ByTenant` projects `email`, `name` and `handle` so that the filter runs on the index; only the matches are
read from the table (one `BatchGetItem` per page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from tenantry import keys
from tenantry.adapters.dynamodb import from_item, to_item
from tenantry.naming import canonical_email

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SearchField = Literal["email", "handle", "name"]

# email: exact, as stored (lower-cased at registration); handle: exact; name: a prefix of it.
_FILTERS: dict[str, str] = {"email": "#f = :v", "handle": "#f = :v", "name": "begins_with(#f, :v)"}


@dataclass(frozen=True)
class SearchPage:
    profiles: list[dict[str, Any]]  # in the index's order (by user id)
    last_user_id: str | None  # where the next page starts after, or None when this is the last page


def normalised(field: SearchField, value: str) -> str:
    """The value searched for: emails are stored as `canonical_email` keeps them."""
    return canonical_email(value) if field == "email" else value


class UserDirectory:
    """A tenant's profiles, searched through the `ByTenant` index."""

    def __init__(self, dynamodb_client: DynamoDBClient, table_name: str):
        self._ddb, self._table = dynamodb_client, table_name

    def search(self, tenant_id: str, field: SearchField, value: str, limit: int, after_user_id: str | None = None) -> SearchPage:
        """Up to `limit` profiles of `tenant_id` matching, after the user `after_user_id` (a previous page's end)."""
        partition_attribute, _ = keys.INDEXES["ByTenant"]
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "ByTenant",
            "KeyConditionExpression": "#p = :p",
            "FilterExpression": _FILTERS[field],
            "ExpressionAttributeNames": {"#p": partition_attribute, "#f": field},
            "ExpressionAttributeValues": to_item({":p": keys.tenant_users_partition(tenant_id), ":v": normalised(field, value)}),
        }
        if after_user_id is not None:
            query["ExclusiveStartKey"] = to_item(
                keys.profile_key(after_user_id) | keys.tenant_index_key(tenant_id, after_user_id)
            )
        # One match beyond the page tells whether there is a next page
        user_ids: list[str] = []
        while len(user_ids) <= limit:
            answer = self._ddb.query(**query)
            user_ids += [item["userId"]["S"] for item in answer.get("Items", []) if "S" in item.get("userId", {})]
            if not answer.get("LastEvaluatedKey"):
                break
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        page = user_ids[:limit]
        return SearchPage(self._profiles(page), page[-1] if len(user_ids) > limit else None)

    def _profiles(self, user_ids: list[str]) -> list[dict[str, Any]]:
        if not user_ids:
            return []
        wanted: dict[str, Any] = {self._table: {"Keys": [to_item(keys.profile_key(u)) for u in user_ids], "ConsistentRead": True}}
        found: dict[str, dict[str, Any]] = {}
        while wanted:
            answer = self._ddb.batch_get_item(RequestItems=wanted)
            for item in answer.get("Responses", {}).get(self._table, []):
                profile = from_item(item)
                found[str(profile.get("userId"))] = profile
            wanted = answer.get("UnprocessedKeys") or {}
        # A profile deleted between the index read and this one is left out
        return [found[u] for u in user_ids if u in found]
