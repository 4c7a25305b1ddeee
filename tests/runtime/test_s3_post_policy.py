"""Browser uploads through an S3 presigned POST, on the local runtime: S3 refuses an upload that breaks the POST
policy or its signature, and so does the runtime (tenantry_local.s3_post_policy); moto alone stores every one.

Each upload is a real multipart/form-data POST to the bucket's URL, with the fields boto3's
`generate_presigned_post` returns, the file last, as a browser sends it. Each test uses a bucket of its own, so
"nothing was stored" is an empty bucket.
"""

from __future__ import annotations

import base64
import json
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from tenantry_local.s3_post_policy import sigv4_post_signature
from tenantry_local.template import REGION

MAX_SIZE = 1024 * 1024  # the size limit of the policy under test
PNG = b"\x89PNG\r\n\x1a\n" + bytes(120)
# What an image upload form allows: an image type, at least one byte and at most MAX_SIZE.
IMAGE_CONDITIONS: list[Any] = [["starts-with", "$Content-Type", "image/"], ["content-length-range", 1, MAX_SIZE]]
# boto3 signs a presigned POST with SigV2 unless told otherwise; S3 accepts both.
SIGNATURE_VERSIONS = {"sigv2": None, "sigv4": "s3v4"}


def s3_client(runtime: Any, signature: str = "sigv4", key_id: str = "local", secret: str = "local") -> Any:
    return boto3.client(
        "s3",
        endpoint_url=runtime.endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(signature_version=SIGNATURE_VERSIONS[signature]),
    )


@pytest.fixture
def bucket(runtime) -> str:
    name = f"post-policy-{uuid.uuid4().hex[:12]}"
    runtime.client("s3").create_bucket(Bucket=name)
    return name


def presigned_post(
    client: Any,
    bucket: str,
    key: str,
    conditions: list[Any] | None = None,
    fields: dict[str, str] | None = None,
    expires_in: int = 300,
) -> dict[str, Any]:
    return client.generate_presigned_post(
        bucket,
        key,
        Fields={"Content-Type": "image/png", **(fields or {})},
        Conditions=IMAGE_CONDITIONS if conditions is None else conditions,
        ExpiresIn=expires_in,
    )


def upload(post: dict[str, Any], content: bytes = PNG, **changed_fields: str | None) -> requests.Response:
    """POST the form a browser builds from `post`: its fields (changed, or dropped when None), then the file."""
    fields = {name: value for name, value in {**post["fields"], **changed_fields}.items() if value is not None}
    return requests.post(post["url"], data=fields, files={"file": ("avatar.png", content, "image/png")}, timeout=10)


def error_of(response: requests.Response) -> dict[str, str]:
    assert response.headers["Content-Type"] == "application/xml", response.text
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    return {element.tag: element.text or "" for element in root}


def stored(runtime, bucket: str) -> list[str]:
    return [entry["Key"] for entry in runtime.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


def tampered(policy: str) -> str:
    """The base64 policy with its content-length-range widened tenfold: what a client would send to upload more."""
    document = json.loads(base64.b64decode(policy))
    document["conditions"] = [
        ["content-length-range", 1, 10 * MAX_SIZE] if isinstance(c, list) and c[0] == "content-length-range" else c
        for c in document["conditions"]
    ]
    return base64.b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize("signature", SIGNATURE_VERSIONS)
def test_an_upload_that_keeps_the_policy_is_stored(runtime, bucket, signature):
    post = presigned_post(s3_client(runtime, signature), bucket, "uploads/a.png")
    response = upload(post)
    assert response.status_code == 204, response.text
    stored_object = runtime.client("s3").get_object(Bucket=bucket, Key="uploads/a.png")
    assert stored_object["Body"].read() == PNG
    assert stored_object["ContentType"] == "image/png"


def test_success_action_status_sets_the_status_of_a_stored_upload(runtime, bucket):
    post = presigned_post(
        s3_client(runtime),
        bucket,
        "uploads/a.png",
        conditions=[*IMAGE_CONDITIONS, {"success_action_status": "201"}],
        fields={"success_action_status": "201"},
    )
    assert upload(post).status_code == 201
    assert stored(runtime, bucket) == ["uploads/a.png"]


@pytest.mark.parametrize(
    ("condition", "printed"),
    [
        (["starts-with", "$Content-Type", "image/"], '["starts-with", "$Content-Type", "image/"]'),
        (["eq", "$Content-Type", "image/png"], '["eq", "$Content-Type", "image/png"]'),
        ({"Content-Type": "image/png"}, '["eq", "$Content-Type", "image/png"]'),  # S3 prints a simple condition as an eq
    ],
    ids=["starts-with", "eq", "simple-condition"],
)
def test_a_content_type_the_policy_does_not_allow_is_refused(runtime, bucket, condition, printed):
    post = presigned_post(
        s3_client(runtime), bucket, "uploads/a.png", conditions=[condition, ["content-length-range", 1, MAX_SIZE]]
    )
    response = upload(post, **{"Content-Type": "text/html"})
    assert response.status_code == 403
    assert error_of(response)["Code"] == "AccessDenied"
    assert error_of(response)["Message"] == f"Invalid according to Policy: Policy Condition failed: {printed}"
    assert stored(runtime, bucket) == []


@pytest.mark.parametrize(
    ("size", "code", "message", "limit"),
    [
        (MAX_SIZE + 1, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", {"MaxSizeAllowed": MAX_SIZE}),
        (0, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", {"MinSizeAllowed": 1}),
    ],
    ids=["too-large", "empty"],
)
def test_a_file_outside_the_content_length_range_is_refused(runtime, bucket, size, code, message, limit):
    post = presigned_post(s3_client(runtime), bucket, "uploads/a.png")
    response = upload(post, content=PNG[:size] + bytes(max(0, size - len(PNG))))
    assert response.status_code == 400
    error = error_of(response)
    assert (error["Code"], error["Message"], error["ProposedSize"]) == (code, message, str(size))
    assert all(error[name] == str(value) for name, value in limit.items())
    assert stored(runtime, bucket) == []


def test_a_key_other_than_the_signed_one_is_refused(runtime, bucket):
    post = presigned_post(s3_client(runtime), bucket, "uploads/a.png")
    response = upload(post, key="uploads/someone-else.png")
    assert response.status_code == 403
    assert (
        error_of(response)["Message"] == 'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "uploads/a.png"]'
    )
    assert stored(runtime, bucket) == []


def test_an_expired_policy_is_refused(runtime, bucket):
    post = presigned_post(s3_client(runtime), bucket, "uploads/a.png", expires_in=-60)
    response = upload(post)
    assert response.status_code == 403
    assert error_of(response) | {"RequestId": "", "HostId": ""} == {
        "Code": "AccessDenied",
        "Message": "Invalid according to Policy: Policy expired.",
        "RequestId": "",
        "HostId": "",
    }
    assert stored(runtime, bucket) == []


@pytest.mark.parametrize("signature", SIGNATURE_VERSIONS)
def test_a_tampered_policy_fails_its_signature(runtime, bucket, signature):
    post = presigned_post(s3_client(runtime, signature), bucket, "uploads/a.png")
    widened = tampered(post["fields"]["policy"])
    signature_field = "x-amz-signature" if signature == "sigv4" else "signature"
    # A file the tampered policy allows and the signed one does not
    response = upload(post, content=PNG + bytes(MAX_SIZE), policy=widened)
    assert response.status_code == 403
    error = error_of(response)
    assert error["Code"] == "SignatureDoesNotMatch"
    assert error["Message"].startswith("The request signature we calculated does not match the signature you provided.")
    assert (error["AWSAccessKeyId"], error["StringToSign"]) == ("local", widened)
    assert error["SignatureProvided"] == post["fields"][signature_field]
    assert bytes.fromhex(error["StringToSignBytes"].replace(" ", "")) == widened.encode()
    assert stored(runtime, bucket) == []


def test_a_field_no_condition_names_is_refused(runtime, bucket):
    post = presigned_post(s3_client(runtime), bucket, "uploads/a.png")
    response = upload(post, **{"x-amz-meta-owner": "someone"})
    assert response.status_code == 403
    assert error_of(response)["Message"] == "Invalid according to Policy: Extra input fields: x-amz-meta-owner"
    assert stored(runtime, bucket) == []


def test_a_missing_signature_field_is_refused(runtime, bucket):
    post = presigned_post(s3_client(runtime), bucket, "uploads/a.png")
    response = upload(post, **{"x-amz-signature": None})
    assert response.status_code == 400
    error = error_of(response)
    assert (error["Code"], error["ArgumentName"], error["ArgumentValue"]) == ("InvalidArgument", "X-Amz-Signature", "")
    assert error["Message"] == (
        "Bucket POST must contain a field named 'X-Amz-Signature'.  If it is specified, please check the order of the fields."
    )
    assert stored(runtime, bucket) == []


def test_an_upload_without_a_policy_is_anonymous_and_only_a_public_bucket_takes_it(runtime, bucket):
    url = f"{runtime.endpoint}/{bucket}"
    form = {"key": "uploads/a.png", "Content-Type": "image/png"}
    response = requests.post(url, data=form, files={"file": ("avatar.png", PNG, "image/png")}, timeout=10)
    assert response.status_code == 403
    assert (error_of(response)["Code"], error_of(response)["Message"]) == ("AccessDenied", "Access Denied")
    assert stored(runtime, bucket) == []
    # A bucket everyone may write to takes it, as on S3
    runtime.client("s3").put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    response = requests.post(url, data=form, files={"file": ("avatar.png", PNG, "image/png")}, timeout=10)
    assert response.status_code == 204
    assert stored(runtime, bucket) == ["uploads/a.png"]


def test_the_secret_of_a_key_moto_issued_signs_the_policy(runtime, bucket):
    iam = runtime.client("iam")
    user = f"uploader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = s3_client(runtime, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    post = presigned_post(client, bucket, "uploads/a.png")
    refused = upload(post, policy=tampered(post["fields"]["policy"]))
    assert refused.status_code == 403
    assert error_of(refused)["AWSAccessKeyId"] == key["AccessKeyId"]
    # The same key with another secret: its signature does not match either
    forged = presigned_post(s3_client(runtime, key_id=key["AccessKeyId"], secret="guessed"), bucket, "uploads/a.png")
    assert error_of(upload(forged))["Code"] == "SignatureDoesNotMatch"
    assert stored(runtime, bucket) == []
    assert upload(post).status_code == 204


def test_a_secret_the_runtime_cannot_know_leaves_the_signature_unchecked_but_the_policy_enforced(runtime, bucket):
    """The runtime accepts any credentials: for a key it did not issue, it cannot tell a forged signature from a
    real one (S3 would answer InvalidAccessKeyId). The policy's conditions still hold."""
    post = presigned_post(s3_client(runtime, key_id="someone", secret="else"), bucket, "uploads/a.png")
    refused = upload(post, **{"Content-Type": "text/html"})
    assert (refused.status_code, error_of(refused)["Code"]) == (403, "AccessDenied")
    assert stored(runtime, bucket) == []
    assert upload(post, policy=tampered(post["fields"]["policy"])).status_code == 204


def test_the_sigv4_post_signature_is_the_one_aws_documents():
    """AWS's example of a signed POST policy (S3 API reference, "Example: Browser-Based Upload using HTTP POST"),
    whose policy has CRLF line ends."""
    policy = (
        '{ "expiration": "2015-12-30T12:00:00.000Z",\r\n  "conditions": [\r\n    {"bucket": "sigv4examplebucket"},\r\n'
        '    ["starts-with", "$key", "user/user1/"],\r\n    {"acl": "public-read"},\r\n'
        '    {"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},\r\n'
        '    ["starts-with", "$Content-Type", "image/"],\r\n    {"x-amz-meta-uuid": "14365123651274"},\r\n'
        '    {"x-amz-server-side-encryption": "AES256"},\r\n    ["starts-with", "$x-amz-meta-tag", ""],\r\n\r\n'
        '    {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},\r\n'
        '    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},\r\n    {"x-amz-date": "20151229T000000Z" }\r\n  ]\r\n}'
    )
    policy_text = base64.b64encode(policy.encode()).decode()
    signature = sigv4_post_signature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20151229", "us-east-1", "s3", policy_text)
    assert signature == "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
