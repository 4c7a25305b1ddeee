"""Route selection of the local runtime's HTTP APIs, as API Gateway selects: the most specific route wins."""

from __future__ import annotations

from tenantry_local.http_apis import HttpApi

URI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:{}/invocations"


def operation(function):
    return {"x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": URI.format(function), "payloadFormatVersion": "2.0"}}


API = HttpApi.from_openapi(
    "api",
    {
        "paths": {
            "$default": {"x-amazon-apigateway-any-method": operation("fallback")},
            "/files/{proxy+}": {"x-amazon-apigateway-any-method": operation("greedy")},
            "/files/{name}": {"get": operation("one-file")},
            "/files/readme": {"get": operation("readme"), "x-amazon-apigateway-any-method": operation("any-readme")},
        }
    },
)


def chosen(method, path):
    route, parameters = API.route_for(method, path)
    return route.function_arn.rsplit(":", 1)[-1], parameters


def test_literal_beats_variable_beats_greedy_beats_default():
    assert chosen("GET", "/files/readme") == ("readme", {})
    assert chosen("POST", "/files/readme") == ("any-readme", {})
    assert chosen("GET", "/files/a.txt") == ("one-file", {"name": "a.txt"})
    assert chosen("GET", "/files/a/b") == ("greedy", {"proxy": "a/b"})
    assert chosen("DELETE", "/elsewhere") == ("fallback", {})
