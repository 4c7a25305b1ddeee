"""Static checks of template.yaml and the state machine definitions: what must hold before anything runs."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from helpers import ROOT, api_event
from helpers.definitions import tasks
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


REGISTRATION_EXECUTIONS = (
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${AWS::StackName}-UserRegistration:*"
)


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
    if resource.startswith("arn:aws:states:::aws-sdk:cognitoidentityprovider:"):
        action = resource.rsplit(":", 1)[-1]
        return [(f"cognito-idp:{action[0].upper()}{action[1:]}", None)]
    kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
    exact = {
        "arn:aws:states:::events:putEvents": lambda: [("events:PutEvents", {"Fn::GetAtt": ["EventBus", "Arn"]})],
        "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems": lambda: [
            (f"dynamodb:{kinds[next(iter(item))]}", {"Fn::GetAtt": ["TenantryTable", "Arn"]})
            for item in parameters["TransactItems"]
        ],
        "arn:aws:states:::states:startExecution": lambda: [("states:StartExecution", logical(parameters["StateMachineArn"]))],
        "arn:aws:states:::aws-sdk:sfn:startExecution": lambda: [
            ("states:StartExecution", logical(parameters["StateMachineArn"]))
        ],
        # only registrations are ever stopped (by offboarding)
        "arn:aws:states:::aws-sdk:sfn:stopExecution": lambda: [("states:StopExecution", {"Fn::Sub": REGISTRATION_EXECUTIONS})],
    }
    if resource in exact:
        return exact[resource]()
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
    [inline] = [policy for policy in machine["Properties"]["Policies"] if "Statement" in policy]
    for statement in inline["Statement"]:
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


def app_clients() -> dict[str, dict[str, Any]]:
    """Every app client's properties: the template's and those a workflow creates."""
    clients = {k: v["Properties"] for k, v in of_type("AWS::Cognito::UserPoolClient").items()}
    for logical_id, machine in STATE_MACHINES.items():
        for name, state in tasks(definition(machine)["States"]):
            if state["Resource"].endswith(":createUserPoolClient"):
                clients[f"{logical_id}/{name}"] = state["Parameters"]
    return clients


def test_every_app_client_allows_no_plain_password_flow_and_sets_short_token_lifetimes():
    clients = app_clients()
    assert len(clients) >= 2
    for where, client in clients.items():
        # the API signs users in with ADMIN_USER_PASSWORD_AUTH; a browser never sends a password to Cognito itself
        assert "ALLOW_USER_PASSWORD_AUTH" not in client["ExplicitAuthFlows"], where
        assert "ALLOW_ADMIN_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"], where
        assert client["GenerateSecret"] is False, where
        units = client["TokenValidityUnits"]
        assert (client["AccessTokenValidity"], units["AccessToken"]) == (15, "minutes"), where
        assert (client["IdTokenValidity"], units["IdToken"]) == (15, "minutes"), where
        assert (client["RefreshTokenValidity"], units["RefreshToken"]) == (30, "days"), where
        assert client["AuthSessionValidity"] == 3, where  # the API remembers a challenge as long (CHALLENGE_SECONDS)
        # refresh tokens rotate: a refresh answers a new one and retires the one sent (REFRESH_TOKEN_AUTH cannot)
        assert client["RefreshTokenRotation"] == {"Feature": "ENABLED", "RetryGracePeriodSeconds": 10}, where
        assert "ALLOW_REFRESH_TOKEN_AUTH" not in client["ExplicitAuthFlows"], where


def test_every_pool_is_admin_create_only_with_tenantrys_triggers():
    for logical_id, pool in of_type("AWS::Cognito::UserPool").items():
        assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True, logical_id
    for machine in STATE_MACHINES.values():
        for _, state in tasks(definition(machine)["States"]):
            if state["Resource"].endswith(":createUserPool"):
                parameters = state["Parameters"]
                assert parameters["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
                assert set(parameters["LambdaConfig"]) == set(RESOURCES["SharedUserPool"]["Properties"]["LambdaConfig"])


def user_pools() -> dict[str, dict[str, Any]]:
    """Every pool's properties: the template's and those a workflow creates (CreateUserPool's parameters)."""
    pools = {k: v["Properties"] for k, v in of_type("AWS::Cognito::UserPool").items()}
    for logical_id, machine in STATE_MACHINES.items():
        for name, state in tasks(definition(machine)["States"]):
            if state["Resource"].endswith(":createUserPool"):
                pools[f"{logical_id}/{name}"] = state["Parameters"]
    return pools


def test_a_user_cannot_take_an_email_they_have_not_verified():
    # A Member changing their own email to an Admin's would carry it in their ID token at once; with
    # verification required, the new address takes effect only once its code is confirmed
    pools = user_pools()
    assert len(pools) >= 2  # the shared pool and the one onboarding creates
    email_writable = any("email" in (writable or []) for writable in app_client_write_attributes().values())
    for where, pool in pools.items():
        settings = pool.get("UserAttributeUpdateSettings") or {}
        verified = "email" in settings.get("AttributesRequireVerificationBeforeUpdate", [])
        assert verified or not email_writable, f"{where}: email is writable by a user's token without verification"
        assert not verified or "email" in pool.get("AutoVerifiedAttributes", []), f"{where}: Cognito needs it auto-verified"


POOL_WRITES = {"cognito-idp:DeleteUserPool", "cognito-idp:UpdateUserPool"}
STACK_TAG = "aws:ResourceTag/tenantry:stack"


def test_every_pool_carries_the_stacks_tag_and_is_protected_from_deletion():
    for where, pool in user_pools().items():
        tags = pool.get("UserPoolTags") or {}
        assert tags.get("tenantry:stack") in ({"Ref": "AWS::StackName"}, "${StackName}"), f"{where}: no tenantry:stack tag"
        assert pool.get("DeletionProtection") == "ACTIVE", f"{where}: not protected from deletion"


def test_a_user_pool_is_changed_or_deleted_only_under_this_stacks_tag():
    # Without the condition a workflow's role could delete or reset any user pool in the account
    granting = []
    for logical_id, resource in DEPLOYED.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if statement["Effect"] == "Allow" and POOL_WRITES & set(actions):
                    granting.append(logical_id)
                    condition = statement.get("Condition", {}).get("StringEquals", {})
                    assert condition.get(STACK_TAG) == {"Ref": "AWS::StackName"}, f"{logical_id}: {actions} without the tag"
    assert sorted(granting) == ["TenantOffboardingStateMachineRole", "TenantOnboardingStateMachineRole"]


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
        prefixes = {"dynamodb": "dynamodb", "cognito-idp": "cognito-idp", "events": "events", "stepfunctions": "states"}
        self._prefix, self._answer, self._calls = prefixes[service], answer, calls
        # what `except client.exceptions.X` names: never raised by a recording client
        self.exceptions = type("Exceptions", (), {"__getattr__": lambda _, name: type(name, (Exception,), {})})()

    def __getattr__(self, operation: str) -> Any:
        def call(**parameters: Any) -> Any:
            action = f"{self._prefix}:{operation.title().replace('_', '')}"
            self._calls += [(action, table, leading_key) for table, leading_key in self.targets(parameters)]
            return self._answer(operation, parameters)

        return call

    def get_paginator(self, operation: str) -> Any:
        """A paginator of one page: its call recorded as the operation itself."""
        call = getattr(self, operation)
        return type("Paginator", (), {"paginate": lambda _, **parameters: [call(**parameters)]})()

    @staticmethod
    def targets(parameters: dict[str, Any]) -> list[tuple[Any, Any]]:
        """(table, partition key value) of each item a call reads or writes; a query's table is
        `<table>/index/<index>` on an index, its partition key the value its key condition names."""
        if "stateMachineArn" in parameters:  # StartExecution: the machine (`table-of-<id>`, as any Ref'd resource)
            return [(parameters["stateMachineArn"], None)]
        if "RequestItems" in parameters:  # BatchGetItem: every key of every table
            return [
                (table, key["PK"].get("S")) for table, request in parameters["RequestItems"].items() for key in request["Keys"]
            ]
        table = parameters.get("TableName")
        if "KeyConditionExpression" in parameters:
            placeholder = parameters["KeyConditionExpression"].split(" AND ")[0].split("=")[1].strip()
            leading_key = parameters["ExpressionAttributeValues"][placeholder].get("S")
            return [(f"{table}/index/{parameters['IndexName']}" if parameters.get("IndexName") else table, leading_key)]
        return [(table, (parameters.get("Key") or parameters.get("Item") or {}).get("PK", {}).get("S"))]


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


def table_arn(table: str) -> Any:
    """The template's ARN of a recorded table (`table-of-<id>`) or index (`table-of-<id>/index/<name>`)."""
    logical_id, _, index = table.removeprefix("table-of-").partition("/index/")
    return {"Fn::Sub": f"${{{logical_id}.Arn}}/index/{index}"} if index else {"Fn::GetAtt": [logical_id, "Arn"]}


def missing_function_permissions(logical_id: str, calls: list[Call]) -> list[str]:
    """Each recorded call against the function's policies in the template (a table named `table-of-<id>` is
    that table's ARN), partition key included."""
    policies = RESOURCES[logical_id]["Properties"].get("Policies", [])
    missing = []
    for action, table, leading_key in sorted(set(calls), key=str):
        if action.startswith("states:") and table:
            resource = {"Ref": table.removeprefix("table-of-")}  # a state machine's Ref is its ARN
        else:
            resource = table_arn(table) if table else None
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
    event = api_event("GET", "/me", context)
    calls = calls_of_handler("IdentityApiFunction", event, lambda operation, parameters: {}, monkeypatch)
    assert calls
    assert missing_function_permissions("IdentityApiFunction", calls) == []


def test_offboardings_listing_calls_are_allowed_by_its_policy(monkeypatch):
    def answer(operation: str, parameters: dict[str, Any]) -> dict[str, Any]:
        if operation == "list_users":
            return {"Users": [{"Username": "t-1/ada@example.com"}]}
        if operation == "query":
            return {"Items": [{"userId": {"S": "u-1"}, "status": {"S": "PENDING"}}]}
        return {"Responses": {parameters and next(iter(parameters["RequestItems"])): [{"requestId": {"S": "r-1"}}]}}

    event = {"tenant": {"tenantId": "t-1", "isolation": "shared", "userPoolId": "us-east-1_pool"}}
    calls = calls_of_handler("ListTenantUsersFunction", event, answer, monkeypatch)
    assert {action for action, _, _ in calls} == {"cognito-idp:ListUsers", "dynamodb:Query", "dynamodb:BatchGetItem"}
    assert missing_function_permissions("ListTenantUsersFunction", calls) == []


def test_the_lost_pool_finders_calls_are_allowed_by_its_policy(monkeypatch):
    def answer(operation: str, parameters: dict[str, Any]) -> dict[str, Any]:
        if "NextToken" not in parameters:  # two pages: the pool is on the second
            return {"UserPools": [{"Id": "us-east-1_other", "Name": "tenantry-t-0"}], "NextToken": "page-2"}
        return {"UserPools": [{"Id": "us-east-1_lost", "Name": "tenantry-t-1"}]}

    calls = calls_of_handler("FindUserPoolFunction", {"poolName": "tenantry-t-1"}, answer, monkeypatch)
    assert [action for action, _, _ in calls] == ["cognito-idp:ListUserPools"] * 2
    assert missing_function_permissions("FindUserPoolFunction", calls) == []


@pytest.mark.parametrize("trusted", [True, False])
def test_the_request_starters_calls_are_allowed_by_its_policy(trusted, monkeypatch):
    def answer(operation: str, parameters: dict[str, Any]) -> dict[str, Any]:
        if operation == "get_item":  # the source's grant
            grant = {
                "source": {"S": "crm"},
                "requestTypes": {"L": [{"S": "UserRegistrationRequested"}]},
                "tenants": {"L": [{"S": "*"}]},
            }
            return {"Item": grant} if trusted else {}
        if operation == "put_events":
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}
        return {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:n", "startDate": "2026-01-01"}

    detail = {"requestId": "r-1", "tenantId": "t-1"}
    event = {"id": "e-1", "source": "crm", "detail-type": "UserRegistrationRequested", "detail": detail, "version": "0"}
    calls = calls_of_handler("StartWorkflowFunction", event, answer, monkeypatch)
    actions = {action for action, _, _ in calls}
    assert actions == ({"dynamodb:GetItem", "states:StartExecution"} if trusted else {"dynamodb:GetItem", "events:PutEvents"})
    assert missing_function_permissions("StartWorkflowFunction", calls) == []


def test_the_function_policy_check_catches_a_missing_permission():
    calls = [("dynamodb:Query", "table-of-TenantryTable", None), ("dynamodb:GetItem", "table-of-TenantryTable", "COMPLIANCE#c1")]
    assert missing_function_permissions("IdentityApiFunction", calls) == [
        "dynamodb:GetItem on key COMPLIANCE#c1",
        "dynamodb:Query on {'Fn::GetAtt': ['TenantryTable', 'Arn']}",
    ]
    index_query = [("dynamodb:Query", "table-of-TenantryTable/index/ByTenant", "EMAIL#t-1#a@example.com")]
    assert missing_function_permissions("IdentityApiFunction", index_query) == ["dynamodb:Query on key EMAIL#t-1#a@example.com"]
    assert missing_function_permissions(
        "AuthorizerFunction", [("dynamodb:UpdateItem", "table-of-TenantryTable", "USER#u-1")]
    ) == ["dynamodb:UpdateItem on key USER#u-1"]


def user_change_event(method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
    """A payload 2.0 request of an Admin of tenant t-1 (as the authorizer hands it on)."""
    context = {"tenantId": "t-1", "userId": "admin-1", "role": "Admin", "username": "ada", "isolation": "shared"}
    return dict(api_event(method, path, context, body=body))


USER_CHANGES = [
    ("PATCH", "/users/user-2/status", {"status": "DISABLED"}),
    ("PATCH", "/users/user-2/status", {"status": "ACTIVE"}),
    ("PUT", "/users/user-2/role", {"role": "SuperUser"}),
    ("PUT", "/users/user-2/mfa", {"required": True}),
    ("POST", "/users/user-2/sessions/revoke", None),
    ("DELETE", "/users/user-2", None),
]


@pytest.mark.parametrize(("method", "path", "body"), USER_CHANGES, ids=[f"{m} {p} {b}" for m, p, b in USER_CHANGES])
def test_the_user_change_routes_calls_are_allowed_by_the_handlers_policy(method, path, body, monkeypatch):
    from tenantry.adapters.dynamodb import to_item

    profile = {
        "entity": "User",
        "userId": "user-2",
        "tenantId": "t-1",
        "username": "t-1/bo@example.com",
        "email": "bo@example.com",
        "handle": "@Bo",
        "requestId": "req-2",
        "role": "Member",
        "status": "ACTIVE",
    }
    answers: dict[str, Any] = {
        "get_item": lambda p: {
            "Item": to_item(profile if p["Key"]["PK"]["S"].startswith("USER#") else {"status": "ACTIVE", "userPoolId": "pool-1"})
        },
        "update_item": lambda p: {"Attributes": to_item(profile)},
        "start_execution": lambda p: {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:e"},
        "put_events": lambda p: {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]},
    }
    calls = calls_of_handler(
        "IdentityApiFunction",
        user_change_event(method, path, body),
        lambda operation, parameters: answers.get(operation, lambda p: {})(parameters),
        monkeypatch,
    )
    made = {action for action, _, _ in calls}
    assert made - {"dynamodb:GetItem"}, "the route made no change: the check checked nothing"
    assert missing_function_permissions("IdentityApiFunction", calls) == []


API_KEY_ID = "0123456789abcdef"


def api_key_item() -> dict[str, Any]:
    """A stored key of tenant t-1, as tenantry.api_keys writes it (its secret: 43 x's)."""
    from tenantry.adapters.dynamodb import to_item
    from tenantry.api_keys import secret_hash

    return to_item(
        {
            "PK": f"APIKEY#{API_KEY_ID}",
            "SK": "APIKEY",
            "keyId": API_KEY_ID,
            "tenantId": "t-1",
            "name": "CRM",
            "scopes": ["users:read"],
            "createdBy": "admin-1",
            "createdAt": 1,
            "expiresAt": 4_000_000_000,
            "ratePerMinute": 600,
            "secretHash": secret_hash("x" * 43),
        }
    )


def test_the_authorizers_calls_for_an_api_key_are_allowed_by_its_policy(monkeypatch):
    event = {"version": "2.0", "type": "REQUEST", "headers": {"x-api-key": f"tk_{API_KEY_ID}_{'x' * 43}"}, "requestContext": {}}
    calls = calls_of_handler(
        "AuthorizerFunction",
        event,
        lambda operation, parameters: {"Item": api_key_item()} if operation == "get_item" else {},
        monkeypatch,
    )
    # the key's item read, and its request counted: the whole key path ran
    assert {action for action, _, _ in calls} == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    assert missing_function_permissions("AuthorizerFunction", calls) == []


API_KEY_ROUTES = [
    ("POST", "/api-keys", {"name": "CRM", "scopes": ["users:read"], "expiresInDays": 30}, "dynamodb:PutItem"),
    ("GET", "/api-keys", None, "dynamodb:BatchGetItem"),
    ("DELETE", f"/api-keys/{API_KEY_ID}", None, "dynamodb:UpdateItem"),
]


@pytest.mark.parametrize(("method", "path", "body", "made"), API_KEY_ROUTES, ids=[f"{m} {p}" for m, p, _, _ in API_KEY_ROUTES])
def test_the_api_key_routes_calls_are_allowed_by_the_handlers_policy(method, path, body, made, monkeypatch):
    answers: dict[str, Any] = {
        "query": lambda p: {"Items": [{"PK": {"S": f"APIKEY#{API_KEY_ID}"}, "SK": {"S": "APIKEY"}}]},
        "batch_get_item": lambda p: {"Responses": {"table-of-TenantryTable": [api_key_item()]}},
        "update_item": lambda p: {"Attributes": api_key_item()},
    }
    calls = calls_of_handler(
        "IdentityApiFunction",
        user_change_event(method, path, body),
        lambda operation, parameters: answers.get(operation, lambda p: {})(parameters),
        monkeypatch,
    )
    assert made in {action for action, _, _ in calls}, "the route did not run: the check checked nothing"
    assert missing_function_permissions("IdentityApiFunction", calls) == []


def users_event(
    method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, str] | None = None
) -> dict[str, Any]:
    """POST /users and GET /users of an Admin of tenant t-1, as the authorizer hands them on."""
    event = user_change_event(method, path, body)
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    return event


def test_the_users_routes_calls_are_allowed_by_the_handlers_policy(monkeypatch):
    from tenantry.adapters.dynamodb import to_item

    profile = {
        "userId": "user-2",
        "tenantId": "t-1",
        "username": "u",
        "email": "bo@example.com",
        "role": "Member",
        "status": "ACTIVE",
    }
    answers: dict[str, Any] = {
        "start_execution": lambda p: {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:e"},
        "query": lambda p: {"Items": [to_item({"userId": "user-2"})]},
        "batch_get_item": lambda p: {"Responses": {p_table: [to_item(profile)] for p_table in p["RequestItems"]}},
        "get_item": lambda p: {"Item": to_item(profile)},
    }
    calls: list[Call] = []
    for event in (
        users_event("POST", "/users", {"email": "new@example.com", "name": "New", "role": "Member"}),
        users_event("GET", "/users", query={"email": "bo@example.com"}),
        users_event("GET", "/users/user-2"),
    ):
        calls += calls_of_handler(
            "IdentityApiFunction",
            event,
            lambda operation, parameters: answers.get(operation, lambda p: {})(parameters),
            monkeypatch,
        )
    made = {action for action, _, _ in calls}
    assert {"states:StartExecution", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:GetItem"} <= made, made
    assert missing_function_permissions("IdentityApiFunction", calls) == []


def test_the_function_policy_check_names_the_state_machine_it_may_start():
    calls = [("states:StartExecution", "table-of-TenantOnboardingStateMachine", None)]
    assert missing_function_permissions("IdentityApiFunction", calls) == [
        "states:StartExecution on {'Ref': 'TenantOnboardingStateMachine'}"
    ]


def test_the_badge_catalogue_seed_version_is_the_digest_of_its_files():
    """CloudFormation updates the seeded bucket only when a property changes: the Version must follow the files."""
    from tenantry.bucket_seed import content_version, package_files
    from tenantry_local.template import load_template

    seed = load_template(ROOT / "template.yaml")["Resources"]["BadgeCatalogue"]["Properties"]
    code_dir = ROOT / "functions" / "seed_bucket"
    assert seed["Version"] == content_version(package_files(code_dir, seed["Source"])), "run: update BadgeCatalogue.Version"


def roles_that_may_put_events_on_the_bus() -> set[str]:
    """The roles (as deployed: SAM's implicit ones included) whose policies allow events:PutEvents on EventBus."""
    found = set()
    roles = {k: v for k, v in DEPLOYED.items() if v["Type"] == "AWS::IAM::Role"}
    for logical_id, role in roles.items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if statement["Effect"] == "Allow" and "events:PutEvents" in actions and "EventBus" in json.dumps(statement):
                    found.add(logical_id)
    return found


def test_only_tenantrys_own_roles_may_put_events_with_source_tenantry():
    [policy] = of_type("AWS::Events::EventBusPolicy").values()
    statement = policy["Properties"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "events:PutEvents")
    assert statement["Resource"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    assert statement["Condition"]["StringEquals"] == {"events:source": "tenantry"}
    excepted = {arn["Fn::GetAtt"][0] for arn in statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]}
    # exactly the roles that publish: a new publisher not listed would be denied; a listed role that does not
    # publish would be an exception nobody needs
    assert excepted == roles_that_may_put_events_on_the_bus()
    assert len(excepted) >= 5
