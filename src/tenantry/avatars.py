"""Avatars: uploaded by the user's browser straight to S3 with a presigned POST, read through short-lived
presigned GET URLs (no CloudFront: the bucket blocks every public access, and a URL the API signs for each
profile read is all a product needs to show a picture; a CDN can be put in front later without changing the
API's answer, which is only a URL).

The POST policy is S3's to enforce, not ours: the key is fixed by the API (`avatars/<tenant>/<user>/<id>.<ext>`,
never chosen by the caller), the Content-Type is the one the caller declared (PNG, JPEG or WebP only: never
SVG, which a browser would run as a document), the size 1 byte to 1 MiB, the form good for 5 minutes. Once S3
has the object, its ObjectCreated notification reaches `record_upload`, which points the profile's `avatarKey`
at it: the profile names an avatar only once it exists.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tenantry import keys
from tenantry.adapters.dynamodb import to_item
from tenantry.clock import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

CONTENT_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
MAX_BYTES = 1024 * 1024
UPLOAD_SECONDS = 300
READ_SECONDS = 900
PREFIX = "avatars/"
_KEY = re.compile(r"avatars/(?P<tenant>[A-Za-z0-9._:-]{1,128})/(?P<user>[A-Za-z0-9-]{1,128})/[0-9a-f]{32}\.(png|jpg|webp)")


@dataclass(frozen=True)
class UploadForm:
    url: str
    fields: dict[str, str]
    key: str
    expires_in: int
    max_bytes: int


def avatar_key(tenant_id: str, user_id: str, content_type: str) -> str:
    return f"{PREFIX}{tenant_id}/{user_id}/{uuid.uuid4().hex}.{CONTENT_TYPES[content_type]}"


def owner_of(key: str) -> tuple[str, str] | None:
    """(tenant id, user id) of an avatar key the API made; None for any other key."""
    matched = _KEY.fullmatch(key)
    return (matched["tenant"], matched["user"]) if matched else None


class Avatars:
    def __init__(self, bucket: str, s3_client: S3Client):
        self._bucket = bucket
        self._s3 = s3_client

    def upload_form(self, tenant_id: str, user_id: str, content_type: str) -> UploadForm:
        """A presigned POST for one new avatar of this user (signing is local: no AWS call)."""
        key = avatar_key(tenant_id, user_id, content_type)
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, MAX_BYTES]],
            ExpiresIn=UPLOAD_SECONDS,
        )
        return UploadForm(post["url"], {k: str(v) for k, v in post["fields"].items()}, key, UPLOAD_SECONDS, MAX_BYTES)

    def read_url(self, key: str) -> str:
        """A short-lived URL to read the avatar (signing is local: no AWS call)."""
        return self._s3.generate_presigned_url("get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=READ_SECONDS)


def record_upload(table_name: str, dynamodb_client: DynamoDBClient, key: str, now: datetime | None = None) -> bool:
    """S3 has a new avatar: point its user's profile at it (only a profile of the tenant the key names).
    False for a key the API did not make or a profile that is gone."""
    owner = owner_of(key)
    if owner is None:
        return False
    tenant_id, user_id = owner
    moment = iso(now or datetime.now(UTC))
    try:
        dynamodb_client.update_item(
            TableName=table_name,
            Key=to_item(keys.profile_key(user_id)),
            UpdateExpression="SET avatarKey = :key, updatedAt = :now",
            ConditionExpression="tenantId = :tenant",
            ExpressionAttributeValues=to_item({":key": key, ":now": moment, ":tenant": tenant_id}),
        )
    except dynamodb_client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def uploaded_keys(event: dict[str, Any]) -> list[str]:
    """The object keys of an S3 notification's ObjectCreated records (URL-decoded, as S3 encodes them)."""
    from urllib.parse import unquote_plus

    return [
        unquote_plus(record["s3"]["object"]["key"])
        for record in event.get("Records", [])
        if str(record.get("eventName", "")).startswith("ObjectCreated:")
    ]
