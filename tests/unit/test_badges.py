"""tenantry.badges: the catalogue from S3 (moto) and issuing and revoking badges on the profile (moto), each
change written once so the stream announces it once; the seed catalogue the deploy uploads."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest

from helpers import ROOT, Interleaved
from helpers import UNIT_TABLE as TABLE
from tenantry import keys
from tenantry.adapters.dynamodb import from_item, to_item
from tenantry.badges import (
    CATALOGUE_KEY,
    Badge,
    BadgeCatalogue,
    BadgeStore,
    Conflict,
    InvalidBadge,
    MalformedCatalogue,
    UserNotFound,
    check_name,
)
from tenantry.domain_events import events_for_record

TENANT, OTHER_TENANT, USER = "tnt-a", "tnt-b", "usr-1"
BUCKET = "tenantry-unit-bucket"  # the `s3` fixture's (tests/unit/conftest.py)
SEED = ROOT / "functions" / "seed_bucket" / "badges"
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("name", ["NEW_MEMBER", "MFA_ENABLED", "A1", "X" * 40, "ONE_YEAR_2"])
def test_badge_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name", ["A", "X" * 41, "new_member", "New_Member", "1ABC", "_ABC", "NEW-MEMBER", "NEW MEMBER", "", 42, None]
)
def test_anything_else_is_not_a_badge_name(name, ddb):
    with pytest.raises(InvalidBadge) as raised:
        check_name(name)
    assert raised.value.field == "name"
    put_profile(ddb)
    store = BadgeStore(TABLE, ddb)
    for change in (store.issue, store.revoke):
        with pytest.raises(InvalidBadge):
            change(TENANT, USER, name)
    assert stored(ddb)["badges"] == ["NEW_MEMBER"]


# The catalogue, from moto's S3


def upload_seed(s3) -> None:
    """What the deploy uploads: badges/ as the bucket's root."""
    for path in sorted(SEED.rglob("*")):
        if path.is_file():
            s3.put_object(Bucket=BUCKET, Key=path.relative_to(SEED).as_posix(), Body=path.read_bytes())


def put_catalogue(s3, badges: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=CATALOGUE_KEY, Body=json.dumps(badges).encode())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_seed_catalogue_lists_its_badges_with_icon_urls(s3):
    upload_seed(s3)
    entries = BadgeCatalogue(BUCKET, s3).entries(lambda icon: f"https://cdn.example.com/badges/{icon}")
    assert entries[0] == {
        "name": "NEW_MEMBER",
        "description": "Joined the tenant: every registered user starts with this badge.",
        "iconUrl": "https://cdn.example.com/badges/icons/new-member.svg",
    }
    assert 4 <= len(entries) <= 5 and len({e["name"] for e in entries}) == len(entries)
    for entry in entries:  # each icon is in the bucket, where the URL says
        key = entry["iconUrl"].removeprefix("https://cdn.example.com/badges/")
        assert s3.get_object(Bucket=BUCKET, Key=key)["ContentLength"] > 0


def test_each_seed_icon_is_a_small_svg_and_each_is_used():
    badges = json.loads((SEED / "catalogue.json").read_text())["badges"]
    icons = {b["icon"] for b in badges}
    assert icons == {p.relative_to(SEED).as_posix() for p in (SEED / "icons").iterdir()}
    for icon in icons:
        path = SEED / icon
        assert path.stat().st_size < 4096
        root = ET.parse(path).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox")
        assert not [e.tag for e in root.iter() if e.tag.rsplit("}", 1)[-1] in ("script", "foreignObject", "image")]


def test_the_seed_catalogue_knows_the_badge_registration_gives():
    definition = json.loads((ROOT / "statemachines" / "user_registration.asl.json").read_text())
    given = [v["S"] for v in definition["States"]["SaveProfile"]["Parameters"]["Item"]["badges"]["L"]]
    catalogue = {b["name"] for b in json.loads((SEED / "catalogue.json").read_text())["badges"]}
    assert given == ["NEW_MEMBER"] and set(given) <= catalogue


def test_knows_only_the_badges_of_the_catalogue(s3):
    upload_seed(s3)
    catalogue = BadgeCatalogue(BUCKET, s3)
    assert catalogue.knows("NEW_MEMBER") and catalogue.knows("MFA_ENABLED")
    assert not catalogue.knows("NOT_A_BADGE") and not catalogue.knows("new_member")


def test_the_catalogue_is_read_again_once_it_is_max_age_old(s3):
    put_catalogue(s3, {"badges": [{"name": "FIRST", "description": "one", "icon": "icons/first.svg"}]})
    clock = Clock()
    catalogue = BadgeCatalogue(BUCKET, s3, max_age_seconds=300, clock=clock)
    assert catalogue.badges() == (Badge("FIRST", "one", "icons/first.svg"),)
    put_catalogue(s3, {"badges": [{"name": "SECOND", "description": "two", "icon": "icons/second.svg"}]})
    clock.now += 299
    assert catalogue.knows("FIRST") and not catalogue.knows("SECOND")  # the copy in memory
    clock.now += 1
    assert catalogue.knows("SECOND") and not catalogue.knows("FIRST")


def test_a_cached_catalogue_is_not_read_again(s3):
    put_catalogue(s3, {"badges": [{"name": "FIRST", "description": "one", "icon": "icons/first.svg"}]})
    catalogue = BadgeCatalogue(BUCKET, s3, clock=Clock())
    catalogue.badges()
    s3.delete_object(Bucket=BUCKET, Key=CATALOGUE_KEY)
    assert [e["name"] for e in catalogue.entries(str)] == ["FIRST"]


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"badge": []},
        {"badges": [{"name": "lower", "description": "d", "icon": "icons/a.svg"}]},
        {"badges": [{"name": "GOOD", "description": " ", "icon": "icons/a.svg"}]},
        {"badges": [{"name": "GOOD", "description": "d"}]},
        {"badges": [{"name": "GOOD", "description": "d", "icon": "../secret.svg"}]},
        {"badges": [{"name": "GOOD", "description": "d", "icon": "icons/../../secret.svg"}]},
        {"badges": [{"name": "GOOD", "description": "d", "icon": "/icons/a.svg"}]},
        {"badges": [{"name": "GOOD", "description": "d", "icon": "icons/a.svg"}] * 2},
        {"badges": ["GOOD"]},
    ],
)
def test_a_malformed_catalogue_is_refused(s3, document):
    put_catalogue(s3, document)
    with pytest.raises(MalformedCatalogue):
        BadgeCatalogue(BUCKET, s3).badges()


def test_a_catalogue_that_is_not_json_is_refused(s3):
    s3.put_object(Bucket=BUCKET, Key=CATALOGUE_KEY, Body=b"badges: [NEW_MEMBER]")
    with pytest.raises(MalformedCatalogue):
        BadgeCatalogue(BUCKET, s3).knows("NEW_MEMBER")


# Issuing and revoking, on moto's DynamoDB


def put_profile(ddb, user_id: str = USER, tenant_id: str = TENANT, badges: Any = ("NEW_MEMBER",)) -> None:
    item = {**keys.profile_key(user_id), "entity": keys.USER.name, "userId": user_id, "tenantId": tenant_id}
    if badges is not None:
        item["badges"] = list(badges)
    ddb.put_item(TableName=TABLE, Item=to_item(item))


def raw_item(ddb, user_id: str = USER) -> dict[str, Any] | None:
    return ddb.get_item(TableName=TABLE, Key=to_item(keys.profile_key(user_id)), ConsistentRead=True).get("Item")


def stored(ddb, user_id: str = USER) -> dict[str, Any]:
    return from_item(raw_item(ddb, user_id) or {})


def badge_events(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The badge events the stream publisher makes of this change of the profile."""
    record = {"eventID": "e-1", "eventName": "MODIFY", "dynamodb": {"OldImage": old, "NewImage": new}}
    return [(e.detail_type, e.detail["badge"]) for e in events_for_record(record) if "badge" in e.detail]


@pytest.fixture
def store(ddb):
    return BadgeStore(TABLE, ddb, clock=lambda: NOW)


def test_issuing_adds_the_badge_once(store, ddb):
    put_profile(ddb)
    before = raw_item(ddb)
    assert store.issue(TENANT, USER, "MFA_ENABLED") is True
    after = raw_item(ddb)
    assert stored(ddb)["badges"] == ["NEW_MEMBER", "MFA_ENABLED"] and stored(ddb)["updatedAt"] == "2026-03-01T09:30:00.000Z"
    assert badge_events(before, after) == [("BadgeIssued", "MFA_ENABLED")]
    # Issuing it again changes nothing: no write, so no second BadgeIssued
    assert store.issue(TENANT, USER, "MFA_ENABLED") is False
    assert raw_item(ddb) == after


def test_issuing_to_a_profile_without_badges_starts_the_list(store, ddb):
    put_profile(ddb, badges=None)  # a tenant's first admin has no badges attribute
    assert store.issue(TENANT, USER, "EARLY_ADOPTER") is True
    assert stored(ddb)["badges"] == ["EARLY_ADOPTER"]


def test_revoking_removes_the_badge_and_again_changes_nothing(store, ddb):
    put_profile(ddb, badges=["NEW_MEMBER", "MFA_ENABLED", "ONE_YEAR"])
    before = raw_item(ddb)
    assert store.revoke(TENANT, USER, "MFA_ENABLED") is True
    after = raw_item(ddb)
    assert stored(ddb)["badges"] == ["NEW_MEMBER", "ONE_YEAR"]
    assert badge_events(before, after) == [("BadgeRevoked", "MFA_ENABLED")]
    assert store.revoke(TENANT, USER, "MFA_ENABLED") is False
    assert raw_item(ddb) == after


def test_revoking_a_badge_never_held_writes_nothing(store, ddb):
    put_profile(ddb, badges=None)
    before = raw_item(ddb)
    assert store.revoke(TENANT, USER, "NEW_MEMBER") is False
    assert raw_item(ddb) == before


def test_revoking_removes_every_copy_of_the_badge(store, ddb):
    put_profile(ddb, badges=["NEW_MEMBER", "ONE_YEAR", "NEW_MEMBER"])  # written by hand, not by issue
    assert store.revoke(TENANT, USER, "NEW_MEMBER") is True
    assert stored(ddb)["badges"] == ["ONE_YEAR"]


@pytest.mark.parametrize("change", ["issue", "revoke"])
def test_another_tenants_user_looks_exactly_like_a_missing_one(store, ddb, change):
    put_profile(ddb, tenant_id=OTHER_TENANT, badges=["NEW_MEMBER"])
    before = raw_item(ddb)
    for user_id, name in ((USER, "MFA_ENABLED"), (USER, "NEW_MEMBER"), ("nobody", "NEW_MEMBER")):
        with pytest.raises(UserNotFound):
            getattr(store, change)(TENANT, user_id, name)
    assert raw_item(ddb) == before
    assert raw_item(ddb, "nobody") is None  # no item made for a missing user


def test_a_revocation_racing_another_reads_again(ddb):
    put_profile(ddb, badges=["NEW_MEMBER", "MFA_ENABLED", "ONE_YEAR"])
    other = BadgeStore(TABLE, ddb)
    # When NEW_MEMBER is revoked between this revocation's read (ONE_YEAR at 2) and its write
    racing = BadgeStore(TABLE, Interleaved(ddb, lambda: other.revoke(TENANT, USER, "NEW_MEMBER")))  # type: ignore[arg-type]
    assert racing.revoke(TENANT, USER, "ONE_YEAR") is True
    # Then ONE_YEAR went from where it had moved, and nothing else
    assert stored(ddb)["badges"] == ["MFA_ENABLED"]


def test_a_revocation_racing_the_same_revocation_reports_it_not_held(ddb):
    put_profile(ddb, badges=["NEW_MEMBER", "ONE_YEAR"])
    other = BadgeStore(TABLE, ddb)
    racing = BadgeStore(TABLE, Interleaved(ddb, lambda: other.revoke(TENANT, USER, "ONE_YEAR")))  # type: ignore[arg-type]
    assert racing.revoke(TENANT, USER, "ONE_YEAR") is False  # the other request revoked it (and announced it)
    assert stored(ddb)["badges"] == ["NEW_MEMBER"]


def test_a_revocation_that_loses_every_race_gives_up(ddb):
    put_profile(ddb, badges=["NEW_MEMBER", "ONE_YEAR"])

    def shift() -> None:  # something else puts a badge in front, each time
        put_profile(ddb, badges=["EARLY_ADOPTER", *stored(ddb)["badges"]])

    racing = BadgeStore(TABLE, Interleaved(ddb, shift, shift), attempts=2)  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        racing.revoke(TENANT, USER, "ONE_YEAR")
    assert stored(ddb)["badges"] == ["EARLY_ADOPTER", "EARLY_ADOPTER", "NEW_MEMBER", "ONE_YEAR"]
