"""Who may ask for what on the bus: the registry of upstream sources and their grants.

Every principal allowed to put events on the bus could otherwise ask for anything, for any tenant. An
upstream system is registered by an operator as a `source` (the `Source` of the events it puts) with a
grant: the request types it may post, and the tenants it may post them for (`*`: any tenant, and only
then may it onboard new ones). A request from an unregistered source, or outside its grant, ends in its
`*Failed` event with `UNTRUSTED_SOURCE` before anything is started or changed.

Grants live in the table, one item per source in one partition (`SOURCES`), so an operator lists them
with one query. The functions that take requests off the bus look a source up once per
GRANT_CACHE_SECONDS per execution environment, not once per request or per state: a revoked grant stops
being honoured within that time.

Operators manage grants with `python -m tenantry.sources grant|revoke|list --table <TableName>` (the
stack output `TableName`), with their own AWS credentials (`--endpoint-url` for the local runtime).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tenantry import keys
from tenantry.adapters.dynamodb import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The requests an upstream system can post (each has a schema in schemas/events and a *Failed outcome).
REQUEST_TYPES = (
    "TenantOnboardingRequested",
    "TenantOffboardingRequested",
    "UserRegistrationRequested",
    "UserActivationRequested",
    "MfaRequirementChangeRequested",
)
ANY_TENANT = "*"
UNTRUSTED_SOURCE = "UNTRUSTED_SOURCE"
GRANT_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Grant:
    source: str
    request_types: frozenset[str]
    tenants: frozenset[str]  # tenant ids, or {ANY_TENANT}

    def refusal(self, request_type: str, tenant_id: object) -> str | None:
        """Why this grant does not cover a `request_type` for `tenant_id` (None: it does). `tenant_id` is the
        tenant the request names (None when it names none, or when it is resolved later)."""
        if request_type not in self.request_types:
            return f"source {self.source} may not post {request_type}"
        if ANY_TENANT in self.tenants:
            return None
        if request_type == "TenantOnboardingRequested":
            return f"source {self.source} may act for named tenants only, and may not onboard new ones"
        if not isinstance(tenant_id, str) or tenant_id not in self.tenants:
            return f"source {self.source} may not act for tenant {tenant_id}"
        return None


def refusal(grant: Grant | None, source: str, request_type: str, tenant_id: object) -> str | None:
    """Why a request of `request_type` for `tenant_id` from `source` is not trusted; None when it is."""
    if grant is None:
        return f"source {source} is not registered"
    return grant.refusal(request_type, tenant_id)


class SourceRegistry:
    """The grants, in the table; `lookup` reads one source's grant at most once per `cache_seconds`."""

    def __init__(
        self,
        table_name: str,
        dynamodb_client: DynamoDBClient,
        cache_seconds: float = GRANT_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._table = table_name
        self._ddb = dynamodb_client
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cached: dict[str, tuple[float, Grant | None]] = {}

    def lookup(self, source: str) -> Grant | None:
        """The grant of `source`, or None when it is not registered."""
        now = self._clock()
        cached = self._cached.get(source)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        item = self._ddb.get_item(TableName=self._table, Key=to_item(keys.source_grant_key(source))).get("Item")
        grant = _grant_of(from_item(item)) if item else None
        self._cached[source] = (now, grant)
        return grant

    def grant(self, source: str, request_types: Iterable[str], tenants: Iterable[str], granted_by: str) -> Grant:
        """Register `source` (or replace its grant)."""
        types, tenant_ids = sorted(set(request_types)), sorted(set(tenants))
        unknown = [t for t in types if t not in REQUEST_TYPES]
        if unknown or not types:
            raise ValueError(f"request types must be some of {', '.join(REQUEST_TYPES)}; got {', '.join(unknown) or 'none'}")
        if not tenant_ids or (ANY_TENANT in tenant_ids and len(tenant_ids) > 1):
            raise ValueError(f"tenants must be {ANY_TENANT} alone, or tenant ids")
        if not source or source == "tenantry" or source.startswith("aws."):
            raise ValueError(f"{source!r} cannot be an upstream source")
        self._ddb.put_item(
            TableName=self._table,
            Item=to_item(
                {
                    **keys.source_grant_key(source),
                    "entity": keys.SOURCE_GRANT.name,
                    "source": source,
                    "requestTypes": types,
                    "tenants": tenant_ids,
                    "grantedBy": granted_by,
                    "grantedAt": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                }
            ),
        )
        self._cached.pop(source, None)
        return Grant(source, frozenset(types), frozenset(tenant_ids))

    def revoke(self, source: str) -> bool:
        """Unregister `source`; whether it was registered."""
        response = self._ddb.delete_item(
            TableName=self._table, Key=to_item(keys.source_grant_key(source)), ReturnValues="ALL_OLD"
        )
        self._cached.pop(source, None)
        return "Attributes" in response

    def all(self) -> list[dict[str, Any]]:
        """Every registered source's grant, as stored."""
        pages = self._ddb.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="PK = :sources",
            ExpressionAttributeValues=to_item({":sources": keys.SOURCE_GRANT.pk}),
        )
        return [from_item(item) for page in pages for item in page["Items"]]


def _grant_of(item: dict[str, Any]) -> Grant:
    return Grant(item["source"], frozenset(item.get("requestTypes", [])), frozenset(item.get("tenants", [])))


def main(argv: list[str] | None = None, dynamodb_client: DynamoDBClient | None = None) -> int:
    """The operator's command: grant, revoke and list the sources allowed to post requests."""
    parser = argparse.ArgumentParser(prog="python -m tenantry.sources", description=main.__doc__)
    parser.add_argument("--table", required=True, help="the stack's TableName output")
    parser.add_argument("--endpoint-url", help="another endpoint than AWS's, e.g. the local runtime's")
    commands = parser.add_subparsers(dest="command", required=True)
    grant = commands.add_parser("grant", help="register a source, or replace its grant")
    grant.add_argument("source", help="the Source its events carry")
    grant.add_argument("--requests", required=True, help=f"comma-separated request types, or 'all': {', '.join(REQUEST_TYPES)}")
    grant.add_argument("--tenants", required=True, help=f"comma-separated tenant ids, or '{ANY_TENANT}' for any tenant")
    grant.add_argument("--by", default="operator", help="who grants it (kept with the grant)")
    revoke = commands.add_parser("revoke", help="unregister a source")
    revoke.add_argument("source")
    commands.add_parser("list", help="every registered source and its grant")
    args = parser.parse_args(argv)
    if dynamodb_client is None:
        import boto3

        dynamodb_client = boto3.client("dynamodb", endpoint_url=args.endpoint_url)
    registry = SourceRegistry(args.table, dynamodb_client)
    if args.command == "grant":
        types = REQUEST_TYPES if args.requests == "all" else [t.strip() for t in args.requests.split(",") if t.strip()]
        tenants = [t.strip() for t in args.tenants.split(",") if t.strip()]
        try:
            given = registry.grant(args.source, types, tenants, args.by)
        except ValueError as error:
            parser.error(str(error))
        print(json.dumps({"source": given.source, "requestTypes": sorted(given.request_types), "tenants": sorted(given.tenants)}))
    elif args.command == "revoke":
        if not registry.revoke(args.source):
            print(f"source {args.source} was not registered", file=sys.stderr)
            return 1
    else:
        for item in registry.all():
            print(json.dumps({k: item[k] for k in ("source", "requestTypes", "tenants", "grantedBy", "grantedAt") if k in item}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
