"""The authorizer's verdict, enforced by the API function before any route runs: a request the authorizer
could not verify gets 401 with the reason, in the API's error shape, and no route reads anything for it."""

from __future__ import annotations

import json

import pytest

from helpers import api_event
from tenantry.api.app import Dependencies, build_resolver
from tenantry.api.authorizer import authorize
from tenantry.api_keys import ApiKeyStore
from tenantry.tokens import TokenRejected


def event(method, path, context):
    return api_event(method, path, context)


@pytest.fixture
def reads():
    return []


@pytest.fixture
def api(reads):
    def profiles(user_id):
        reads.append(user_id)

    return build_resolver(Dependencies(profiles=profiles, api_keys=lambda: ApiKeyStore("unused", None)))


def rejecting(reason):
    def verify(token):
        raise TokenRejected(reason, "refused by the test")

    return verify


@pytest.mark.parametrize(
    ("headers", "verify", "code"),
    [
        pytest.param({}, rejecting("EXPIRED"), "NO_CREDENTIALS", id="no-credentials"),
        pytest.param({"authorization": "Basic eDp5"}, rejecting("EXPIRED"), "MALFORMED_AUTHORIZATION", id="not-bearer"),
        pytest.param({"authorization": "Bearer t"}, rejecting("EXPIRED"), "TOKEN_EXPIRED", id="expired"),
        pytest.param({"authorization": "Bearer t"}, rejecting("REVOKED"), "TOKEN_REVOKED", id="revoked"),
        pytest.param({"authorization": "Bearer t"}, rejecting("BAD_SIGNATURE"), "TOKEN_BAD_SIGNATURE", id="forged"),
    ],
)
def test_an_unverified_request_is_401_with_its_reason_and_no_route_runs(api, reads, headers, verify, code):
    # Given what the authorizer answers for the request
    verdict = authorize({"headers": headers}, verify)
    assert verdict["isAuthorized"] is True  # on to the function: API Gateway's own 403 has no reason or shape
    # When the API function gets it
    response = api.resolve(event("GET", "/me", verdict["context"]), None)
    # Then 401 in the error shape with the reason, and the route never ran
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == code
    assert reads == []


def test_a_public_route_without_an_authorizer_is_not_refused(api):
    no_authorizer = event("GET", "/openapi.json", None)
    assert api.resolve(no_authorizer, None)["statusCode"] == 200


def test_an_oversized_body_is_413_naming_the_body_before_any_route_runs(api, reads):
    from tenantry.api.app import MAX_BODY_CHARACTERS

    request = event("POST", "/users", {"kind": "user", "tenantId": "t", "userId": "u", "role": "Admin"})
    request["headers"]["content-type"] = "application/json"
    request["body"] = json.dumps({"email": "a@b.example", "name": "x" * MAX_BODY_CHARACTERS, "role": "Member"})
    response = api.resolve(request, None)
    assert response["statusCode"] == 413
    assert json.loads(response["body"])["error"] == {
        "code": "PAYLOAD_TOO_LARGE",
        "message": f"the request body is longer than {MAX_BODY_CHARACTERS} characters",
        "field": "body",
    }
