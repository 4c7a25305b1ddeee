"""tenantry.bucket_seed: the Custom::BucketSeed provider on moto's S3 (in-process), answering CloudFormation at a
local HTTP server that stands in for the presigned ResponseURL."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import ROOT
from tenantry import bucket_seed
from tenantry.badges import BadgeCatalogue
from tenantry.bucket_seed import (
    MAX_REASON_CHARACTERS,
    InvalidSeed,
    ResponseNotDelivered,
    content_type,
    content_version,
    handle,
    package_files,
    put_response,
)

BUCKET = "tenantry-unit-bucket"  # the `s3` fixture's (tests/unit/conftest.py)
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/tenantry/0a1b2c3d"
PACKAGE = ROOT / "functions" / "seed_bucket"
PLENTY_OF_TIME = 25_000


class _ResponseUrl(BaseHTTPRequestHandler):
    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def cloudformation():
    """Where the responses go: `.url` (a presigned-looking URL), `.received` (each PUT), `.statuses` (answers to
    give first, then 200)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ResponseUrl)
    server.received, server.statuses = [], []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    port = server.server_address[1]
    server.url = f"http://127.0.0.1:{port}/responses/arn%3Aaws%3Acloudformation%7CBadgeCatalogue%7Cr-1?X-Amz-Signature=abc"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch):
    monkeypatch.setattr(bucket_seed.time, "sleep", lambda _: None)


def request(request_type, url, source="badges", bucket=BUCKET, **extra):
    event = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:seed",
        "ResponseURL": url,
        "StackId": STACK_ID,
        "RequestId": str(uuid.uuid4()),
        "ResourceType": "Custom::BucketSeed",
        "LogicalResourceId": "BadgeCatalogue",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:seed",
            "Bucket": bucket,
            "Source": source,
            "Version": "1",
        },
    }
    event.update(extra)
    return event


def run(event, s3, package=PACKAGE, remaining_ms=PLENTY_OF_TIME):
    return handle(event, s3=s3, package_root=package, remaining_ms=lambda: remaining_ms, log_stream="2026/03/01/[$LATEST]abc")


def keys(s3, bucket=BUCKET):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# ------------------------------------------------------------------------------------------- Create
def test_create_uploads_every_packaged_file_with_its_content_type_and_answers_success(s3, cloudformation):
    event = request("Create", cloudformation.url)
    response = run(event, s3)

    source = PACKAGE / "badges"
    files = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    assert keys(s3) == sorted([*files, ".bucket-seed/badges.json"])
    for key in files:
        stored = s3.get_object(Bucket=BUCKET, Key=key)
        assert stored["Body"].read() == (source / key).read_bytes()
        assert stored["ContentType"] == ("application/json" if key.endswith(".json") else "image/svg+xml")
    assert response == {
        "Status": "SUCCESS",
        "PhysicalResourceId": f"{BUCKET}/badges",
        "StackId": STACK_ID,
        "RequestId": event["RequestId"],
        "LogicalResourceId": "BadgeCatalogue",
        "NoEcho": False,
        "Data": {"ObjectCount": str(len(files)), "ContentVersion": content_version(package_files(PACKAGE, "badges"))},
    }
    # One PUT to the ResponseURL, as cfn-response sends it: the JSON response, an empty Content-Type.
    [put] = cloudformation.received
    assert put["path"].startswith("/responses/arn%3Aaws%3Acloudformation%7CBadgeCatalogue%7Cr-1?X-Amz-Signature=")
    assert put["headers"]["Content-Type"] == ""
    assert json.loads(put["body"]) == response
    # What the Identity API reads.
    badges = BadgeCatalogue(BUCKET, s3).badges()
    assert {badge.icon for badge in badges} <= set(files)


def test_create_into_a_bucket_that_does_not_exist_answers_failed_with_the_seeds_id(s3, cloudformation):
    response = run(request("Create", cloudformation.url, bucket="no-such-bucket"), s3)
    assert response["Status"] == "FAILED"
    assert "NoSuchBucket" in response["Reason"] and response["Reason"].endswith("(log stream 2026/03/01/[$LATEST]abc)")
    assert response["PhysicalResourceId"] == "no-such-bucket/badges"  # the rollback's Delete then finds nothing to do


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"Bucket": BUCKET, "Source": "missing"}, "InvalidSeed: the function's package has no directory 'missing'"),
        ({"Bucket": BUCKET, "Source": "../identity_api"}, "must be a relative path inside the function's package"),
        ({"Bucket": BUCKET, "Source": "badges/../.."}, "must be a relative path inside the function's package"),
        ({"Bucket": BUCKET, "Source": "/etc"}, "must be a relative path inside the function's package"),
        ({"Bucket": BUCKET}, "the Source property must name a directory"),
        ({"Source": "badges"}, "the Bucket property must be a bucket name"),
    ],
)
def test_a_create_with_properties_it_cannot_use_answers_failed(s3, cloudformation, properties, reason):
    response = run(request("Create", cloudformation.url, ResourceProperties=properties), s3)
    assert response["Status"] == "FAILED" and reason in response["Reason"]
    assert keys(s3) == []
    assert json.loads(cloudformation.received[0]["body"])["Status"] == "FAILED"


def test_an_unknown_request_type_answers_failed(s3, cloudformation):
    response = run(request("Replace", cloudformation.url, PhysicalResourceId=f"{BUCKET}/badges"), s3)
    assert response["Status"] == "FAILED" and "unknown RequestType 'Replace'" in response["Reason"]
    assert response["PhysicalResourceId"] == f"{BUCKET}/badges"


# ------------------------------------------------------------------------------------------- Update
def test_update_in_place_uploads_the_new_files_and_deletes_the_ones_gone(s3, cloudformation, tmp_path):
    package = write(tmp_path, {"seed/a.json": '{"v": 1}', "seed/icons/x.svg": "<svg/>", "seed/icons/y.png": "png"})
    run(request("Create", cloudformation.url, source="seed"), s3, package)
    s3.put_object(Bucket=BUCKET, Key="uploads/other.txt", Body=b"not the seed's")

    (package / "seed" / "icons" / "y.png").unlink()
    write(package, {"seed/a.json": '{"v": 2}', "seed/b.svg": "<svg/>"})
    old = request("Create", "", source="seed")["ResourceProperties"]
    update = request("Update", cloudformation.url, source="seed", PhysicalResourceId=f"{BUCKET}/seed", OldResourceProperties=old)
    update["ResourceProperties"]["Version"] = "2"
    response = run(update, s3, package)

    assert response["Status"] == "SUCCESS" and response["PhysicalResourceId"] == f"{BUCKET}/seed"
    assert keys(s3) == [".bucket-seed/seed.json", "a.json", "b.svg", "icons/x.svg", "uploads/other.txt"]
    assert s3.get_object(Bucket=BUCKET, Key="a.json")["Body"].read() == b'{"v": 2}'
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=".bucket-seed/seed.json")["Body"].read())
    assert manifest == {"source": "seed", "keys": ["a.json", "b.svg", "icons/x.svg"]}


def test_a_new_source_is_a_replacement_whose_old_seed_cloudformation_then_deletes(s3, cloudformation, tmp_path):
    package = write(tmp_path, {"v1/a.json": "1", "v1/only-v1.json": "1", "v2/a.json": "2", "v2/only-v2.json": "2"})
    run(request("Create", cloudformation.url, source="v1"), s3, package)
    old = request("Create", "", source="v1")["ResourceProperties"]
    update = request("Update", cloudformation.url, source="v2", PhysicalResourceId=f"{BUCKET}/v1", OldResourceProperties=old)
    response = run(update, s3, package)
    # A new id: CloudFormation takes it as a replacement, and sends the old seed a Delete once the update is done.
    assert response["PhysicalResourceId"] == f"{BUCKET}/v2"
    assert keys(s3) == [".bucket-seed/v1.json", ".bucket-seed/v2.json", "a.json", "only-v1.json", "only-v2.json"]

    delete = request("Delete", cloudformation.url, source="v1", PhysicalResourceId=f"{BUCKET}/v1")
    assert run(delete, s3, package)["Status"] == "SUCCESS"
    # a.json is the new seed's too: it stays.
    assert keys(s3) == [".bucket-seed/v2.json", "a.json", "only-v2.json"]
    assert s3.get_object(Bucket=BUCKET, Key="a.json")["Body"].read() == b"2"


def test_an_update_that_fails_answers_failed_with_the_current_id(s3, cloudformation):
    old = request("Create", "")["ResourceProperties"]
    update = request(
        "Update", cloudformation.url, source="gone", PhysicalResourceId=f"{BUCKET}/badges", OldResourceProperties=old
    )
    response = run(update, s3)
    assert response["Status"] == "FAILED" and response["PhysicalResourceId"] == f"{BUCKET}/badges"


# ------------------------------------------------------------------------------------------- Delete
def test_delete_removes_everything_it_uploaded_so_the_bucket_can_be_deleted(s3, cloudformation):
    run(request("Create", cloudformation.url), s3)
    response = run(request("Delete", cloudformation.url, PhysicalResourceId=f"{BUCKET}/badges"), s3)
    assert response["Status"] == "SUCCESS" and response["PhysicalResourceId"] == f"{BUCKET}/badges"
    assert response["Data"] == {}
    assert keys(s3) == []
    s3.delete_bucket(Bucket=BUCKET)


def test_delete_without_a_manifest_removes_the_packaged_files_keys(s3, cloudformation):
    s3.put_object(Bucket=BUCKET, Key="catalogue.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key="kept.txt", Body=b"not a packaged file")
    run(request("Delete", cloudformation.url, PhysicalResourceId=f"{BUCKET}/badges"), s3)
    assert keys(s3) == ["kept.txt"]


def test_delete_of_a_bucket_already_gone_succeeds(s3, cloudformation):
    response = run(request("Delete", cloudformation.url, bucket="gone-bucket", PhysicalResourceId="gone-bucket/badges"), s3)
    assert response["Status"] == "SUCCESS"


class _Unusable:
    def __getattr__(self, name):
        raise AssertionError(f"S3 called: {name}")


@pytest.mark.parametrize(
    "extra",
    [
        # The rollback of a Create that refused its properties (it answered with its log stream as the id).
        {"ResourceProperties": {"Source": "badges"}, "PhysicalResourceId": "2026/03/01/[$LATEST]abc"},
        # An id this provider did not give these properties.
        {"PhysicalResourceId": "another-bucket/badges"},
    ],
)
def test_delete_of_a_seed_never_made_succeeds_without_touching_s3(cloudformation, extra):
    response = run(request("Delete", cloudformation.url, **extra), _Unusable())
    assert response["Status"] == "SUCCESS" and response["PhysicalResourceId"] == extra["PhysicalResourceId"]


# ------------------------------------------------------------------------------------------- never leave CloudFormation waiting
def test_a_request_about_to_time_out_answers_failed_before_lambda_would_end_it(s3, cloudformation):
    response = run(request("Create", cloudformation.url), s3, remaining_ms=4_000)
    assert response["Status"] == "FAILED" and response["Reason"].startswith("OutOfTime: the function is about to time out")
    assert len(cloudformation.received) == 1


class _Broken:
    def put_object(self, **_):
        raise RuntimeError("x" * 10_000)


def test_any_error_answers_failed_with_a_reason_short_enough_for_cloudformation(cloudformation):
    response = run(request("Create", cloudformation.url), _Broken())
    assert response["Status"] == "FAILED" and len(response["Reason"]) == MAX_REASON_CHARACTERS
    assert response["Reason"].startswith("RuntimeError: xxx") and response["Reason"].endswith("...")
    assert len(cloudformation.received[0]["body"]) < 4096


def test_the_response_is_retried_on_server_errors(s3, cloudformation):
    cloudformation.statuses = [500, 503]
    response = run(request("Create", cloudformation.url), s3)
    assert len(cloudformation.received) == 3
    assert json.loads(cloudformation.received[-1]["body"]) == response


def test_a_response_that_cannot_be_delivered_raises_for_lambda_to_retry(s3, cloudformation):
    cloudformation.statuses = [403]
    with pytest.raises(ResponseNotDelivered, match="HTTP 403"):
        run(request("Create", cloudformation.url), s3)
    assert len(cloudformation.received) == 1
    with pytest.raises(ResponseNotDelivered, match="not an HTTP"):
        put_response("file:///etc/passwd", b"{}")


def test_an_event_without_a_response_url_is_refused():
    with pytest.raises(ValueError, match="no ResponseURL"):
        handle({"RequestType": "Create"}, s3=_Unusable(), package_root=PACKAGE, remaining_ms=lambda: PLENTY_OF_TIME)


# ------------------------------------------------------------------------------------------- files
@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("catalogue.json", "application/json"),
        ("icons/new-member.svg", "image/svg+xml"),
        ("icons/LOGO.PNG", "image/png"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("archive.zip", "application/zip"),
        ("no-extension", "application/octet-stream"),
    ],
)
def test_content_types(key, expected):
    assert content_type(key) == expected


def test_package_files_are_keyed_by_their_path_under_the_source_without_dotfiles(tmp_path):
    write(tmp_path, {"s/a.json": "", "s/icons/b.svg": "", "s/.DS_Store": "", "s/.git/config": "", "other/c.json": ""})
    assert list(package_files(tmp_path, "s")) == ["a.json", "icons/b.svg"]


def test_a_symlink_out_of_the_package_is_refused(tmp_path):
    outside = write(tmp_path / "outside", {"secret.txt": "s"})
    package = write(tmp_path / "package", {"s/a.json": ""})
    (package / "s" / "leak.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(InvalidSeed, match="leads out of the function's package"):
        package_files(package, "s")


def test_the_content_version_changes_with_a_files_content_or_name(tmp_path):
    write(tmp_path, {"s/a.json": "1"})
    first = content_version(package_files(tmp_path, "s"))
    assert content_version(package_files(tmp_path, "s")) == first
    write(tmp_path, {"s/a.json": "2"})
    second = content_version(package_files(tmp_path, "s"))
    (tmp_path / "s" / "a.json").rename(tmp_path / "s" / "b.json")
    assert len({first, second, content_version(package_files(tmp_path, "s"))}) == 3
