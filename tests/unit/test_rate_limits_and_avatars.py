"""Attempt counters in fixed windows (tenantry.rate_limits) and avatar keys and uploads (tenantry.avatars), on
moto in-process."""

from __future__ import annotations

import boto3

from helpers import UNIT_TABLE as TABLE
from tenantry.adapters.dynamodb import get_plain, to_item
from tenantry.avatars import Avatars, owner_of, record_upload, uploaded_keys
from tenantry.keys import profile_key
from tenantry.rate_limits import Limit, RateCounter

LIMIT = Limit("test", attempts=3, window_seconds=60)


def test_take_counts_until_the_limit_then_refuses_without_counting(ddb):
    now = [1_000_000.0]
    counter = RateCounter(TABLE, ddb, clock=lambda: now[0])
    assert [counter.take(LIMIT, "a") for _ in range(4)] == [True, True, True, False]
    assert counter.spent(LIMIT, "a") and not counter.spent(LIMIT, "b")  # another subject has its own count
    now[0] += 60  # the next window starts afresh
    assert not counter.spent(LIMIT, "a") and counter.take(LIMIT, "a")


def test_a_refund_gives_back_an_attempt_of_this_window_only(ddb):
    now = [1_000_000.0]
    counter = RateCounter(TABLE, ddb, clock=lambda: now[0])
    assert counter.take(LIMIT, "a") and counter.take(LIMIT, "a")
    counter.refund(LIMIT, "a")
    assert counter.take(LIMIT, "a") and not counter.spent(LIMIT, "a")  # 2 counted, not 3
    now[0] += 60
    counter.refund(LIMIT, "a")  # nothing counted in the new window: nothing to give back, never below zero
    assert [counter.take(LIMIT, "a") for _ in range(4)] == [True, True, True, False]


def test_count_counts_failures_and_the_subject_never_appears_in_a_key(ddb):
    counter = RateCounter(TABLE, ddb, clock=lambda: 1_000_000.0)
    for _ in range(3):
        counter.count(LIMIT, "t-1\nada@example.com")
    assert counter.spent(LIMIT, "t-1\nada@example.com")
    items = ddb.scan(TableName=TABLE)["Items"]
    assert len(items) == 1 and "ada" not in str(items) and items[0]["ttl"]["N"] == str(1_000_000 // 60 * 60 + 60)


def test_an_avatar_key_names_its_tenant_and_user_and_nothing_else_is_recorded(ddb):
    ddb.put_item(TableName=TABLE, Item=to_item({**profile_key("u-1"), "userId": "u-1", "tenantId": "t-1"}))
    with_s3 = Avatars("avatars-bucket", boto3.client("s3", region_name="us-east-1"))
    form = with_s3.upload_form("t-1", "u-1", "image/webp")
    assert owner_of(form.key) == ("t-1", "u-1") and form.key.endswith(".webp")
    assert form.fields["Content-Type"] == "image/webp" and form.fields["key"] == form.key
    assert owner_of("avatars/t-1/u-1/../../x.png") is None and owner_of("other/t-1/u-1/" + "0" * 32 + ".png") is None
    assert owner_of(form.key + "\n") is None
    other_tenant = form.key.replace("avatars/t-1/", "avatars/t-2/")
    assert record_upload(TABLE, ddb, other_tenant) is False  # the profile is t-1's: a t-2 key never lands on it
    assert record_upload(TABLE, ddb, form.key) is True
    assert get_plain(ddb, TABLE, profile_key("u-1"))["avatarKey"] == form.key


def test_only_object_created_records_are_uploads_and_keys_are_url_decoded():
    event = {
        "Records": [
            {"eventName": "ObjectCreated:Post", "s3": {"object": {"key": "avatars/t%3A1/u-1/a.png"}}},
            {"eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "avatars/t-1/u-1/b.png"}}},
        ]
    }
    assert uploaded_keys(event) == ["avatars/t:1/u-1/a.png"]
