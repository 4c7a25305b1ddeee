"""Static checks of template.yaml and the state machine definitions: what must hold before anything runs."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from helpers import ROOT
from tenantry_local.lambda_worker import load_handler
from tenantry_local.provisioner import definition_document
from tenantry_local.sam import local_path, to_cloudformation
from tenantry_local.template import load_template, parameter_values

TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
# What deploys: the template as the AWS::Serverless transform expands it (Globals merged, roles, event sources)
DEPLOYED = to_cloudformation(TEMPLATE, parameter_values(TEMPLATE))["Resources"]
PROTECTED_ATTRIBUTES = {"custom:tenant_id", "custom:mfa_required"}


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == kind}


FUNCTIONS = {k: v for k, v in DEPLOYED.items() if v["Type"] == "AWS::Lambda::Function"}
STATE_MACHINES = of_type("AWS::Serverless::StateMachine")


# ------------------------------------------------------------------------------------- handlers
@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_handler_imports_with_its_template_environment(logical_id, monkeypatch):
    properties = FUNCTIONS[logical_id]["Properties"]
    parameters = parameter_values(TEMPLATE)
    for name, declared in (properties.get("Environment", {}).get("Variables") or {}).items():
        value = str(parameters[declared["Ref"]]) if isinstance(declared, dict) and declared.get("Ref") in parameters else declared
        monkeypatch.setenv(name, value if isinstance(value, str) else f"placeholder-for-{name}")
    handler = load_handler(str(ROOT / str(local_path(properties["Code"]))), properties["Handler"])
    assert callable(handler)


# ------------------------------------------------------------------------------------- definitions
def definition(machine: dict[str, Any]) -> dict[str, Any]:
    return definition_document(ROOT / machine["Properties"]["DefinitionUri"])


@pytest.mark.parametrize("logical_id", sorted(STATE_MACHINES))
def test_every_definition_substitution_is_resolved_and_used(logical_id):
    machine = STATE_MACHINES[logical_id]
    text = (ROOT / machine["Properties"]["DefinitionUri"]).read_text()
    used = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))
    declared = set(machine["Properties"].get("DefinitionSubstitutions", {}))
    assert used - declared == set(), f"{logical_id} uses undeclared substitutions"
    assert declared - used == set(), f"{logical_id} declares unused substitutions"


def tasks(states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, state in states.items():
        if state["Type"] == "Task":
            found.append((name, state))
        for branch in state.get("Branches", []):
            found += tasks(branch["States"])
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            found += tasks(processor["States"])
    return found


def required_permissions(state: dict[str, Any], substitutions: dict[str, Any]) -> list[tuple[str, Any]]:
    """(IAM action, resource the statement must name, or None for any) for one Task state."""
    resource: str = state["Resource"].removesuffix(".waitForTaskToken").removesuffix(".sync:2").removesuffix(".sync")
    parameters = state.get("Parameters", {})

    def logical(value: str) -> Any:
        match = re.fullmatch(r"\$\{([A-Za-z0-9_]+)\}", value)
        return substitutions[match.group(1)] if match else value

    if resource == "arn:aws:states:::lambda:invoke":
        return [("lambda:InvokeFunction", logical(parameters["FunctionName"]))]
    if resource.startswith("arn:aws:states:::dynamodb:"):
        action = resource.rsplit(":", 1)[-1]
        return [(f"dynamodb:{action[0].upper()}{action[1:]}", {"Fn::GetAtt": ["TenantryTable", "Arn"]})]
    if resource == "arn:aws:states:::events:putEvents":
        return [("events:PutEvents", {"Fn::GetAtt": ["EventBus", "Arn"]})]
    if resource == "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems":
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
        return [
            (f"dynamodb:{kinds[next(iter(item))]}", {"Fn::GetAtt": ["TenantryTable", "Arn"]})
            for item in parameters["TransactItems"]
        ]
    if resource in ("arn:aws:states:::states:startExecution", "arn:aws:states:::aws-sdk:sfn:startExecution"):
        return [("states:StartExecution", logical(parameters["StateMachineArn"]))]
    if resource.startswith("arn:aws:states:::aws-sdk:cognitoidentityprovider:"):
        action = resource.rsplit(":", 1)[-1]
        return [(f"cognito-idp:{action[0].upper()}{action[1:]}", None)]
    raise AssertionError(f"no IAM mapping for task resource {resource}: add one to this test")


def allowed(policies: list[Any], action: str, resource: Any) -> bool:
    for policy in policies:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if not any(re.fullmatch(a.replace("*", ".*"), action) for a in actions):
                continue
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if resource is None or resource in resources or "*" in resources:
                return True
    return False


def missing_permissions(machine: dict[str, Any]) -> list[str]:
    substitutions = machine["Properties"]["DefinitionSubstitutions"]
    policies = machine["Properties"].get("Policies", [])
    missing = []
    for name, state in tasks(definition(machine)["States"]):
        for action, resource in required_permissions(state, substitutions):
            if not allowed(policies, action, resource):
                missing.append(f"{name}: {action} on {resource}")
    return missing


@pytest.mark.parametrize("logical_id", sorted(STATE_MACHINES))
def test_every_task_is_allowed_by_its_state_machine_policy(logical_id):
    assert missing_permissions(STATE_MACHINES[logical_id]) == []


def test_the_policy_check_catches_a_missing_permission():
    machine = copy.deepcopy(STATE_MACHINES["TenantOnboardingStateMachine"])
    for statement in machine["Properties"]["Policies"][0]["Statement"]:
        if isinstance(statement["Action"], list) and "cognito-idp:AdminAddUserToGroup" in statement["Action"]:
            statement["Action"].remove("cognito-idp:AdminAddUserToGroup")
    assert missing_permissions(machine) == ["AddAdminToGroup: cognito-idp:AdminAddUserToGroup on None"]


def test_cognito_retries_cover_throttling_on_every_cognito_task():
    for machine in STATE_MACHINES.values():
        for name, state in tasks(definition(machine)["States"]):
            if ":cognitoidentityprovider:" in state["Resource"]:
                errors = {e for retry in state.get("Retry", []) for e in retry["ErrorEquals"]}
                assert "CognitoIdentityProvider.TooManyRequestsException" in errors, name


# ------------------------------------------------------------------------------------- protected attributes
def app_client_write_attributes() -> dict[str, Any]:
    clients = {k: v["Properties"].get("WriteAttributes") for k, v in of_type("AWS::Cognito::UserPoolClient").items()}
    for logical_id, machine in STATE_MACHINES.items():
        for name, state in tasks(definition(machine)["States"]):
            if state["Resource"].endswith(":createUserPoolClient"):
                clients[f"{logical_id}/{name}"] = state["Parameters"].get("WriteAttributes")
    return clients


def test_no_app_client_can_write_a_protected_attribute():
    clients = app_client_write_attributes()
    assert len(clients) >= 2  # the shared pool's client and the one onboarding creates
    for where, writable in clients.items():
        # Without WriteAttributes, Cognito lets a client write every writable attribute.
        assert writable is not None, f"{where} sets no WriteAttributes"
        assert not PROTECTED_ATTRIBUTES & set(writable), where


def test_every_pool_is_admin_create_only_with_tenantrys_triggers():
    for logical_id, pool in of_type("AWS::Cognito::UserPool").items():
        assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True, logical_id
    for machine in STATE_MACHINES.values():
        for _, state in tasks(definition(machine)["States"]):
            if state["Resource"].endswith(":createUserPool"):
                parameters = state["Parameters"]
                assert parameters["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
                assert set(parameters["LambdaConfig"]) == set(RESOURCES["SharedUserPool"]["Properties"]["LambdaConfig"])


# ------------------------------------------------------------------------------------- schemas
def test_every_schema_is_a_valid_json_schema_and_every_sample_matches():
    import jsonschema

    for path in sorted((ROOT / "schemas" / "events").glob("*.json")):
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["title"] == path.stem
    samples = sorted((ROOT / "schemas" / "samples").glob("*.json"))
    assert samples
    for sample in samples:
        detail_type = sample.stem.split(".")[0]
        from tenantry import schemas

        schemas.check(detail_type, json.loads(sample.read_text()))


def test_the_layer_build_ships_the_package_and_the_schemas():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("build-SharedLayer:", 1)[1].split("\n\n", 1)[0]
    assert "src/tenantry" in recipe and "schemas/events" in recipe and "layers/shared/requirements.txt" in recipe
    assert Path(ROOT / "layers/shared/requirements.txt").read_text().count("==") >= 2


def test_the_template_has_no_circular_dependency():
    from tenantry_local.template import creation_order

    order = creation_order(DEPLOYED)
    assert set(order) == set(DEPLOYED)


# ------------------------------------------------------------------------------------- function policies
Call = tuple[str, Any, Any]  # (IAM action, table name, partition key value)


class RecordingClient:
    """A boto3 client stand-in: records each call as a `Call` and answers from `answer`."""

    def __init__(self, service: str, answer: Any, calls: list[Call]):
        self.meta = type("Meta", (), {"region_name": "us-east-1"})()
        self._prefix, self._answer, self._calls = {"dynamodb": "dynamodb", "cognito-idp": "cognito-idp"}[service], answer, calls

    def __getattr__(self, operation: str) -> Any:
        def call(**parameters: Any) -> Any:
            leading_key = (parameters.get("Key") or {}).get("PK", {}).get("S")
            self._calls.append((f"{self._prefix}:{operation.title().replace('_', '')}", parameters.get("TableName"), leading_key))
            return self._answer(operation, parameters)

        return call


def calls_of_handler(logical_id: str, event: dict[str, Any], answer: Any, monkeypatch: Any) -> list[Call]:
    """Load a function's handler with its template environment and every AWS client recorded; invoke it once."""
    import tenantry.adapters

    calls: list[Call] = []
    monkeypatch.setattr(tenantry.adapters, "_cached_client", lambda service: RecordingClient(service, answer, calls))
    properties, parameters = FUNCTIONS[logical_id]["Properties"], parameter_values(TEMPLATE)
    for name, declared in (properties.get("Environment", {}).get("Variables") or {}).items():
        if isinstance(declared, dict) and declared.get("Ref") in parameters:
            monkeypatch.setenv(name, str(parameters[declared["Ref"]]))
        else:  # a resource: TABLE_NAME is "table-of-TenantryTable"
            monkeypatch.setenv(name, f"table-of-{declared['Ref']}" if isinstance(declared, dict) else str(declared))
    handler = load_handler(str(ROOT / str(local_path(properties["Code"]))), properties["Handler"])
    context = type(
        "Context",
        (),
        {
            "function_name": logical_id,
            "memory_limit_in_mb": 256,
            "aws_request_id": "r-1",
            "invoked_function_arn": f"arn:aws:lambda:us-east-1:123456789012:function:{logical_id}",
        },
    )()
    handler(event, context)
    return calls


def leading_keys_allow(policies: list[Any], action: str, leading_key: Any) -> bool:
    """Whether a statement allowing `action` also allows this partition key (its `dynamodb:LeadingKeys`
    condition, when it has one)."""
    from fnmatch import fnmatchcase

    for policy in policies:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if statement.get("Effect") != "Allow" or action not in actions:
                continue
            patterns = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
            if patterns is None or (leading_key is not None and any(fnmatchcase(leading_key, p) for p in patterns)):
                return True
    return False


def missing_function_permissions(logical_id: str, calls: list[Call]) -> list[str]:
    """Each recorded call against the function's policies in the template (a table named `table-of-<id>` is
    that table's ARN), partition key included."""
    policies = RESOURCES[logical_id]["Properties"].get("Policies", [])
    missing = []
    for action, table, leading_key in sorted(set(calls), key=str):
        resource = {"Fn::GetAtt": [table.removeprefix("table-of-"), "Arn"]} if table else None
        if not allowed(policies, action, resource):
            missing.append(f"{action} on {resource}")
        elif table and not leading_keys_allow(policies, action, leading_key):
            missing.append(f"{action} on key {leading_key}")
    return missing


def signed_access_token(monkeypatch: Any) -> str:
    """An access token of a pool whose JWKS the authorizer is served (urllib patched), signed with a fresh key."""
    import time
    import urllib.request

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "k1", "alg": "RS256", "use": "sig"}
    jwks = json.dumps({"keys": [public]}).encode()

    class Answer:
        def __enter__(self) -> Any:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def read(self) -> bytes:
            return jwks

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Answer())
    now = int(time.time())
    claims = {
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool",
        "sub": "user-1",
        "tenant_id": "t-1",
        "client_id": "client-1",
        "token_use": "access",
        "iat": now,
        "exp": now + 300,
        "username": "ada",
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_the_authorizers_calls_are_allowed_by_its_policy(monkeypatch):
    token = signed_access_token(monkeypatch)

    def answer(operation: str, parameters: dict[str, Any]) -> dict[str, Any]:
        if parameters["Key"]["PK"]["S"].startswith("POOL#"):  # the pool is registered for the token's tenant
            return {"Item": {"tenantId": {"S": "t-1"}, "clientId": {"S": "client-1"}}}
        return {}

    event = {"version": "2.0", "type": "REQUEST", "headers": {"authorization": f"Bearer {token}"}, "requestContext": {}}
    calls = calls_of_handler("AuthorizerFunction", event, answer, monkeypatch)
    assert len(calls) == 2  # the pool registration and the user's revocation time: the whole verification ran
    assert missing_function_permissions("AuthorizerFunction", calls) == []


def test_the_identity_api_handlers_calls_are_allowed_by_its_policy(monkeypatch):
    context = {
        "tenantId": "t-1",
        "userId": "user-1",
        "role": "Admin",
        "username": "ada",
        "isolation": "shared",
        "mfaSetupOnly": False,
    }
    event = {
        "version": "2.0",
        "routeKey": "GET /me",
        "rawPath": "/me",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "http": {"method": "GET", "path": "/me"},
            "requestId": "r-1",
            "stage": "$default",
            "authorizer": {"lambda": context},
        },
        "isBase64Encoded": False,
    }
    calls = calls_of_handler("IdentityApiFunction", event, lambda operation, parameters: {}, monkeypatch)
    assert calls
    assert missing_function_permissions("IdentityApiFunction", calls) == []


def test_the_function_policy_check_catches_a_missing_permission():
    calls = [("dynamodb:Query", "table-of-TenantryTable", None), ("dynamodb:GetItem", "table-of-TenantryTable", "APIKEY#k1")]
    assert missing_function_permissions("IdentityApiFunction", calls) == [
        "dynamodb:GetItem on key APIKEY#k1",
        "dynamodb:Query on {'Fn::GetAtt': ['TenantryTable', 'Arn']}",
    ]
