"""docs/openapi.json is exactly the document the Identity API's routes generate (regenerated in memory here):
change a route or a model, then run `make openapi`."""

from __future__ import annotations

import json

from helpers import ROOT
from tenantry.api.app import generated_openapi_json

CHECKED_IN = ROOT / "docs" / "openapi.json"


def test_the_checked_in_openapi_document_matches_the_routes():
    assert CHECKED_IN.exists(), "docs/openapi.json is missing: run `make openapi`"
    assert CHECKED_IN.read_text(encoding="utf-8") == generated_openapi_json(), "docs/openapi.json differs: run `make openapi`"


def test_every_documented_error_is_in_the_error_shape():
    document = json.loads(generated_openapi_json())
    assert document["paths"], "no route documented"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, f"{method.upper()} {path} {status}"


def test_every_api_route_of_the_template_is_documented_and_served():
    from tenantry_local.template import load_template

    resources = load_template(ROOT / "template.yaml")["Resources"]
    routes = {
        (event["Properties"]["Method"].lower(), event["Properties"]["Path"])
        for resource in resources.values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in (resource["Properties"].get("Events") or {}).values()
        if event["Type"] == "HttpApi"
    }
    documented = {
        (method, path) for path, operations in json.loads(generated_openapi_json())["paths"].items() for method in operations
    }
    assert routes - {("get", "/openapi.json")} == documented
