"""S3 POST object uploads (browser uploads through a presigned POST) are held to their POST policy, as S3 holds them.

A presigned POST (boto3 `generate_presigned_post`) gives a browser the fields of a form: the object's key, a POST
policy (base64 JSON: an expiration and conditions on the form's fields and on the file's size) and a signature over
that policy. S3 refuses an upload that breaks the policy or whose signature does not match; moto 5.2.5 stores every
upload, whatever its policy says (measured: docs/moto-offline-findings.md). `check_upload` decides as S3 does;
`patch_moto` puts it in front of moto's POST object handler while a LocalRuntime is bound (registered in
tenantry_local.moto_patches).

S3's answers follow AWS's POST pages and what S3 was recorded answering (LocalStack's AWS-validated POST snapshots,
ceph s3-tests, captures in issue trackers). The few texts no recording shows are marked "unrecorded".

Signatures: the local runtime accepts any credentials, so a signature is checked only where the secret is
knowable: an access key moto issued (IAM CreateAccessKey, STS), or one of the runtime's own keys. An upload signed
with any other key has its policy enforced but its signature unchecked (S3 would answer InvalidAccessKeyId).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any
from xml.sax.saxutils import escape

from tenantry_local import binding
from tenantry_local.api_calls import INTERNAL_ACCESS_KEY

# The runtime's own clients (LocalRuntime.client), its function workers (lambdas.worker_base_env), its rule delivery
# and the README's AWS CLI session sign as "local" (or the internal key) with the secret "local".
RUNTIME_SECRET_ACCESS_KEY = "local"
RUNTIME_ACCESS_KEYS = frozenset({"local", INTERNAL_ACCESS_KEY})

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
# The fields each signature version needs, in the order S3 names the first one missing (LocalStack's recordings:
# a missing signature is named first, a missing algorithm before the credential).
_SIGV4_FIELDS = ("x-amz-signature", "x-amz-algorithm", "x-amz-credential", "x-amz-date")
_SIGV2_FIELDS = ("signature", "awsaccesskeyid")
_FIELD_NAMES_IN_ERRORS = {
    "x-amz-signature": "X-Amz-Signature",
    "x-amz-algorithm": "X-Amz-Algorithm",
    "x-amz-credential": "X-Amz-Credential",
    "x-amz-date": "X-Amz-Date",
    "signature": "Signature",
    "awsaccesskeyid": "AWSAccessKeyId",
}
# "Each form field that you specify in a form (except x-amz-signature, file, policy, and field names that have an
# x-ignore- prefix) must appear in the list of conditions" (SigV2: AWSAccessKeyId and signature instead).
_NEVER_IN_CONDITIONS_V4 = frozenset({"policy", "file", "x-amz-signature"})
_NEVER_IN_CONDITIONS_V2 = frozenset({"policy", "file", "signature", "awsaccesskeyid"})
_IGNORED_FIELD_PREFIX = "x-ignore-"

_EXPIRATION = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


class S3Refusal(Exception):
    """S3's answer instead of storing the object: an XML <Error> (Code, Message, then `details` in S3's order)."""

    def __init__(self, status: int, code: str, message: str, **details: str | int) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """The answer as moto's handlers return one: (status, headers, body)."""
        request_id = secrets.token_hex(8).upper()
        host_id = base64.b64encode(secrets.token_bytes(48)).decode()
        elements = [
            ("Code", self.code),
            ("Message", self.message),
            *self.details.items(),
            ("RequestId", request_id),
            ("HostId", host_id),
        ]
        body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
        body += "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in elements) + "</Error>"
        headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id, "x-amz-id-2": host_id}
        return self.status, headers, body.encode()


def _access_denied(message: str = "Access Denied") -> S3Refusal:
    return S3Refusal(403, "AccessDenied", message)


def _against_policy(reason: str) -> S3Refusal:
    return _access_denied(f"Invalid according to Policy: {reason}")


def _invalid_policy(reason: str) -> S3Refusal:
    return S3Refusal(400, "InvalidPolicyDocument", f"Invalid Policy: {reason}")


def _invalid_argument(message: str, name: str, value: str) -> S3Refusal:
    return S3Refusal(400, "InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


def _missing_field(name: str) -> S3Refusal:
    # Two spaces after the first full stop, as S3 writes it.
    message = f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields."
    return _invalid_argument(message, name, "")


def not_multipart() -> S3Refusal:
    """A bucket POST whose body is not multipart/form-data (recorded: 412 with a Condition element)."""
    return S3Refusal(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        Condition="Bucket POST must be of the enclosure-type multipart/form-data",
    )


# ---------------------------------------------------------------------------------------------------
# The request, as S3 reads it.
@dataclass(frozen=True)
class PostUpload:
    """A POST object request: the bucket its URL names, its form fields in order (names as sent, `${filename}`
    expanded, the file part left out), how many parts are the file, and the file's length in bytes."""

    bucket: str
    fields: Sequence[tuple[str, str]]
    files: int
    size: int

    def field(self, name: str) -> str | None:
        """A field's value; names are case-insensitive, and repeated fields are joined with commas, as S3 does."""
        values = [value for field, value in self.fields if field.lower() == name]
        return ",".join(values) if values else None


def expand_filename(value: str, filename: str | None) -> str:
    """`${filename}` is the name of the file the browser sent, without its path; kept as written when the file
    part had no filename parameter (recorded: S3 then stores the key literally)."""
    if filename is None:
        return value
    return value.replace("${filename}", re.split(r"[/\\]", filename)[-1])


# ---------------------------------------------------------------------------------------------------
# The signature over the policy.
@dataclass(frozen=True)
class _Signature:
    access_key: str
    provided: str
    compute: Callable[[str, str], str]  # (secret, policy as sent) -> the signature S3 expects
    never_in_conditions: frozenset[str]

    def verify(self, policy_text: str, secret: str | None) -> None:
        if secret is None:  # a key whose secret the runtime cannot know: unchecked (module docstring)
            return
        if not hmac.compare_digest(self.compute(secret, policy_text).encode(), self.provided.encode()):
            raise S3Refusal(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
                AWSAccessKeyId=self.access_key,
                StringToSign=policy_text,
                SignatureProvided=self.provided,
                StringToSignBytes=" ".join(f"{byte:02x}" for byte in policy_text.encode()),
            )


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def sigv4_post_signature(secret: str, date: str, region: str, service: str, policy_text: str) -> str:
    """SigV4 for a POST: the hex HMAC-SHA256 of the base64 policy text, keyed with the signing key of the credential
    scope (date yyyymmdd, region, service)."""
    key = _hmac_sha256(f"AWS4{secret}".encode(), date)
    for scope_part in (region, service, "aws4_request"):
        key = _hmac_sha256(key, scope_part)
    return hmac.new(key, policy_text.encode(), hashlib.sha256).hexdigest()


def sigv2_post_signature(secret: str, policy_text: str) -> str:
    """SigV2 for a POST (boto3's default for presigned POSTs): base64 HMAC-SHA1 of the base64 policy text."""
    return base64.b64encode(hmac.new(secret.encode(), policy_text.encode(), hashlib.sha1).digest()).decode()


def _signature_of(upload: PostUpload) -> _Signature | None:
    """The upload's signature fields, or None without any. A partial set is refused, naming the first field missing."""
    for names in (_SIGV4_FIELDS, _SIGV2_FIELDS):
        if any(upload.field(name) is not None for name in names):
            missing = next((name for name in names if upload.field(name) is None), None)
            if missing is not None:
                raise _missing_field(_FIELD_NAMES_IN_ERRORS[missing])
            return _sigv4(upload) if names is _SIGV4_FIELDS else _sigv2(upload)
    return None


def _sigv4(upload: PostUpload) -> _Signature:
    algorithm, credential, date = (upload.field(name) or "" for name in _SIGV4_FIELDS[1:])
    if algorithm != SIGV4_ALGORITHM:  # unrecorded for a POST; this is S3's text for a presigned URL
        raise _invalid_argument(f'X-Amz-Algorithm only supports "{SIGV4_ALGORITHM}"', "X-Amz-Algorithm", algorithm)
    scope = credential.split("/")
    if len(scope) == 5 and not scope[0]:
        raise _invalid_argument(
            "a non-empty Access Key (AKID) must be provided in the credential.", "X-Amz-Credential", credential
        )
    if len(scope) != 5 or not re.fullmatch(r"\d{8}", scope[1]) or scope[3] != "s3" or scope[4] != "aws4_request":
        raise _invalid_argument(  # unrecorded for a POST; S3's text for a presigned URL, without its prefix
            'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
            "X-Amz-Credential",
            credential,
        )
    if not _AMZ_DATE.fullmatch(date):
        raise _invalid_argument("X-Amz-Date must be formated via ISO8601 Long format", "X-Amz-Date", date)  # sic
    access_key, scope_date, region, service, _ = scope
    return _Signature(
        access_key=access_key,
        provided=upload.field("x-amz-signature") or "",
        compute=lambda secret, policy: sigv4_post_signature(secret, scope_date, region, service, policy),
        never_in_conditions=_NEVER_IN_CONDITIONS_V4,
    )


def _sigv2(upload: PostUpload) -> _Signature:
    return _Signature(
        access_key=upload.field("awsaccesskeyid") or "",
        provided=upload.field("signature") or "",
        compute=sigv2_post_signature,
        never_in_conditions=_NEVER_IN_CONDITIONS_V2,
    )


# ---------------------------------------------------------------------------------------------------
# The policy document.
@dataclass(frozen=True)
class _Condition:
    operation: str  # "eq", "starts-with" or "content-length-range"
    shown: list[Any]  # the condition as S3 prints it when it fails (a simple condition as an "eq")
    field: str = ""  # the field it tests, lowercased without its "$"; "" when the "$" is missing (then it fails)
    value: str = ""
    low: int | None = None  # content-length-range; None for bounds that are not numbers (then it fails)
    high: int | None = None

    def check(self, upload: PostUpload) -> None:
        if self.operation == "content-length-range":
            self._check_size(upload.size)
            return
        actual = upload.bucket if self.field == "bucket" else upload.field(self.field) if self.field else None
        if actual is None or not self._matches(actual):  # a condition on an absent field fails (recorded)
            raise _against_policy(f"Policy Condition failed: {json.dumps(self.shown, ensure_ascii=False)}")

    def _matches(self, actual: str) -> bool:
        if self.operation == "eq":
            return actual == self.value
        if self.field == "content-type":  # a comma-separated list of types: each must match
            return all(part.strip().startswith(self.value) for part in actual.split(","))
        return actual.startswith(self.value)

    def _check_size(self, size: int) -> None:
        if self.low is None or self.high is None:
            raise _against_policy(f"Policy Condition failed: {json.dumps(self.shown, ensure_ascii=False)}")
        if size < self.low:
            raise S3Refusal(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                ProposedSize=size,
                MinSizeAllowed=self.low,
            )
        if size > self.high:
            raise S3Refusal(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                ProposedSize=size,
                MaxSizeAllowed=self.high,
            )


def _field_name(name: str) -> str:
    return name[1:].lower() if name.startswith("$") else ""


def _size_bound(bound: Any) -> int | None:
    if isinstance(bound, float):  # recorded: a float bound is "Invalid JSON."
        raise _invalid_policy("Invalid JSON.")
    if isinstance(bound, int) and not isinstance(bound, bool):
        return bound
    if isinstance(bound, str) and bound.isdigit():  # recorded: ["content-length-range", "5", "10"] works
        return int(bound)
    return None


def _condition(raw: Any) -> _Condition:
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise _invalid_policy("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
        ((name, value),) = raw.items()
        if not isinstance(value, str):
            raise _invalid_policy("Invalid Simple-Condition: value must be a string.")
        return _Condition("eq", ["eq", f"${name}", value], field=name.lower(), value=value)
    if not isinstance(raw, list):  # unrecorded text
        raise _invalid_policy("Invalid condition test: must be a List or Object.")
    if not raw:  # recorded text, for a policy not shown
        raise _invalid_policy("Invalid Condition: missing operation identifier.")
    operation = raw[0].lower() if isinstance(raw[0], str) else ""
    if operation not in ("eq", "starts-with", "content-length-range"):  # unrecorded text
        raise _invalid_policy(f"Invalid Condition: unknown operation '{raw[0]}'.")
    if len(raw) != 3:  # unrecorded text
        raise _invalid_policy(f"Invalid {raw[0]}: wrong number of arguments.")
    if operation == "content-length-range":
        return _Condition(operation, raw, low=_size_bound(raw[1]), high=_size_bound(raw[2]))
    name, value = raw[1], raw[2]
    if not isinstance(name, str) or not isinstance(value, str):  # unrecorded
        raise _invalid_policy("Invalid JSON.")
    return _Condition(operation, raw, field=_field_name(name), value=value)


@dataclass(frozen=True)
class PostPolicy:
    expiration: datetime
    conditions: Sequence[_Condition]

    @property
    def fields_named(self) -> frozenset[str]:
        """The fields some condition names: every other field the form sends is an extra input field."""
        return frozenset(c.field for c in self.conditions if c.field)

    @classmethod
    def parse(cls, policy_text: str) -> PostPolicy:
        try:
            document = json.loads(base64.b64decode(policy_text, validate=True).decode())
        except binascii.Error as undecodable:  # unrecorded text
            raise _invalid_policy("invalid Base64 encoding.") from undecodable
        except ValueError as not_json:  # also a UnicodeDecodeError
            raise _invalid_policy("Invalid JSON.") from not_json
        if not isinstance(document, dict):
            raise _invalid_policy("Invalid JSON.")
        for member in document:
            if member not in ("expiration", "conditions"):  # recorded: "Unexpected: 'statement'", lowercased
                raise _invalid_policy(f"Unexpected: '{member.lower()}'")
        # The two texts for a missing member are unrecorded (S3 answers 400: ceph s3-tests).
        if "expiration" not in document:
            raise _invalid_policy("Policy missing expiration.")
        if "conditions" not in document:
            raise _invalid_policy("Policy missing conditions.")
        if not isinstance(document["conditions"], list):
            raise _invalid_policy("Invalid 'conditions' value: must be a List.")
        return cls(_expiration(document["expiration"]), [_condition(c) for c in document["conditions"]])


def _expiration(value: Any) -> datetime:
    """ISO 8601 in UTC with a Z, with or without fractional seconds: S3 refuses an offset or a space for the T."""
    if isinstance(value, str) and _EXPIRATION.fullmatch(value):
        try:
            return datetime.fromisoformat(value.removesuffix("Z")).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise _invalid_policy(f"Invalid 'expiration' value: '{value}'")


# ---------------------------------------------------------------------------------------------------
# The decision.
def check_upload(
    upload: PostUpload,
    *,
    now: datetime,
    secret_of: Callable[[str], str | None],
    anonymous_writes_allowed: Callable[[], bool],
) -> None:
    """Raise the S3Refusal S3 answers `upload` with, or return when S3 would store it. The checks run in the order
    S3's answers show: the key and the file, the signature fields, the signature (over the policy as sent, before
    it is decoded), the policy document, its expiration, its conditions in order, then fields no condition names."""
    if upload.field("key") is None:
        raise _missing_field("key")
    if upload.files != 1:
        raise _invalid_argument("POST requires exactly one file upload per request.", "file", str(upload.files))
    signature = _signature_of(upload)
    policy_text = upload.field("policy")
    if signature is None or policy_text is None:
        # No policy or no signature: an anonymous upload, which only a bucket writable by everyone accepts.
        if anonymous_writes_allowed():
            return
        raise _access_denied()
    signature.verify(policy_text, secret_of(signature.access_key))
    policy = PostPolicy.parse(policy_text)
    if now > policy.expiration:
        raise _against_policy("Policy expired.")
    for condition in policy.conditions:
        condition.check(upload)
    extra = [
        name
        for name, _ in upload.fields
        if name.lower() not in policy.fields_named
        and name.lower() not in signature.never_in_conditions
        and not name.lower().startswith(_IGNORED_FIELD_PREFIX)
    ]
    if extra:
        raise _against_policy(f"Extra input fields: {', '.join(extra)}")


def secret_access_key(access_key: str) -> str | None:
    """The secret of an access key, where the runtime can know it: its own keys, or a key moto issued (IAM user
    keys and STS session keys, in any account). None for any other key."""
    if access_key in RUNTIME_ACCESS_KEYS:
        return RUNTIME_SECRET_ACCESS_KEY
    from moto.iam.models import iam_backends
    from moto.utilities.utils import PARTITION_NAMES

    for _, account in list(iam_backends.items()):  # a copy: another request may add an account meanwhile
        for partition in PARTITION_NAMES:
            issued = account[partition].access_keys.get(access_key)
            if issued is not None:
                return str(issued.secret_access_key)
    return None


def anonymous_writes_allowed(bucket: Any) -> bool:
    """Whether a moto bucket lets anyone write: an ACL grant of WRITE (or FULL_CONTROL) to AllUsers, or a bucket
    policy statement allowing s3:PutObject to the principal "*". Resources and conditions of the statement are not
    evaluated: a statement for part of the bucket opens all of it here."""
    for grant in bucket.acl.grants if bucket.acl else []:
        if any(grantee.uri == _ALL_USERS for grantee in grant.grantees) and {"WRITE", "FULL_CONTROL"} & set(grant.permissions):
            return True
    if not bucket.policy:
        return False
    statements = json.loads(bucket.policy).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal")
        everyone = principal == "*" or (isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"]))
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("Effect") == "Allow" and everyone and any(fnmatchcase("s3:putobject", a.lower()) for a in actions):
            return True
    return False


# ---------------------------------------------------------------------------------------------------
# The hook in moto (a (patch, check) pair of tenantry_local.moto_patches.PATCHES).
def _upload_in(response: Any, request: Any, bucket_name: str) -> PostUpload:
    """The upload as moto's S3Response has parsed it."""
    file_parts = [part for name, part in request.files.items(multi=True) if name.lower() == "file"]
    file_fields = [value for name, value in request.form.items(multi=True) if name.lower() == "file"]
    filename = file_parts[0].filename if file_parts else None
    fields = [
        (name, expand_filename(value, filename)) for name, value in request.form.items(multi=True) if name.lower() != "file"
    ]
    # A part with a filename but another name is a field to S3 (moto has already read and closed its stream).
    fields += [(name, "") for name in request.files if name.lower() != "file"]
    body = response.body  # the content moto is about to store
    size = len(body) if isinstance(body, bytes) else len(str(body).encode())
    return PostUpload(bucket_name, fields, len(file_parts) + len(file_fields), size)


def patch_moto() -> None:
    """S3Response._bucket_response_post (POST to a bucket, path or virtual-host style) checks a POST object upload
    before moto stores it. Other bucket POSTs (DeleteObjects, ?delete), a missing bucket or Content-Length, and an
    unbound runtime keep moto's behaviour."""
    from moto.s3.exceptions import MissingBucket
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post

    def _bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        # POST object has no query string; a POST without Content-Length gets moto's 411.
        if binding.current() is None or request.args or not request.headers.get("Content-Length"):
            return original(self, request, bucket_name)
        try:
            bucket = self.backend.get_bucket(bucket_name)
        except MissingBucket:
            return original(self, request, bucket_name)  # moto answers NoSuchBucket, as S3 does
        if request.mimetype != "multipart/form-data":
            return not_multipart().response()
        upload = _upload_in(self, request, bucket_name)
        try:
            check_upload(
                upload,
                now=datetime.now(UTC),
                secret_of=secret_access_key,
                anonymous_writes_allowed=lambda: anonymous_writes_allowed(bucket),
            )
        except S3Refusal as refusal:
            return refusal.response()
        # Store under the key the policy was checked against (moto expands ${filename} by its own rule).
        self.querystring["key"] = [upload.field("key")]
        return original(self, request, bucket_name)

    _bucket_response_post._tenantry = True  # type: ignore[attr-defined]
    S3Response._bucket_response_post = _bucket_response_post  # type: ignore[method-assign]


def moto_is_patched() -> bool:
    from moto.s3.responses import S3Response

    return getattr(S3Response._bucket_response_post, "_tenantry", False)
