"""HTTP APIs of a template, served by the local runtime as API Gateway serves them: a small SAM stack
(tests/fixtures/http_api) provisioned beside Tenantry's, driven over HTTP."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from helpers import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "http_api"


@pytest.fixture(scope="module")
def api(runtime):
    from tenantry_local.provisioner import Provisioner
    from tenantry_local.template import Resolver, load_template, parameter_values

    template = load_template(FIXTURE / "template.yaml")
    resolver = Resolver("test-http", parameter_values(template))
    provisioned = Provisioner(
        FIXTURE, "test-http", resolver, runtime.client, runtime.lambdas, runtime.logs, runtime.http_apis
    ).provision(template)
    return provisioned.outputs["ApiUrl"]


def authorizer_calls(runtime):
    return runtime.lambdas.invocations["test-http-AuthorizerFunction"]


def test_the_api_url_output_points_at_the_local_endpoint(runtime, api):
    assert api.startswith(f"{runtime.endpoint}/_apis/")
    answer = requests.get(f"{api}/public", timeout=10)
    # A plain object from the function becomes a 200 with its JSON (payload format 2.0)
    assert answer.status_code == 200
    assert answer.json() == {"hello": "world"}
    assert answer.headers["Content-Type"] == "application/json"


def test_the_function_gets_a_payload_2_event_with_the_authorizer_context(runtime, api):
    answer = requests.get(
        f"{api}/echo/42?a=1&a=2&b=",
        headers={"Authorization": "Bearer good", "X-Custom": "x", "Cookie": "c1=1; c2=2"},
        timeout=10,
    )
    assert answer.status_code == 201 and answer.headers["X-Echo"] == "yes"
    event = answer.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /echo/{id}"
    assert event["rawPath"] == "/echo/42" and event["rawQueryString"] == "a=1&a=2&b="
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"]["x-custom"] == "x" and "cookie" not in event["headers"]
    assert event["cookies"] == ["c1=1", "c2=2"]
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["routeKey"] == "GET /echo/{id}" and event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["authorizer"] == {"lambda": {"tenantId": "t-1", "identitySource": ["Bearer good"]}}
    assert event["isBase64Encoded"] is False and "body" not in event


def test_bodies_pass_as_text_or_base64(api):
    text = requests.post(f"{api}/echo", headers={"Authorization": "Bearer good"}, json={"x": 1}, timeout=10).json()
    assert text["body"] == '{"x": 1}' and text["isBase64Encoded"] is False
    binary = requests.post(
        f"{api}/echo",
        headers={"Authorization": "Bearer good", "Content-Type": "image/png"},
        data=b"\x89PNG\x00\x01",
        timeout=10,
    ).json()
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x89PNG\x00\x01"


def test_a_greedy_path_variable_takes_the_rest_of_the_path(api):
    event = requests.delete(f"{api}/files/a/b/c.txt", headers={"Authorization": "Bearer good"}, timeout=10).json()
    assert event["routeKey"] == "ANY /files/{proxy+}" and event["pathParameters"] == {"proxy": "a/b/c.txt"}


def test_a_missing_identity_source_is_401_without_calling_the_authorizer(runtime, api):
    before = authorizer_calls(runtime)
    answer = requests.get(f"{api}/echo/1", timeout=10)
    assert (answer.status_code, answer.json()) == (401, {"message": "Unauthorized"})
    assert authorizer_calls(runtime) == before


def test_a_refusal_is_403_and_a_broken_authorizer_500(api):
    refused = requests.get(f"{api}/echo/1", headers={"Authorization": "Bearer bad"}, timeout=10)
    assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})
    broken = requests.get(f"{api}/echo/1", headers={"Authorization": "Bearer boom"}, timeout=10)
    assert (broken.status_code, broken.json()) == (500, {"message": "Internal Server Error"})


def test_without_a_cache_every_request_is_authorized_again(runtime, api):
    before = authorizer_calls(runtime)
    for _ in range(3):
        assert requests.get(f"{api}/echo/1", headers={"Authorization": "Bearer good"}, timeout=10).status_code == 201
    assert authorizer_calls(runtime) == before + 3


def test_an_unknown_route_is_404(api):
    answer = requests.get(f"{api}/nowhere", headers={"Authorization": "Bearer good"}, timeout=10)
    assert (answer.status_code, answer.json()) == (404, {"message": "Not Found"})
    assert requests.get(f"{api}/echo", headers={"Authorization": "Bearer good"}, timeout=10).status_code == 404


def test_cors_as_configured(runtime, api):
    before = authorizer_calls(runtime)
    preflight = requests.options(
        f"{api}/echo/1",
        headers={"Origin": "https://admin.example.com", "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert preflight.headers["Access-Control-Max-Age"] == "600"
    assert authorizer_calls(runtime) == before  # a preflight never reaches the authorizer
    stranger = requests.options(
        f"{api}/echo/1", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, timeout=10
    )
    assert "Access-Control-Allow-Origin" not in stranger.headers
    simple = requests.get(f"{api}/public", headers={"Origin": "https://app.example.com"}, timeout=10)
    assert simple.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in requests.get(f"{api}/public", timeout=10).headers
    assert json.loads(simple.text) == {"hello": "world"}
