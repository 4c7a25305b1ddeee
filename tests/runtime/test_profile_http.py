"""Profile data blobs, badges and avatars over HTTP on the local runtime: RFC 7396 merges with ETags and
If-Match, the size and shape limits, the badge catalogue from its S3 bucket with idempotent issue and revoke,
and avatar uploads that S3 itself holds to the upload form's policy."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tenantry.api_keys import ApiKeyStore

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def people(tenantry, tenant):
    found = {}
    for role in ("Admin", "Member"):
        user = tenantry.active_user(tenant, role)
        found[role] = {**user, "headers": tenantry.bearer(user)}
    return found


@pytest.fixture(scope="module")
def keys(tenantry, tenant, people):
    store = ApiKeyStore(tenantry.outputs["TableName"], tenantry.ddb)
    made = {}
    for scopes in (("users:write",), ("badges:write",), ("users:read",)):
        _, key = store.create(tenant["tenantId"], people["Admin"]["userId"], "profile tests", list(scopes), 1)
        made[scopes[0]] = {"X-Api-Key": key}
    return made


@pytest.fixture(scope="module")
def stranger(tenantry):
    return tenantry.active_user(tenantry.onboarded("shared"))


def me(api, headers):
    return requests.get(f"{api}/me", headers=headers, timeout=15).json()


# ------------------------------------------------------------------------------------- data blobs
def test_a_user_merges_into_their_own_data_and_if_match_guards_each_write(api, people):
    headers = people["Member"]["headers"]
    first = requests.patch(f"{api}/me/data", json={"theme": "dark", "lang": "en", "ui": {"a": 1}}, headers=headers, timeout=15)
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == first.json()["etag"]
    second = requests.patch(
        f"{api}/me/data",
        json={"lang": None, "ui": {"b": 2}},
        headers=headers | {"If-Match": first.headers["ETag"]},
        timeout=15,
    )
    assert second.status_code == 200, second.text
    assert second.json()["data"] == {"theme": "dark", "ui": {"a": 1, "b": 2}}
    profile = me(api, headers)
    assert profile["data"] == second.json()["data"] and profile["dataEtag"] == second.headers["ETag"]

    stale = requests.patch(
        f"{api}/me/data", json={"theme": "light"}, headers=headers | {"If-Match": first.headers["ETag"]}, timeout=15
    )
    assert stale.status_code == 412 and stale.json()["error"]["field"] == "If-Match", stale.text
    assert me(api, headers)["data"]["theme"] == "dark"  # nothing written


def test_bad_blobs_are_refused_naming_the_field_and_nothing_is_written(api, people):
    headers = people["Member"]["headers"]
    before = me(api, headers)
    cases = {
        "not an object": ([1, 2], 400, "body"),
        "too deep": ({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}, 400, "a.b.c.d.e.f.g.h"),
        "too large": ({"blob": "x" * 16_000, "more": "y" * 500}, 413, "body"),
        "bad etag": ({"x": 1}, 400, "If-Match"),
    }
    for what, (body, status, field) in cases.items():
        extra = {"If-Match": "nonsense"} if what == "bad etag" else {}
        answer = requests.patch(f"{api}/me/data", json=body, headers=headers | extra, timeout=15)
        assert answer.status_code == status, (what, answer.text)
        assert answer.json()["error"]["field"] == field, (what, answer.text)
    assert me(api, headers)["dataEtag"] == before["dataEtag"]


def test_two_writers_without_if_match_both_keep_their_change(api, people):
    user_id = people["Member"]["userId"]
    headers = people["Admin"]["headers"]
    answers = []

    def write(n):
        answers.append(requests.patch(f"{api}/users/{user_id}/data", json={f"writer{n}": n}, headers=headers, timeout=30))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    data = me(api, people["Member"]["headers"])["data"]
    assert {f"writer{n}": n for n in range(4)}.items() <= data.items()


def test_admins_and_keys_write_a_users_data_and_nobody_reaches_another_tenant(api, people, keys, stranger):
    user_id = people["Member"]["userId"]
    replaced = requests.put(f"{api}/users/{user_id}/data", json={"plan": "gold"}, headers=keys["users:write"], timeout=15)
    assert replaced.status_code == 200 and replaced.json()["data"] == {"plan": "gold"}, replaced.text
    merged = requests.patch(f"{api}/users/{user_id}/data", json={"seats": 3}, headers=people["Admin"]["headers"], timeout=15)
    assert merged.json()["data"] == {"plan": "gold", "seats": 3}, merged.text
    for headers, status in ((people["Member"]["headers"], 403), (keys["users:read"], 403)):
        assert requests.put(f"{api}/users/{user_id}/data", json={}, headers=headers, timeout=15).status_code == status
    other = requests.put(f"{api}/users/{stranger['userId']}/data", json={"x": 1}, headers=people["Admin"]["headers"], timeout=15)
    assert other.status_code == 404, other.text


# ------------------------------------------------------------------------------------- badges
def test_the_catalogue_lists_badges_with_icons_readable_through_short_lived_urls(api, people, keys):
    answer = requests.get(f"{api}/badges", headers=people["Member"]["headers"], timeout=15)
    assert answer.status_code == 200, answer.text
    badges = {b["name"]: b for b in answer.json()["badges"]}
    assert "NEW_MEMBER" in badges and badges["NEW_MEMBER"]["description"]
    icon = requests.get(badges["NEW_MEMBER"]["iconUrl"], timeout=15)
    assert icon.status_code == 200 and b"<svg" in icon.content
    assert requests.get(f"{api}/badges", headers=keys["badges:write"], timeout=15).status_code == 200
    assert requests.get(f"{api}/badges", headers=keys["users:read"], timeout=15).status_code == 403


def test_issuing_and_revoking_a_badge_is_idempotent_and_announced_once(tenantry, outbound, api, people, keys):
    user_id = people["Member"]["userId"]
    url = f"{api}/users/{user_id}/badges/EARLY_ADOPTER"
    outbound.drain()
    first = requests.post(url, headers=people["Admin"]["headers"], timeout=15)
    again = requests.post(url, headers=keys["badges:write"], timeout=15)
    assert (first.status_code, first.json()["changed"], again.json()["changed"]) == (200, True, False), (first.text, again.text)
    assert "EARLY_ADOPTER" in me(api, people["Member"]["headers"])["badges"]
    revoked = requests.delete(url, headers=people["Admin"]["headers"], timeout=15)
    revoked_again = requests.delete(url, headers=people["Admin"]["headers"], timeout=15)
    assert (revoked.json()["changed"], revoked_again.json()["changed"]) == (True, False)
    revocations = outbound.wait_for("BadgeRevoked", userId=user_id, badge="EARLY_ADOPTER")
    assert len(revocations) == 1 and len(outbound.matching("BadgeIssued", userId=user_id, badge="EARLY_ADOPTER")) == 1


def test_badge_writes_are_refused_outside_the_rules(api, people, keys, stranger):
    user_id = people["Member"]["userId"]
    cases = [
        (f"{api}/users/{user_id}/badges/NO_SUCH_BADGE", people["Admin"]["headers"], 404),
        (f"{api}/users/{user_id}/badges/lower-case", people["Admin"]["headers"], 400),
        (f"{api}/users/{user_id}/badges/EARLY_ADOPTER", people["Member"]["headers"], 403),
        (f"{api}/users/{user_id}/badges/EARLY_ADOPTER", keys["users:write"], 403),
        (f"{api}/users/{stranger['userId']}/badges/EARLY_ADOPTER", people["Admin"]["headers"], 404),
    ]
    for url, headers, status in cases:
        answer = requests.post(url, headers=headers, timeout=15)
        assert answer.status_code == status, (url, answer.text)


# ------------------------------------------------------------------------------------- avatars
def upload(form, content, content_type):
    """As a browser posts the form: its fields (the object's Content-Type among them), then the file."""
    files = {"file": ("avatar", content, content_type)}
    return requests.post(form["url"], data=form["fields"] | {"Content-Type": content_type}, files=files, timeout=15)


def test_an_avatar_uploaded_with_the_form_shows_on_the_profile(tenantry, api, people):
    headers = people["Member"]["headers"]
    form = requests.post(f"{api}/me/avatar", json={"contentType": "image/png"}, headers=headers, timeout=15)
    assert form.status_code == 200, form.text
    assert form.json()["key"].startswith(f"avatars/{people['Member']['tenantId']}/{people['Member']['userId']}/")
    uploaded = upload(form.json(), PNG, "image/png")
    assert uploaded.status_code == 204, uploaded.text
    deadline = time.monotonic() + 15
    while (url := me(api, headers).get("avatarUrl")) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert url is not None, "the profile never pointed at the upload"
    assert requests.get(url, timeout=15).content == PNG


def test_the_upload_policy_refuses_another_type_a_larger_file_and_svg(tenantry, api, people):
    headers = people["Member"]["headers"]
    form = requests.post(f"{api}/me/avatar", json={"contentType": "image/png"}, headers=headers, timeout=15).json()
    wrong_type = upload(form, PNG, "image/jpeg")
    too_large = upload(form, b"\x00" * (1024 * 1024 + 1), "image/png")
    assert wrong_type.status_code == 403 and b"Invalid according to Policy" in wrong_type.content, wrong_type.text
    assert too_large.status_code == 400 and b"EntityTooLarge" in too_large.content, too_large.text
    svg = requests.post(f"{api}/me/avatar", json={"contentType": "image/svg+xml"}, headers=headers, timeout=15)
    assert svg.status_code == 400 and svg.json()["error"]["field"] == "contentType", svg.text
    bucket = form["url"].rstrip("/").rsplit("/", 1)[-1]
    listed = tenantry.aws("s3").list_objects_v2(Bucket=bucket, Prefix=form["key"])
    assert listed.get("KeyCount", 0) == 0  # nothing was stored
