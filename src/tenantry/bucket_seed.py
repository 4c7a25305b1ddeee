"""Seeding a bucket with files packaged with a function: the provider of a CloudFormation custom resource

    Type: Custom::BucketSeed
    Properties: {ServiceToken: <the function>, Bucket: <bucket name>, Source: <directory in the package>, Version: ...}

Create and Update upload every file under `<package>/<Source>` to the bucket, at its path relative to Source
(`<Source>/icons/a.svg` becomes `icons/a.svg`), with its Content-Type; Update also deletes what the previous
version uploaded and this one does not; Delete deletes what was uploaded (CloudFormation can only delete an
empty bucket). A changed Version makes CloudFormation send Update when only the files changed.

What a seed uploaded is recorded in the bucket, in a manifest (`.bucket-seed/<Source>.json`), written before the
uploads so that it always names at least every key the seed may have put there. Delete removes the keys of its
manifest but not those another seed's manifest in the same bucket names: when Source changes, CloudFormation
creates the new seed first and then deletes the old one, whose keys may be the new one's too.

The PhysicalResourceId is `<Bucket>/<Source>`: another bucket or source is a replacement. CloudFormation always gets
an answer: any error becomes a FAILED response with the reason, and a request nearly out of time fails before
Lambda's timeout would leave CloudFormation waiting for an hour. Only a response that cannot be delivered at all
raises (Lambda then retries the invocation, as it retries any failed asynchronous invocation).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import urlsplit

__all__ = [
    "MANIFEST_PREFIX",
    "InvalidSeed",
    "OutOfTime",
    "ResponseNotDelivered",
    "Seed",
    "SeedObjects",
    "content_type",
    "content_version",
    "handle",
    "package_files",
    "put_response",
]

MANIFEST_PREFIX = ".bucket-seed/"
SAFETY_MILLISECONDS = 5_000  # a request with less time left than this answers FAILED instead of starting more work
DELETE_BATCH = 1_000  # DeleteObjects takes at most 1,000 keys
MAX_REASON_CHARACTERS = 1_000  # the whole response must stay under CloudFormation's 4,096 bytes
RESPONSE_ATTEMPTS = 3
RESPONSE_TIMEOUT_SECONDS = 10.0
CONTENT_TYPES = {
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}


class InvalidSeed(ValueError):
    """The resource's properties do not name a bucket and a directory of the package."""


class OutOfTime(RuntimeError):
    """The invocation is about to reach the function's timeout."""


class ResponseNotDelivered(RuntimeError):
    """The response could not be PUT to the ResponseURL."""


class SeedObjects(Protocol):
    """What the seed needs of an S3 client."""

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> Any: ...

    def get_object(self, *, Bucket: str, Key: str) -> Any: ...

    def list_objects_v2(self, *, Bucket: str, Prefix: str = ..., ContinuationToken: str = ...) -> Any: ...

    def delete_objects(self, *, Bucket: str, Delete: Any) -> Any: ...


@dataclass(frozen=True)
class Seed:
    """Where a seed puts its files: a bucket, and the package directory it copies (a relative path)."""

    bucket: str
    source: str

    @property
    def physical_id(self) -> str:
        return f"{self.bucket}/{self.source}"

    @property
    def manifest_key(self) -> str:
        return f"{MANIFEST_PREFIX}{self.source}.json"

    @classmethod
    def of(cls, properties: Any) -> Seed:
        """The seed that resource properties describe; InvalidSeed unless Bucket is a name and Source a relative
        directory path without `.` or `..` parts."""
        fields = properties if isinstance(properties, Mapping) else {}
        bucket, source = fields.get("Bucket"), fields.get("Source")
        if not isinstance(bucket, str) or not bucket or "/" in bucket:
            raise InvalidSeed("the Bucket property must be a bucket name")
        if not isinstance(source, str) or not source.strip("/"):
            raise InvalidSeed("the Source property must name a directory of the function's package")
        path = PurePosixPath(source.strip("/"))
        if source.startswith("/") or any(part in (".", "..") for part in path.parts):
            raise InvalidSeed(f"Source {source!r} must be a relative path inside the function's package")
        return cls(bucket, path.as_posix())


def content_type(key: str) -> str:
    """The Content-Type an object gets from its name's extension (application/octet-stream when unknown)."""
    suffix = PurePosixPath(key).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key, strict=True)[0] or "application/octet-stream"


def package_files(package_root: Path, source: str) -> dict[str, Path]:
    """Every file under `<package_root>/<source>`, by its key (its path relative to the source, `/`-separated),
    sorted; files and directories whose name starts with a dot are left out."""
    root = package_root.resolve()
    directory = (root / source).resolve()
    if not directory.is_relative_to(root):
        raise InvalidSeed(f"Source {source!r} leads out of the function's package")
    if not directory.is_dir():
        raise InvalidSeed(f"the function's package has no directory {source!r}")
    files: dict[str, Path] = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            if not path.resolve().is_relative_to(root):
                raise InvalidSeed(f"{source}/{relative.as_posix()} leads out of the function's package")
            files[relative.as_posix()] = path
    return files


def content_version(files: Mapping[str, Path]) -> str:
    """A digest of the keys and contents of `files` (package_files): what the template's Version can be set to,
    so that CloudFormation sends Update exactly when the files change."""
    digest = hashlib.sha256()
    for key in sorted(files):
        digest.update(key.encode() + b"\0" + hashlib.sha256(files[key].read_bytes()).digest())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- S3 work
class _Work:
    """One request's S3 calls, each checked against the time the invocation has left."""

    def __init__(self, s3: SeedObjects, remaining_ms: Callable[[], int]):
        self._s3 = s3
        self._remaining_ms = remaining_ms

    def _in_time(self) -> None:
        if self._remaining_ms() < SAFETY_MILLISECONDS:
            raise OutOfTime("the function is about to time out; increase its Timeout")

    def upload(self, seed: Seed, files: Mapping[str, Path]) -> None:
        for key, path in files.items():
            self._in_time()
            self._s3.put_object(Bucket=seed.bucket, Key=key, Body=path.read_bytes(), ContentType=content_type(key))

    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        ordered = sorted(keys)
        for start in range(0, len(ordered), DELETE_BATCH):
            self._in_time()
            batch = [{"Key": key} for key in ordered[start : start + DELETE_BATCH]]
            answer = self._s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise RuntimeError(
                    f"{len(errors)} objects not deleted from {bucket}, e.g. {first.get('Key')}: {first.get('Code')}"
                )

    def manifest(self, seed: Seed) -> set[str] | None:
        """The keys the seed's manifest names; None when it has none."""
        self._in_time()
        try:
            body = self._s3.get_object(Bucket=seed.bucket, Key=seed.manifest_key)["Body"].read()
        except Exception as error:
            if _error_code(error) in ("NoSuchKey", "404"):
                return None
            raise
        keys = json.loads(body).get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise RuntimeError(f"s3://{seed.bucket}/{seed.manifest_key} is not a seed manifest")
        return set(keys)

    def write_manifest(self, seed: Seed, keys: Iterable[str]) -> None:
        self._in_time()
        document = {"source": seed.source, "keys": sorted(keys)}
        self._s3.put_object(
            Bucket=seed.bucket, Key=seed.manifest_key, Body=json.dumps(document).encode(), ContentType="application/json"
        )

    def claimed_by_others(self, seed: Seed) -> set[str]:
        """The keys the other seeds' manifests in the seed's bucket name."""
        claimed: set[str] = set()
        token: str | None = None
        while True:
            self._in_time()
            page = self._s3.list_objects_v2(
                Bucket=seed.bucket, Prefix=MANIFEST_PREFIX, **({"ContinuationToken": token} if token else {})
            )
            for entry in page.get("Contents") or []:
                manifest_key = entry["Key"]
                if manifest_key != seed.manifest_key and manifest_key.endswith(".json"):
                    other = Seed(seed.bucket, manifest_key.removeprefix(MANIFEST_PREFIX).removesuffix(".json"))
                    claimed |= self.manifest(other) or set()
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return claimed


def _error_code(error: Exception) -> str | None:
    """The S3 error code of a botocore ClientError (duck-typed: this module does not import botocore)."""
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return str(code) if code is not None else None


def _create(work: _Work, seed: Seed, files: Mapping[str, Path]) -> None:
    work.write_manifest(seed, files)  # first: if an upload fails, a rollback's Delete still knows every key
    work.upload(seed, files)


def _update(work: _Work, old: Seed | None, seed: Seed, files: Mapping[str, Path]) -> None:
    if old != seed:  # a replacement: CloudFormation deletes the old seed (its own Delete) once the update is complete
        _create(work, seed, files)
        return
    previous = work.manifest(seed) or set()
    work.write_manifest(seed, previous | set(files))
    work.upload(seed, files)
    stale = previous - set(files)
    if stale:
        work.delete(seed.bucket, stale - work.claimed_by_others(seed))
    work.write_manifest(seed, files)


def _delete(work: _Work, seed: Seed, package_root: Path) -> None:
    try:
        keys = work.manifest(seed)
    except Exception as error:
        if _error_code(error) == "NoSuchBucket":
            return  # nothing left to delete
        raise
    if keys is None:  # no manifest (a Create that failed before writing it): the package's files, if it has them
        try:
            keys = set(package_files(package_root, seed.source))
        except InvalidSeed:
            keys = set()
    work.delete(seed.bucket, (keys - work.claimed_by_others(seed)) | {seed.manifest_key})


# ---------------------------------------------------------------------------------------------- the request
def put_response(url: str, body: bytes) -> None:
    """PUT `body` to a presigned ResponseURL, as the cfn-response module does (an empty Content-Type, which the
    URL's signature may cover); retried on network errors and 5xx."""
    if urlsplit(url).scheme not in ("https", "http"):
        raise ResponseNotDelivered(f"not an HTTP(S) ResponseURL: {url[:40]}...")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    last: Exception | None = None
    for attempt in range(RESPONSE_ATTEMPTS):
        if attempt:
            time.sleep(0.5 * 2**attempt)
        try:
            with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as answer:  # noqa: S310
                answer.read()
            return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                raise ResponseNotDelivered(f"the ResponseURL refused the response: HTTP {error.code}") from error
            last = error
        except (urllib.error.URLError, OSError) as error:
            last = error
    raise ResponseNotDelivered(f"the response could not be delivered: {last}") from last


def handle(
    event: Mapping[str, Any],
    *,
    s3: SeedObjects,
    package_root: Path,
    remaining_ms: Callable[[], int],
    log_stream: str = "",
    send: Callable[[str, bytes], None] = put_response,
) -> dict[str, Any]:
    """Carry out a CloudFormation request (Create, Update or Delete) and send its response; returns the response.

    The response is FAILED, with the error as its Reason, when anything goes wrong. This function raises only when
    no response can reach CloudFormation: `send` failed, or the event has no ResponseURL."""
    url = event.get("ResponseURL")
    if not isinstance(url, str):
        raise ValueError("not a CloudFormation custom resource request: no ResponseURL")
    request_type = event.get("RequestType")
    current_id = event.get("PhysicalResourceId")  # Update and Delete: the seed CloudFormation knows
    seed: Seed | None = None
    try:
        work = _Work(s3, remaining_ms)
        if request_type == "Delete":
            try:
                seed = Seed.of(event.get("ResourceProperties"))
            except InvalidSeed:  # a Create refused these properties: there is nothing to delete
                seed = None
            if seed is not None and current_id == seed.physical_id:  # else this seed was never made
                _delete(work, seed, package_root)
            response = _response(event, "SUCCESS", str(current_id or event.get("RequestId")))
        elif request_type in ("Create", "Update"):
            seed = Seed.of(event.get("ResourceProperties"))
            files = package_files(package_root, seed.source)
            if request_type == "Create":
                _create(work, seed, files)
            else:
                try:
                    old: Seed | None = Seed.of(event.get("OldResourceProperties"))
                except InvalidSeed:
                    old = None
                _update(work, old, seed, files)
            data = {"ObjectCount": str(len(files)), "ContentVersion": content_version(files)}
            response = _response(event, "SUCCESS", seed.physical_id, data=data)
        else:
            raise InvalidSeed(f"unknown RequestType {request_type!r}")
    except Exception as error:  # noqa: BLE001 - CloudFormation must get an answer, whatever went wrong
        reason = f"{type(error).__name__}: {error}"
        if log_stream:
            reason = f"{reason} (log stream {log_stream})"
        # A failed Create answers with the seed's id, so that the rollback's Delete removes what it uploaded.
        physical_id = current_id or (seed.physical_id if seed else None) or log_stream or str(event.get("RequestId"))
        response = _response(event, "FAILED", str(physical_id), reason=reason)
    send(url, json.dumps(response).encode())
    return response


def _response(
    event: Mapping[str, Any], status: str, physical_id: str, *, reason: str = "", data: dict[str, str] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "Status": status,
        "PhysicalResourceId": physical_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": False,
        "Data": data or {},
    }
    if reason:
        cut = reason if len(reason) <= MAX_REASON_CHARACTERS else reason[: MAX_REASON_CHARACTERS - 3] + "..."
        response["Reason"] = cut
    return response
