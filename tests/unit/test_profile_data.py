"""tenantry.profile_data: RFC 7396 merge patches, what a data blob may be, ETags, and versioned writes of the
blob on moto in-process (a table shaped like TenantryTable's keys)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from helpers import UNIT_TABLE as TABLE
from helpers import Interleaved
from tenantry import keys
from tenantry.adapters.dynamodb import from_item, get_plain, to_item
from tenantry.keys import profile_key
from tenantry.profile_data import (
    MAX_DATA_BYTES,
    MAX_DEPTH,
    NO_VERSION,
    DataTooLarge,
    InvalidData,
    ProfileDataStore,
    UserNotFound,
    VersionMismatch,
    check_data,
    etag_of,
    merge_patch,
    version_of_etag,
)

TENANT, OTHER_TENANT, USER = "tnt-a", "tnt-b", "usr-1"
NOW = datetime(2026, 3, 1, 9, 30, 0, 250_000, tzinfo=UTC)

# RFC 7396, Appendix A: (original, patch, result), as JSON text
RFC_7396_EXAMPLES = [
    ('{"a":"b"}', '{"a":"c"}', '{"a":"c"}'),
    ('{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'),
    ('{"a":"b"}', '{"a":null}', "{}"),
    ('{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'),
    ('{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'),
    ('{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'),
    ('{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'),
    ('{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'),
    ('["a","b"]', '["c","d"]', '["c","d"]'),
    ('{"a":"b"}', '["c"]', '["c"]'),
    ('{"a":"foo"}', "null", "null"),
    ('{"a":"foo"}', '"bar"', '"bar"'),
    ('{"e":null}', '{"a":1}', '{"e":null,"a":1}'),
    ("[1,2]", '{"a":"b","c":null}', '{"a":"b"}'),
    ("{}", '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'),
]


@pytest.mark.parametrize(("original", "patch", "result"), RFC_7396_EXAMPLES)
def test_merge_patch_gives_the_results_of_rfc_7396_appendix_a(original, patch, result):
    target, patch_value = json.loads(original), json.loads(patch)
    before = (copy.deepcopy(target), copy.deepcopy(patch_value))
    assert merge_patch(target, patch_value) == json.loads(result)
    assert (target, patch_value) == before  # neither argument is modified


def test_merge_patch_keeps_nulls_inside_arrays_and_merges_at_any_depth():
    target = {"a": {"b": {"c": 1, "d": 2}}, "keep": True}
    assert merge_patch(target, {"a": {"b": {"c": None, "e": [None, 1]}}}) == {"a": {"b": {"d": 2, "e": [None, 1]}}, "keep": True}


def nested(levels: int, leaf: Any = 1) -> Any:
    """`levels` objects, one in the other: {"a": {"a": ... leaf}}."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize("data", [[], ["a"], "text", 3, None, True])
def test_the_data_must_be_an_object(data):
    with pytest.raises(InvalidData) as raised:
        check_data(data)
    assert raised.value.field == "body"


def test_the_data_may_nest_max_depth_levels_and_no_more():
    assert check_data(nested(MAX_DEPTH)) == nested(MAX_DEPTH)
    with pytest.raises(InvalidData) as raised:
        check_data(nested(MAX_DEPTH + 1))
    # the ninth object is the member at a.a.a.a.a.a.a.a
    assert raised.value.field == ".".join(["a"] * MAX_DEPTH)


def test_arrays_count_as_levels_and_the_first_too_deep_member_is_named():
    deep_list: Any = 0
    for _ in range(MAX_DEPTH - 1):
        deep_list = [deep_list]
    assert check_data({"ok": 1, "l": deep_list}) is not None  # the object and 7 arrays: 8 levels
    with pytest.raises(InvalidData) as raised:
        check_data({"ok": {"x": 1}, "first": {"l": deep_list}, "second": {"l": deep_list}})
    assert raised.value.field == "first.l" + ".0" * (MAX_DEPTH - 2)


def test_the_size_limit_is_in_bytes_of_compact_utf8_json():
    frame = len('{"s":""}')
    assert check_data({"s": "x" * (MAX_DATA_BYTES - frame)})
    with pytest.raises(DataTooLarge) as raised:
        check_data({"s": "x" * (MAX_DATA_BYTES - frame + 1)})
    assert (raised.value.size, raised.value.limit, raised.value.field) == (MAX_DATA_BYTES + 1, MAX_DATA_BYTES, "body")
    # "é" is two bytes in UTF-8 (and not the six of "\u00e9")
    half = (MAX_DATA_BYTES - frame) // 2
    assert check_data({"s": "é" * half})
    with pytest.raises(DataTooLarge):
        check_data({"s": "é" * (half + 1)})


def test_too_large_is_not_an_invalid_request():
    # the API answers 413 for one, 400 for the other: neither is caught as the other
    assert not issubclass(DataTooLarge, InvalidData) and not issubclass(InvalidData, DataTooLarge)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"n": float("nan")}, "n"),
        ({"n": float("inf")}, "n"),
        ({"a": [1, float("-inf")]}, "a.1"),
        ({"big": 10**38}, "big"),  # 39 digits
        ({"huge": 1e300}, "huge"),
        ({"tiny": 1e-200}, "tiny"),
        ({"a": {"b": 1e126}}, "a.b"),  # DynamoDB's largest is 9.99...E+125, though boto3 sends 1E+126
        ({"a": 1e-131}, "a"),  # and its smallest 1E-130
        ({"a": -(10**126)}, "a"),
        ({"a": {"": 1}}, "a"),  # DynamoDB refuses an empty attribute name, also in a map
        ({"": 1}, "body"),
        ({"a": "\ud800"}, "a"),  # a lone surrogate is not UTF-8
        ({"a": {"set"}}, "a"),
    ],
)
def test_values_dynamodb_cannot_store_as_given_are_refused_by_path(data, field):
    with pytest.raises(InvalidData) as raised:
        check_data(data)
    assert raised.value.field == field


def test_numbers_dynamodb_stores_are_accepted():
    data = {
        "i": 10**37,
        "f": 0.1,
        "neg": -1.5e-7,
        "e": 9.5e125,
        "small": -1e-130,
        "z": 0,
        "zf": 0.0,
        "t": True,
        "n": None,
        "s": "",
    }
    assert check_data(data) == data


def test_etags_name_versions():
    assert etag_of(3) == '"v3"'
    assert version_of_etag('"v3"') == 3
    assert version_of_etag(' "v0" ') == 0
    assert version_of_etag("*") is None


def test_a_weak_etag_is_well_formed_but_never_matches(ddb):
    # RFC 9110 13.1.1: If-Match compares strongly, so a weak tag is a failed precondition (412), not bad input
    assert version_of_etag('W/"v3"') == NO_VERSION
    put_profile(ddb, data={"a": 1}, dataVersion=3)
    with pytest.raises(VersionMismatch):
        ProfileDataStore(TABLE, ddb).apply(USER, TENANT, {"b": 2}, replace=False, if_match='W/"v3"')
    assert get_plain(ddb, TABLE, profile_key(USER))["data"] == {"a": 1}


@pytest.mark.parametrize("header", ["v3", '"3"', '"v03"', '"v3", "v4"', '"v-1"', "", '"v3'])
def test_anything_else_in_if_match_is_invalid(header):
    with pytest.raises(InvalidData) as raised:
        version_of_etag(header)
    assert raised.value.field == "If-Match"


# The store, on moto


def put_profile(ddb, user_id: str = USER, tenant_id: str = TENANT, **attributes: Any) -> None:
    item = {**keys.profile_key(user_id), "entity": keys.USER.name, "userId": user_id, "tenantId": tenant_id, **attributes}
    ddb.put_item(TableName=TABLE, Item=to_item(item))


def stored(ddb, user_id: str = USER) -> dict[str, Any] | None:
    item = ddb.get_item(TableName=TABLE, Key=to_item(keys.profile_key(user_id)), ConsistentRead=True).get("Item")
    return from_item(item) if item else None


@pytest.fixture
def store(ddb):
    return ProfileDataStore(TABLE, ddb, clock=lambda: NOW)


def test_a_patch_merges_into_the_stored_data_and_raises_the_version(store, ddb):
    put_profile(ddb, data={"theme": "dark", "lang": "en"})
    data, etag = store.apply(USER, TENANT, {"lang": None, "tz": "UTC"}, replace=False)
    assert (data, etag) == ({"theme": "dark", "tz": "UTC"}, '"v1"')
    profile = stored(ddb)
    assert profile["data"] == data and profile["dataVersion"] == 1 and profile["updatedAt"] == "2026-03-01T09:30:00.250Z"
    assert store.read(USER) == (data, 1, TENANT)


def test_a_put_replaces_the_data_whatever_it_was(store, ddb):
    put_profile(ddb, data={"a": 1, "b": {"c": 2}}, dataVersion=4)
    document = {"z": None, "pi": 3.14, "tiny": -1.5e-7, "list": [1, "two", None, {"x": False}]}
    assert store.apply(USER, TENANT, document, replace=True) == (document, '"v5"')
    assert stored(ddb)["data"] == document and store.read(USER) == (document, 5, TENANT)


def test_a_profile_without_data_has_empty_data_at_version_0(store, ddb):
    put_profile(ddb)  # a tenant's first admin has no data attribute
    assert store.read(USER) == ({}, 0, TENANT)
    assert store.apply(USER, TENANT, {"a": 1}, replace=False, if_match='"v0"') == ({"a": 1}, '"v1"')


def test_if_match_at_the_current_version_writes(store, ddb):
    put_profile(ddb, data={"a": 1}, dataVersion=3)
    assert store.apply(USER, TENANT, {"b": 2}, replace=False, if_match='"v3"') == ({"a": 1, "b": 2}, '"v4"')
    assert store.apply(USER, TENANT, {"c": 3}, replace=True, if_match='"v4"') == ({"c": 3}, '"v5"')
    assert store.apply(USER, TENANT, {"d": 4}, replace=True, if_match="*") == ({"d": 4}, '"v6"')


@pytest.mark.parametrize("replace", [False, True])
def test_a_stale_if_match_is_a_version_mismatch_and_writes_nothing(store, ddb, replace):
    put_profile(ddb, data={"a": 1}, dataVersion=3)
    before = stored(ddb)
    with pytest.raises(VersionMismatch) as raised:
        store.apply(USER, TENANT, {"a": 2}, replace=replace, if_match='"v2"')
    assert (raised.value.current_version, raised.value.etag) == (3, '"v3"')
    assert stored(ddb) == before


def test_absent_data_version_counts_as_0(store, ddb):
    put_profile(ddb, data={"a": 1})
    before = stored(ddb)
    with pytest.raises(VersionMismatch) as raised:
        store.write(USER, TENANT, {"a": 2}, expected_version=1)
    assert raised.value.current_version == 0 and stored(ddb) == before
    assert store.write(USER, TENANT, {"a": 2}, expected_version=0) == 1


def test_write_conditions_on_the_expected_version(store, ddb):
    put_profile(ddb, data={"a": 1}, dataVersion=2)
    before = stored(ddb)
    with pytest.raises(VersionMismatch) as raised:
        store.write(USER, TENANT, {"a": 2}, expected_version=1)
    assert raised.value.current_version == 2 and stored(ddb) == before
    assert store.write(USER, TENANT, {"a": 2}, expected_version=2) == 3
    assert store.write(USER, TENANT, {"a": 3}) == 4  # no expectation: whatever the version


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("if_match", [None, '"v7"', '"v1"'])
def test_another_tenants_user_looks_exactly_like_a_missing_one(store, ddb, replace, if_match):
    put_profile(ddb, tenant_id=OTHER_TENANT, data={"secret": 1}, dataVersion=7)
    before = stored(ddb)
    with pytest.raises(UserNotFound):  # not VersionMismatch, whatever the version: that would tell it exists
        store.apply(USER, TENANT, {"a": 1}, replace=replace, if_match=if_match)
    with pytest.raises(UserNotFound):
        store.apply("nobody", TENANT, {"a": 1}, replace=replace, if_match=if_match)
    assert stored(ddb) == before
    assert stored(ddb, "nobody") is None  # the failed write created no item


@pytest.mark.parametrize("expected_version", [None, 7, 1])
def test_write_tells_another_tenant_from_a_version_mismatch(store, ddb, expected_version):
    put_profile(ddb, tenant_id=OTHER_TENANT, data={"secret": 1}, dataVersion=7)
    with pytest.raises(UserNotFound):
        store.write(USER, TENANT, {"a": 1}, expected_version)
    with pytest.raises(UserNotFound):
        store.write("nobody", TENANT, {"a": 1}, expected_version)
    assert stored(ddb, "nobody") is None


@pytest.mark.parametrize(
    ("document", "replace", "error", "field"),
    [
        (["not", "an", "object"], True, InvalidData, "body"),
        (["not", "an", "object"], False, InvalidData, "body"),  # a non-object patch replaces the whole blob
        (None, False, InvalidData, "body"),
        (nested(MAX_DEPTH + 1), False, InvalidData, ".".join(["a"] * MAX_DEPTH)),
        (nested(MAX_DEPTH + 1), True, InvalidData, ".".join(["a"] * MAX_DEPTH)),
        ({"a": {"b": float("nan")}}, False, InvalidData, "a.b"),
        ({"big": "x" * MAX_DATA_BYTES}, False, DataTooLarge, "body"),
        ({"big": "x" * MAX_DATA_BYTES}, True, DataTooLarge, "body"),
    ],
)
def test_a_request_whose_result_is_not_storable_writes_nothing(store, ddb, document, replace, error, field):
    put_profile(ddb, data={"a": 1}, dataVersion=1)
    before = stored(ddb)
    with pytest.raises(error) as raised:
        store.apply(USER, TENANT, document, replace=replace)
    assert raised.value.field == field
    assert stored(ddb) == before


class NoCalls:
    """A DynamoDB client that must not be used."""

    def __getattr__(self, name):
        raise AssertionError(f"unexpected call to {name}")


def test_a_patch_nested_too_deep_is_refused_before_anything_is_read_or_merged():
    store = ProfileDataStore(TABLE, NoCalls())  # type: ignore[arg-type]
    with pytest.raises(InvalidData) as raised:  # not a RecursionError of the merge
        store.apply(USER, TENANT, nested(5000), replace=False)
    assert raised.value.field == ".".join(["a"] * MAX_DEPTH)


def test_an_invalid_if_match_is_refused_before_anything_is_read():
    with pytest.raises(InvalidData) as raised:
        ProfileDataStore(TABLE, NoCalls()).apply(USER, TENANT, {"a": 1}, replace=False, if_match="v1")  # type: ignore[arg-type]
    assert raised.value.field == "If-Match"


def test_concurrent_patches_without_if_match_are_both_kept(ddb):
    put_profile(ddb, data={"theme": "dark"}, dataVersion=1)
    other = ProfileDataStore(TABLE, ddb)
    racing = ProfileDataStore(TABLE, Interleaved(ddb, lambda: other.apply(USER, TENANT, {"b": 2}, replace=False)))  # type: ignore[arg-type]
    # When A reads v1, B writes v2 meanwhile, A's write conditioned on v1 fails
    data, etag = racing.apply(USER, TENANT, {"a": 1}, replace=False)
    # Then A merged again onto B's data: both changes are kept
    assert (data, etag) == ({"theme": "dark", "a": 1, "b": 2}, '"v3"')
    assert stored(ddb)["data"] == {"theme": "dark", "a": 1, "b": 2} and stored(ddb)["dataVersion"] == 3


def test_a_concurrent_write_under_if_match_is_a_version_mismatch(ddb):
    put_profile(ddb, data={"theme": "dark"}, dataVersion=1)
    other = ProfileDataStore(TABLE, ddb)
    racing = ProfileDataStore(TABLE, Interleaved(ddb, lambda: other.apply(USER, TENANT, {"b": 2}, replace=False)))  # type: ignore[arg-type]
    with pytest.raises(VersionMismatch) as raised:
        racing.apply(USER, TENANT, {"a": 1}, replace=False, if_match='"v1"')
    assert raised.value.current_version == 2
    assert stored(ddb)["data"] == {"theme": "dark", "b": 2}  # only the other request's change


def test_a_patch_that_loses_every_race_gives_up_with_a_version_mismatch(ddb):
    put_profile(ddb, data={}, dataVersion=1)
    other = ProfileDataStore(TABLE, ddb)
    writes = [lambda n=n: other.apply(USER, TENANT, {f"b{n}": n}, replace=False) for n in range(2)]
    racing = ProfileDataStore(TABLE, Interleaved(ddb, *writes), attempts=2)  # type: ignore[arg-type]
    with pytest.raises(VersionMismatch):
        racing.apply(USER, TENANT, {"a": 1}, replace=False)
    assert stored(ddb)["data"] == {"b0": 0, "b1": 1} and stored(ddb)["dataVersion"] == 3
