"""A user's data blob: the `data` attribute of their profile, a JSON object of the user's own (or their
tenant's) choosing, behind `PATCH /me/data`, `PUT /users/{id}/data` and `PATCH /users/{id}/data`.

A PATCH is an RFC 7396 JSON Merge Patch, a PUT replaces the whole blob. Every resulting blob is checked
(`check_data`): a JSON object, at most MAX_DEPTH levels of nesting, at most MAX_DATA_BYTES of compact UTF-8
JSON, and only values DynamoDB stores as given (finite numbers of at most 38 digits, non-empty member names).

The blob has a version, the profile's `dataVersion` (absent: 0), raised by one on every write; its ETag is
`"v<version>"`. A write names the version it expects (If-Match) or none; a PATCH without If-Match still
loses no concurrent update: it reads, merges and writes conditioned on the version it read, and merges
again onto the newer blob when that condition fails. A user of another tenant is not found, exactly as a
user that does not exist.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, DecimalException
from typing import TYPE_CHECKING, Any, cast

from tenantry import keys
from tenantry.adapters.dynamodb import from_item, get_plain, to_item
from tenantry.clock import iso

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_DEPTH = 8  # levels of objects and arrays, the data object itself being the first
MAX_DATA_BYTES = 16 * 1024  # of the blob as compact JSON in UTF-8
WRITE_ATTEMPTS = 3  # read-merge-write rounds of a PATCH without If-Match before it gives up
BODY = "body"  # the field an error names when the blob as a whole is at fault
IF_MATCH = "If-Match"

_ETAG = re.compile(r'"v(0|[1-9][0-9]{0,17})"')


class InvalidData(ValueError):
    """The request cannot be applied as sent (the API answers 400); `field` is the dotted path of the member
    at fault (`body` for the whole blob) or the header (`If-Match`)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class DataTooLarge(ValueError):
    """The resulting blob is longer than MAX_DATA_BYTES (the API answers 413)."""

    def __init__(self, size: int, limit: int = MAX_DATA_BYTES):
        super().__init__(f"the data would be {size} bytes as compact JSON; at most {limit} are kept")
        self.size, self.limit, self.field = size, limit, BODY


class UserNotFound(LookupError):
    """No such user in the caller's tenant: a missing user and another tenant's user alike."""


class VersionMismatch(Exception):
    """The data is no longer at the version the write expected (the API answers 412); nothing was written."""

    def __init__(self, current_version: int):
        super().__init__(f"the data is at version {current_version}")
        self.current_version = current_version

    @property
    def etag(self) -> str:
        return etag_of(self.current_version)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 MergePatch(target, patch): a null member removes, an object merges member by member, anything
    else replaces. Neither argument is modified (the result may share the patch's values)."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


def check_data(data: Any) -> dict[str, Any]:
    """`data` if it may be stored as a user's blob; else InvalidData naming the first member at fault, or
    DataTooLarge."""
    if not isinstance(data, dict):
        raise InvalidData(BODY, "the data must be a JSON object")
    _check_value(data, (), 1, values=True)
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_DATA_BYTES:
        raise DataTooLarge(size)
    return data


def check_depth(value: Any) -> None:
    """InvalidData unless `value` nests at most MAX_DEPTH levels (a merge patch, checked before it is merged:
    every level of a patch is a level of its result)."""
    _check_value(value, (), 1, values=False)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path) or BODY


def _check_value(value: Any, path: tuple[str, ...], level: int, *, values: bool) -> None:
    if isinstance(value, dict | list):
        if level > MAX_DEPTH:
            raise InvalidData(_dotted(path), f"the data may nest at most {MAX_DEPTH} levels of objects and arrays")
        members = value.items() if isinstance(value, dict) else enumerate(value)
        for name, member in members:
            if values and isinstance(value, dict):
                _check_name(name, path)
            _check_value(member, (*path, str(name)), level + 1, values=values)
    elif values:
        _check_scalar(value, path)


def _check_name(name: Any, path: tuple[str, ...]) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidData(_dotted(path), "member names must be non-empty strings (DynamoDB refuses an empty one)")
    _check_text(name, path)


def _check_text(text: str, path: tuple[str, ...]) -> None:
    try:
        text.encode()
    except UnicodeEncodeError as error:
        raise InvalidData(_dotted(path), "text must be valid Unicode (no lone surrogates)") from error


def _check_scalar(value: Any, path: tuple[str, ...]) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        _check_text(value, path)
        return
    if isinstance(value, int | float):
        _check_number(value, path)
        return
    raise InvalidData(_dotted(path), f"not a JSON value: {type(value).__name__}")


def _check_number(value: int | float, path: tuple[str, ...]) -> None:
    """A number DynamoDB stores exactly as boto3 sends it (tenantry.adapters.dynamodb sends a float as
    Decimal(str(value))): finite, at most 38 significant digits, magnitude from 1E-130 to under 1E+126."""
    from boto3.dynamodb.types import DYNAMODB_CONTEXT

    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidData(_dotted(path), "numbers must be finite (no NaN or Infinity)")
    message = "numbers are kept to at most 38 significant digits, magnitude from 1E-130 to under 1E+126"
    try:
        number = DYNAMODB_CONTEXT.create_decimal(Decimal(str(value)) if isinstance(value, float) else value)
    except DecimalException as error:  # more digits than 38, or far out of range
        raise InvalidData(_dotted(path), message) from error
    if number and not -130 <= number.adjusted() <= 125:  # boto3's context lets a little more through than DynamoDB
        raise InvalidData(_dotted(path), message)


NO_VERSION = -1  # what a weak ETag names under If-Match: no version ever is it


def etag_of(version: int) -> str:
    """The (strong) ETag of the data at `version`: `"v3"`."""
    return f'"v{version}"'


def version_of_etag(header: str) -> int | None:
    """The version an If-Match header names; None for `*` (any version). Anything but one ETag of ours, or
    `*`, is InvalidData naming If-Match (a weak ETag never matches under If-Match, RFC 9110 13.1.1)."""
    text = header.strip()
    if text == "*":
        return None
    if text.startswith("W/") and _ETAG.fullmatch(text[2:]):
        return NO_VERSION  # a weak ETag: well formed, but it never matches under If-Match (412, not 400)
    match = _ETAG.fullmatch(text)
    if match is None:
        raise InvalidData(IF_MATCH, 'If-Match must be one ETag of the data, such as "v3", or *')
    return int(match.group(1))


class ProfileDataStore:
    """The data blobs of the profiles in the Tenantry table (`USER#{user_id}` / `PROFILE`)."""

    def __init__(
        self,
        table_name: str,
        dynamodb_client: DynamoDBClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        attempts: int = WRITE_ATTEMPTS,
    ):
        self._table = table_name
        self._ddb = dynamodb_client
        self._clock = clock
        self._attempts = max(1, attempts)

    def read(self, user_id: str) -> tuple[dict[str, Any], int, str] | None:
        """(data, version, tenant id) of the user's profile, strongly consistent; None when there is none.
        The caller compares the tenant: another tenant's user is to be treated as missing."""
        profile = get_plain(self._ddb, self._table, keys.profile_key(user_id))
        if profile is None:
            return None
        data = profile.get("data")
        return (data if isinstance(data, dict) else {}), int(profile.get("dataVersion", 0)), str(profile["tenantId"])

    def write(self, user_id: str, tenant_id: str, new_data: dict[str, Any], expected_version: int | None = None) -> int:
        """Store `new_data` (checked already) as the blob of `tenant_id`'s user `user_id`, if the data is at
        `expected_version` (None: whatever its version); the new version. One conditional UpdateItem: a missing
        user and another tenant's raise UserNotFound, another version VersionMismatch; neither writes."""
        condition = "tenantId = :tenant"
        values: dict[str, Any] = {":data": new_data, ":zero": 0, ":one": 1, ":now": iso(self._clock()), ":tenant": tenant_id}
        if expected_version is not None:
            # no dataVersion yet is version 0
            at_version = "dataVersion = :expected" + (" OR attribute_not_exists(dataVersion)" if expected_version == 0 else "")
            condition += f" AND ({at_version})"
            values[":expected"] = expected_version
        try:
            answer = self._ddb.update_item(
                TableName=self._table,
                Key=to_item(keys.profile_key(user_id)),
                UpdateExpression="SET #data = :data, dataVersion = if_not_exists(dataVersion, :zero) + :one, updatedAt = :now",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#data": "data"},  # DATA is a reserved word
                ExpressionAttributeValues=to_item(values),
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException as error:
            old = _item_of(error)
            if old is None or old.get("tenantId") != tenant_id:
                raise UserNotFound(user_id) from None  # the same whether missing or another tenant's
            raise VersionMismatch(int(old.get("dataVersion", 0))) from None
        return int(from_item(answer["Attributes"])["dataVersion"])

    def apply(
        self, user_id: str, tenant_id: str, patch_or_document: Any, *, replace: bool, if_match: str | None = None
    ) -> tuple[dict[str, Any], str]:
        """A PUT (`replace`: the document becomes the blob) or a PATCH (a merge patch onto the current blob),
        under the request's If-Match header, if any; the stored blob and its ETag.

        Raises InvalidData (400), DataTooLarge (413), UserNotFound (404), VersionMismatch (412: the If-Match
        version is not the current one, or, without If-Match, the blob changed under every attempt)."""
        expected = version_of_etag(if_match) if if_match is not None else None
        if replace:
            data = check_data(patch_or_document)
            return data, etag_of(self.write(user_id, tenant_id, data, expected))
        check_depth(patch_or_document)
        for attempt in range(1, self._attempts + 1):
            current = self.read(user_id)
            if current is None or current[2] != tenant_id:
                raise UserNotFound(user_id)
            data, version, _ = current
            if expected is not None and version != expected:
                raise VersionMismatch(version)
            merged = check_data(merge_patch(data, patch_or_document))
            try:
                # conditioned on the version read, whether or not the caller named one: a write in between
                # is merged onto, never overwritten
                return merged, etag_of(self.write(user_id, tenant_id, merged, version))
            except VersionMismatch:
                if expected is not None or attempt == self._attempts:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")


def _item_of(error: ClientError) -> dict[str, Any] | None:
    """The item a failed condition saw (ReturnValuesOnConditionCheckFailure=ALL_OLD), None when there was none."""
    item = cast(dict[str, Any], error.response).get("Item")
    return from_item(item) if item else None
