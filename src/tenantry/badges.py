"""Badges: the catalogue of the badges there are (a JSON document in S3, beside their icons) and the badges a
user holds (the profile's `badges`, a list of names).

Issuing and revoking are single conditional writes on the profile, so the DynamoDB stream turns each real
change into one BadgeIssued or BadgeRevoked (tenantry.domain_events) and a repeated request changes nothing:
issuing a held badge and revoking one not held write nothing. A user of another tenant is not found, exactly
as a user that does not exist. Whether a name is in the catalogue is the caller's check (`BadgeCatalogue.knows`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from tenantry import keys
from tenantry.adapters.dynamodb import from_item, get_plain, to_item
from tenantry.clock import iso
from tenantry.profile_data import UserNotFound

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "BADGE_NAME",
    "CATALOGUE_KEY",
    "Badge",
    "BadgeCatalogue",
    "BadgeStore",
    "Conflict",
    "InvalidBadge",
    "MalformedCatalogue",
    "ObjectReader",
    "UserNotFound",
    "check_name",
    "parse_catalogue",
]

BADGE_NAME = re.compile(r"[A-Z][A-Z0-9_]{1,39}")
CATALOGUE_KEY = "catalogue.json"
CATALOGUE_MAX_AGE_SECONDS = 300.0
REVOKE_ATTEMPTS = 5
_ICON_PATH = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_./-]{0,199}")


class InvalidBadge(ValueError):
    """Not a badge name (the API answers 400 naming `field`)."""

    field = "name"


class MalformedCatalogue(ValueError):
    """The catalogue in S3 is not the documented JSON."""


class Conflict(Exception):
    """The user's badges kept changing under a revocation."""


def check_name(name: Any) -> str:
    """`name` if it is a well-formed badge name (`NEW_MEMBER`: an upper-case letter, then 1 to 39 upper-case
    letters, digits or underscores); else InvalidBadge."""
    if not isinstance(name, str) or BADGE_NAME.fullmatch(name) is None:
        raise InvalidBadge("a badge name is an upper-case letter, then 1 to 39 upper-case letters, digits or _")
    return name


@dataclass(frozen=True)
class Badge:
    """A catalogue entry; `icon` is the icon's key in the catalogue's bucket (`icons/new-member.svg`)."""

    name: str
    description: str
    icon: str


class ObjectReader(Protocol):
    """What the catalogue needs of an S3 client."""

    def get_object(self, *, Bucket: str, Key: str) -> Any: ...


def parse_catalogue(document: Any) -> tuple[Badge, ...]:
    """The badges of a catalogue document `{"badges": [{"name", "description", "icon"}, ...]}`, in its order."""
    entries = document.get("badges") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise MalformedCatalogue('the catalogue must be an object with a "badges" list')
    badges: list[Badge] = []
    for position, entry in enumerate(entries):
        fields = entry if isinstance(entry, dict) else {}
        name, description, icon = (fields.get(f) for f in ("name", "description", "icon"))
        if not isinstance(name, str) or BADGE_NAME.fullmatch(name) is None:
            raise MalformedCatalogue(f"badges[{position}]: the name is not a badge name")
        if not isinstance(description, str) or not description.strip():
            raise MalformedCatalogue(f"{name}: the description must be a non-empty string")
        if not isinstance(icon, str) or _ICON_PATH.fullmatch(icon) is None or ".." in icon.split("/"):
            raise MalformedCatalogue(f"{name}: the icon must be a relative key in the bucket")
        if any(badge.name == name for badge in badges):
            raise MalformedCatalogue(f"{name}: listed twice")
        badges.append(Badge(name, description, icon))
    return tuple(badges)


class BadgeCatalogue:
    """The catalogue (`catalogue.json` in the badge bucket), read again once it is `max_age_seconds` old."""

    def __init__(
        self,
        bucket: str,
        s3_client: ObjectReader,
        *,
        key: str = CATALOGUE_KEY,
        max_age_seconds: float = CATALOGUE_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._bucket, self._key = bucket, key
        self._s3 = s3_client
        self._max_age = max_age_seconds
        self._clock = clock
        self._loaded: tuple[float, tuple[Badge, ...]] | None = None

    def badges(self) -> tuple[Badge, ...]:
        """The catalogue's badges, from the copy in memory while it is younger than the maximum age."""
        now = self._clock()
        if self._loaded is None or now - self._loaded[0] >= self._max_age:
            body = self._s3.get_object(Bucket=self._bucket, Key=self._key)["Body"].read()
            try:
                document = json.loads(body)
            except ValueError as error:  # not JSON, or not UTF-8
                raise MalformedCatalogue(f"s3://{self._bucket}/{self._key} is not JSON") from error
            self._loaded = (now, parse_catalogue(document))
        return self._loaded[1]

    def entries(self, icon_url: Callable[[str], str]) -> list[dict[str, str]]:
        """Each badge as the API lists it: name, description and iconUrl (`icon_url` of the icon's key)."""
        return [{"name": b.name, "description": b.description, "iconUrl": icon_url(b.icon)} for b in self.badges()]

    def knows(self, name: str) -> bool:
        return any(badge.name == name for badge in self.badges())


class BadgeStore:
    """The badges users hold: the `badges` list of their profile (`USER#{user_id}` / `PROFILE`)."""

    def __init__(
        self,
        table_name: str,
        dynamodb_client: DynamoDBClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        attempts: int = REVOKE_ATTEMPTS,
    ):
        self._table = table_name
        self._ddb = dynamodb_client
        self._clock = clock
        self._attempts = max(1, attempts)

    def issue(self, tenant_id: str, user_id: str, name: str) -> bool:
        """Give `tenant_id`'s user `user_id` the badge `name`; True when newly issued, False when they held it
        already (then nothing is written). One conditional write; UserNotFound for a missing user and for
        another tenant's alike."""
        check_name(name)
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=to_item(keys.profile_key(user_id)),
                UpdateExpression="SET badges = list_append(if_not_exists(badges, :none), :badge), updatedAt = :now",
                ConditionExpression="tenantId = :tenant AND NOT contains(badges, :name)",
                ExpressionAttributeValues=to_item(
                    {":none": [], ":badge": [name], ":name": name, ":tenant": tenant_id, ":now": iso(self._clock())}
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException as error:
            old = cast(dict[str, Any], error.response).get("Item")  # ALL_OLD: absent when there is no item
            if not old or from_item(old).get("tenantId") != tenant_id:
                raise UserNotFound(user_id) from None
            return False  # the tenant's user, who holds the badge already
        return True

    def revoke(self, tenant_id: str, user_id: str, name: str) -> bool:
        """Take the badge `name` from `tenant_id`'s user `user_id`; True when they held it, False when not (then
        nothing is written). Removes the entries it read, each conditioned on still being `name`, and reads
        again when the list changed meanwhile; Conflict when it kept changing."""
        check_name(name)
        for _ in range(self._attempts):
            profile = get_plain(self._ddb, self._table, keys.profile_key(user_id))
            if profile is None or profile.get("tenantId") != tenant_id:
                raise UserNotFound(user_id)
            held = [i for i, badge in enumerate(profile.get("badges") or []) if badge == name]
            if not held:
                return False
            try:
                self._ddb.update_item(
                    TableName=self._table,
                    Key=to_item(keys.profile_key(user_id)),
                    UpdateExpression=f"REMOVE {', '.join(f'badges[{i}]' for i in held)} SET updatedAt = :now",
                    ConditionExpression=" AND ".join(["tenantId = :tenant", *(f"badges[{i}] = :name" for i in held)]),
                    ExpressionAttributeValues=to_item({":name": name, ":tenant": tenant_id, ":now": iso(self._clock())}),
                )
            except self._ddb.exceptions.ConditionalCheckFailedException:
                continue  # the list (or the user) changed since the read: read again
            return True
        raise Conflict(f"the badges of {user_id} kept changing")
