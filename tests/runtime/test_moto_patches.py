"""Each patch the local runtime applies to moto (tenantry_local/moto_patches.py) still takes effect."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from helpers import ROOT
from tenantry_local import moto_patches
from tenantry_local.lambdas import FunctionSpec

ROLE = "arn:aws:iam::123456789012:role/tenantry-local"


def test_every_patch_is_in_effect(runtime):
    assert moto_patches.verify() == {name: True for name in moto_patches.PATCHES}


def run_machine(runtime, definition, payload=None, timeout=20.0):
    sfn = runtime.client("stepfunctions")
    arn = sfn.create_state_machine(name=f"test-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn, name="run", input=json.dumps(payload or {}))["executionArn"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("execution did not finish")


def test_a_replay_sends_only_its_window_and_only_to_the_rules_it_names(runtime):
    """moto replays every archived event to every rule; AWS the window's, to the destination's FilterArns."""
    events, sqs = runtime.client("events"), runtime.client("sqs")
    bus = f"replay-{uuid.uuid4().hex[:8]}"
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    archive = events.create_archive(ArchiveName=bus, EventSourceArn=bus_arn)["ArchiveArn"]
    queues, rules = [], []
    for name in ("named", "other"):
        url = sqs.create_queue(QueueName=f"{bus}-{name}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rules.append(
            events.put_rule(Name=f"{bus}-{name}", EventBusName=bus, EventPattern='{"source": ["test.replay"]}')["RuleArn"]
        )
        events.put_targets(Rule=f"{bus}-{name}", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
        queues.append(url)
    now = datetime.now(UTC)
    for label, at in (("old", now - timedelta(hours=2)), ("new", now)):
        entry = {"EventBusName": bus, "Source": "test.replay", "DetailType": label, "Detail": "{}", "Time": at}
        events.put_events(Entries=[entry])
    events.start_replay(
        ReplayName=bus,
        EventSourceArn=archive,
        EventStartTime=now - timedelta(minutes=5),
        EventEndTime=now + timedelta(minutes=5),
        Destination={"Arn": bus_arn, "FilterArns": [rules[0]]},
    )
    assert events.describe_replay(ReplayName=bus)["State"] == "COMPLETED"

    def received(url):
        bodies = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            bodies += [json.loads(m["Body"]) for m in batch]
        return sorted((b["detail-type"], "replay-name" in b) for b in bodies)

    assert received(queues[0]) == [("new", False), ("new", True), ("old", False)]  # the window's event, replayed
    assert received(queues[1]) == [("new", False), ("old", False)]  # not in FilterArns: nothing replayed


def test_cognito_sdk_tasks_run_and_their_errors_are_named_like_aws(runtime):
    described = run_machine(
        runtime,
        {
            "StartAt": "Describe",
            "States": {
                "Describe": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:cognitoidentityprovider:describeUserPool",
                    "Parameters": {"UserPoolId": "us-east-1_missing"},
                    "Catch": [{"ErrorEquals": ["CognitoIdentityProvider.ResourceNotFoundException"], "Next": "Caught"}],
                    "End": True,
                },
                "Caught": {"Type": "Succeed"},
            },
        },
    )
    assert described["status"] == "SUCCEEDED"
    pool_id = runtime.outputs["SharedUserPoolId"]
    described = run_machine(
        runtime,
        {
            "StartAt": "Describe",
            "States": {
                "Describe": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:cognitoidentityprovider:describeUserPool",
                    "Parameters": {"UserPoolId": pool_id},
                    "OutputPath": "$.UserPool.Id",
                    "End": True,
                }
            },
        },
    )
    assert pool_id in described["output"]


def test_optimized_task_errors_are_named_like_aws_so_their_retriers_match(runtime):
    """A refused PutEvents is a task error (States.TaskFailed matches it), a DynamoDB internal error is named by
    its SDK exception; each retried once, each machine succeeds, and the history names the errors as AWS does."""
    table, bus = runtime.outputs["TableName"], runtime.outputs["EventBusName"]
    retry = {"IntervalSeconds": 1, "MaxAttempts": 2}
    definition = {
        "StartAt": "Announce",
        "States": {
            "Announce": {
                "Type": "Task",
                "Resource": "arn:aws:states:::events:putEvents",
                "Parameters": {"Entries": [{"EventBusName": bus, "Source": "test.patch", "DetailType": "Probe", "Detail": {}}]},
                "Retry": [{"ErrorEquals": ["States.TaskFailed"], **retry}],
                "ResultPath": None,
                "Next": "Record",
            },
            "Record": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": table, "Item": {"PK": {"S": "PROBE#error-names"}, "SK": {"S": "PROBE"}}},
                "Retry": [{"ErrorEquals": ["DynamoDB.InternalServerErrorException"], **retry}],
                "End": True,
            },
        },
    }
    faults = [
        runtime.faults.arm(
            {"service": "events", "operation": "PutEvents", "error": "ThrottlingException", "caller": "run/Announce"}
        ),
        runtime.faults.arm(
            {"service": "dynamodb", "operation": "PutItem", "error": "InternalServerError", "status": 500, "caller": "run/Record"}
        ),
    ]
    try:
        described = run_machine(runtime, definition)
    finally:
        for fault in faults:
            runtime.faults.disarm(fault)
    assert [fault.fired for fault in faults] == [1, 1]
    assert described["status"] == "SUCCEEDED", described
    history = runtime.client("stepfunctions").get_execution_history(executionArn=described["executionArn"])["events"]
    errors = [e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"]
    assert errors == ["EventBridge.ThrottlingException", "DynamoDB.InternalServerErrorException"]


def test_a_definition_is_parsed_once_and_each_execution_gets_components_of_its_own(runtime):
    """moto parsed a definition (ANTLR, in Python) for every execution: half the runtime's CPU under load. The
    parse tree is kept; the components an execution evaluates (which hold its state) are still its own."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import json_path

    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"n": 1}, "End": True}}})
    first_program, first_tree = AmazonStateLanguageParser.parse(definition)
    second_program, second_tree = AmazonStateLanguageParser.parse(definition)
    assert second_tree is first_tree and second_program is not first_program
    assert json_path.parse("$.a.b") is json_path.parse("$.a.b")  # a JSONPath is parsed once too
    described = [run_machine(runtime, json.loads(definition), {"i": i}) for i in range(2)]
    assert [json.loads(d["output"]) for d in described] == [{"n": 1}, {"n": 1}]


def test_wait_states_and_retries_run_on_the_time_scale(runtime):
    assert runtime.time_scale <= 0.01
    began = time.monotonic()
    described = run_machine(runtime, {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 120, "End": True}}})
    assert described["status"] == "SUCCEEDED"
    assert time.monotonic() - began < 10


def test_lambda_invoke_runs_the_template_handler(runtime):
    client = runtime.client("lambda")
    response = client.invoke(
        FunctionName="tenantry-ValidateRequestFunction",
        Payload=json.dumps({"detailType": "TenantOffboardingRequested", "detail": {"requestId": "r"}, "executionName": "x"}),
    )
    body = json.loads(response["Payload"].read())
    assert body["valid"] is False and body["failure"]["field"] == "tenantId"
    broken = client.invoke(FunctionName="tenantry-ValidateRequestFunction", Payload=json.dumps({"detailType": "Nope"}))
    assert broken["FunctionError"] == "Unhandled"
    assert json.loads(broken["Payload"].read())["errorType"] == "KeyError"


def test_rule_targets_that_are_state_machines_get_input_inputpath_and_transformer(runtime):
    sfn, events = runtime.client("stepfunctions"), runtime.client("events")
    bus = runtime.outputs["EventBusName"]
    arn = sfn.create_state_machine(
        name=f"echo-{uuid.uuid4().hex[:8]}",
        roleArn=ROLE,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    marker = uuid.uuid4().hex
    events.put_rule(
        Name=f"echo-{marker[:8]}",
        EventBusName=bus,
        EventPattern=json.dumps({"source": ["test.targets"], "detail": {"marker": [marker]}}),
    )
    events.put_targets(
        Rule=f"echo-{marker[:8]}",
        EventBusName=bus,
        Targets=[
            {"Id": "const", "Arn": arn, "Input": json.dumps({"constant": True})},
            {"Id": "path", "Arn": arn, "InputPath": "$.detail"},
            {
                "Id": "transform",
                "Arn": arn,
                "InputTransformer": {"InputPathsMap": {"m": "$.detail.marker"}, "InputTemplate": '{"seen": "<m>"}'},
            },
        ],
    )
    events.put_events(
        Entries=[{"Source": "test.targets", "DetailType": "Echo", "EventBusName": bus, "Detail": json.dumps({"marker": marker})}]
    )
    deadline, inputs = time.monotonic() + 10, []
    while time.monotonic() < deadline and len(inputs) < 3:
        inputs = [
            json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
            for e in sfn.list_executions(stateMachineArn=arn)["executions"]
        ]
        time.sleep(0.05)
    assert sorted(map(json.dumps, inputs)) == sorted(map(json.dumps, [{"constant": True}, {"marker": marker}, {"seen": marker}]))


def test_rule_targets_that_are_functions_are_invoked(runtime):
    events = runtime.client("events")
    bus = runtime.outputs["EventBusName"]
    name = "tenantry-pre-token-generation"
    before = runtime.lambdas.invocations[name]
    events.put_rule(Name="to-function", EventBusName=bus, EventPattern=json.dumps({"source": ["test.function-target"]}))
    events.put_targets(
        Rule="to-function",
        EventBusName=bus,
        Targets=[{"Id": "fn", "Arn": runtime.lambdas.resolve(name).arn, "Input": json.dumps({"request": {}})}],
    )
    events.put_events(Entries=[{"Source": "test.function-target", "DetailType": "Ping", "EventBusName": bus, "Detail": "{}"}])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and runtime.lambdas.invocations[name] == before:
        time.sleep(0.05)
    assert runtime.lambdas.invocations[name] == before + 1


@pytest.fixture(scope="module")
def refusing_pool(runtime):
    """A pool whose post authentication trigger raises, and a user who can sign in to it."""
    runtime.lambdas.register(
        FunctionSpec(
            name="test-refusing-trigger",
            code_dir=ROOT / "tests/fixtures/functions/raising_trigger",
            handler="app.handler",
            environment={},
        )
    )
    cognito = runtime.client("cognito-idp")
    arn = runtime.lambdas.resolve("test-refusing-trigger").arn
    pool = cognito.create_user_pool(PoolName="test-refusing", LambdaConfig={"PostAuthentication": arn})["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"], WriteAttributes=["name"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="pat", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="pat", Password="Correct-Horse-9", Permanent=True)
    return pool, client


def test_a_raising_post_authentication_trigger_fails_the_sign_in(runtime, refusing_pool):
    _, client = refusing_pool
    cognito = runtime.client("cognito-idp")
    with pytest.raises(cognito.exceptions.UserLambdaValidationException, match="PostAuthentication failed with error refused"):
        cognito.initiate_auth(
            ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "pat", "PASSWORD": "Correct-Horse-9"}
        )


def test_self_sign_up_is_refused_by_an_admin_only_pool_and_by_pre_sign_up(runtime):
    cognito = runtime.client("cognito-idp")
    with pytest.raises(cognito.exceptions.NotAuthorizedException, match="SignUp is not permitted"):
        cognito.sign_up(ClientId=runtime.outputs["SharedUserPoolClientId"], Username="eve", Password="Correct-Horse-9")
    # A pool that allows sign-up but has Tenantry's pre sign-up trigger still refuses
    arn = runtime.lambdas.resolve("tenantry-pre-sign-up").arn
    pool = cognito.create_user_pool(PoolName="test-open", LambdaConfig={"PreSignUp": arn})["UserPool"]["Id"]
    client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="c")["UserPoolClient"]["ClientId"]
    with pytest.raises(cognito.exceptions.UserLambdaValidationException, match="Self sign-up is disabled"):
        cognito.sign_up(ClientId=client, Username="eve", Password="Correct-Horse-9")
    assert cognito.list_users(UserPoolId=pool)["Users"] == []


def test_tokens_carry_the_claims_pre_token_generation_adds_and_clients_cannot_write_protected_attributes(tenantry):
    cognito, pool = tenantry.cognito, tenantry.outputs["SharedUserPoolId"]
    tenant_id = "tnt-claims-test"
    tenantry.ddb.put_item(
        TableName=tenantry.outputs["TableName"],
        Item={"PK": {"S": f"TENANT#{tenant_id}"}, "SK": {"S": "TENANT"}, "entity": {"S": "Request"}, "status": {"S": "ACTIVE"}},
    )
    username = f"{tenant_id}/sam@example.com"
    cognito.admin_create_user(
        UserPoolId=pool,
        Username=username,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "sam@example.com"}, {"Name": "custom:tenant_id", "Value": tenant_id}],
    )
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName="Member")
    cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password="Correct-Horse-9", Permanent=True)
    tokens = cognito.initiate_auth(
        ClientId=tenantry.outputs["SharedUserPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": "Correct-Horse-9"},
    )["AuthenticationResult"]
    for token in (tokens["IdToken"], tokens["AccessToken"]):
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        assert (claims["tenant_id"], claims["role"], claims["isolation"]) == (tenant_id, "Member", "shared")
    with pytest.raises(cognito.exceptions.NotAuthorizedException, match="custom:tenant_id"):
        cognito.update_user_attributes(
            AccessToken=tokens["AccessToken"], UserAttributes=[{"Name": "custom:tenant_id", "Value": "tnt-someone-else"}]
        )
    cognito.update_user_attributes(AccessToken=tokens["AccessToken"], UserAttributes=[{"Name": "name", "Value": "Sam"}])


def test_refresh_tokens_rotate_on_a_rotating_app_client_and_refresh_token_auth_is_refused_there(runtime):
    cognito = runtime.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName=f"rotation-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    flows = ["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    rotating = cognito.create_user_pool_client(
        UserPoolId=pool,
        ClientName="rotating",
        ExplicitAuthFlows=flows,
        RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 10},
    )["UserPoolClient"]["ClientId"]
    plain = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="plain", ExplicitAuthFlows=[*flows, "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="u", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="u", Password="Correct-Horse-9!", Permanent=True)

    def sign_in(client_id):
        return cognito.admin_initiate_auth(
            UserPoolId=pool,
            ClientId=client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "u", "PASSWORD": "Correct-Horse-9!"},
        )["AuthenticationResult"]["RefreshToken"]

    first = sign_in(rotating)
    with pytest.raises(cognito.exceptions.InvalidParameterException):
        cognito.admin_initiate_auth(
            UserPoolId=pool, ClientId=rotating, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": first}
        )
    answer = cognito.get_tokens_from_refresh_token(ClientId=rotating, RefreshToken=first)["AuthenticationResult"]
    assert answer["AccessToken"] and answer["RefreshToken"] not in (None, first)
    cognito.get_tokens_from_refresh_token(ClientId=rotating, RefreshToken=first)  # within its grace period
    time.sleep(10 * runtime.time_scale + 0.1)
    with pytest.raises(cognito.exceptions.RefreshTokenReuseException):
        cognito.get_tokens_from_refresh_token(ClientId=rotating, RefreshToken=first)
    with pytest.raises(cognito.exceptions.NotAuthorizedException):  # another client's token
        cognito.get_tokens_from_refresh_token(ClientId=plain, RefreshToken=answer["RefreshToken"])
    # a client that does not rotate: new access and ID tokens only, and REFRESH_TOKEN_AUTH still works there
    other = sign_in(plain)
    assert "RefreshToken" not in cognito.get_tokens_from_refresh_token(ClientId=plain, RefreshToken=other)["AuthenticationResult"]
    cognito.admin_initiate_auth(
        UserPoolId=pool, ClientId=plain, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": other}
    )
    cognito.admin_user_global_sign_out(UserPoolId=pool, Username="u")
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.get_tokens_from_refresh_token(ClientId=rotating, RefreshToken=answer["RefreshToken"])


def test_a_session_signed_out_while_it_is_being_refreshed_stays_signed_out(runtime):
    """A refresh racing a global sign-out: once the sign-out has returned, the session refreshes no more. (Without
    the pool's lock, a successor written while the sign-out nulled the user's tokens outlived it: found by the
    bench, whose refresh loop never ended.)"""
    cognito = runtime.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName=f"race-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool,
        ClientName="rotating",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
        RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 10},
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="u", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="u", Password="Correct-Horse-9!", Permanent=True)
    outlived = 0
    for _ in range(20):
        token = cognito.admin_initiate_auth(
            UserPoolId=pool,
            ClientId=client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "u", "PASSWORD": "Correct-Horse-9!"},
        )["AuthenticationResult"]["RefreshToken"]
        signed_out = threading.Event()
        refreshed_after: list[int] = [0]

        def refresh_until_refused(token=token, signed_out=signed_out, refreshed_after=refreshed_after):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    token = cognito.get_tokens_from_refresh_token(ClientId=client_id, RefreshToken=token)["AuthenticationResult"][
                        "RefreshToken"
                    ]
                except cognito.exceptions.NotAuthorizedException:
                    return
                if signed_out.is_set():
                    refreshed_after[0] += 1

        refresher = threading.Thread(target=refresh_until_refused)
        refresher.start()
        time.sleep(0.02)
        cognito.admin_user_global_sign_out(UserPoolId=pool, Username="u")
        signed_out.set()
        refresher.join()
        # one refresh may have been answered between the sign-out's return and the flag; more means it outlived it
        outlived += refreshed_after[0] > 1
    assert outlived == 0


def test_injected_faults_reach_api_callers_then_clear(runtime):
    runtime.faults.arm({"service": "cognito-idp", "operation": "ListUserPools", "error": "InvalidParameterException"})
    cognito = runtime.client("cognito-idp")
    with pytest.raises(cognito.exceptions.InvalidParameterException):
        cognito.list_user_pools(MaxResults=1)
    cognito.list_user_pools(MaxResults=1)
    assert runtime.faults.pending() == []


def test_a_partial_put_events_fault_refuses_only_the_matching_entries_and_puts_the_others(runtime):
    events, bus = runtime.client("events"), runtime.outputs["EventBusName"]
    marker = uuid.uuid4().hex
    fault = runtime.faults.arm(
        {
            "service": "events",
            "operation": "PutEvents",
            "error": "ThrottlingException",
            "match": f"refuse-{marker}",
            "partial": True,
        }
    )
    entries = [
        {"EventBusName": bus, "Source": "test.partial", "DetailType": "Probe", "Detail": json.dumps({"n": name})}
        for name in (f"keep-{marker}-1", f"refuse-{marker}", f"keep-{marker}-2")
    ]
    answer = events.put_events(Entries=entries)
    assert fault.fired == 1 and answer["FailedEntryCount"] == 1
    assert [e.get("ErrorCode") for e in answer["Entries"]] == [None, "ThrottlingException", None]
    assert all(e["EventId"] for e in (answer["Entries"][0], answer["Entries"][2]))
    # the same entries again: the fault is spent, all are put
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0


def test_an_applied_fault_makes_the_call_and_answers_the_error_as_a_timeout_would(runtime):
    sqs = runtime.client("sqs")
    url = sqs.create_queue(QueueName=f"applied-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    fault = runtime.faults.arm(
        {"service": "sqs", "operation": "SendMessage", "error": "RequestTimeout", "match": "lost answer", "applied": True}
    )
    # the SDK takes RequestTimeout for a lost answer and sends again: the message arrives twice, as on AWS
    sqs.send_message(QueueUrl=url, MessageBody="lost answer")
    assert fault.fired == 1
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in received] == ["lost answer", "lost answer"]


def test_concurrent_conditional_writes_have_exactly_one_winner(runtime):
    ddb, table = runtime.client("dynamodb"), runtime.outputs["TableName"]
    key = f"RACE#{uuid.uuid4().hex}"
    wins, barrier = [], threading.Barrier(12)

    def write(n):
        barrier.wait()
        try:
            ddb.put_item(
                TableName=table,
                Item={"PK": {"S": key}, "SK": {"S": "X"}, "n": {"N": str(n)}},
                ConditionExpression="attribute_not_exists(PK)",
            )
            wins.append(n)
        except ddb.exceptions.ConditionalCheckFailedException:
            pass

    threads = [threading.Thread(target=write, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1


def test_a_schedule_rule_matches_no_event(runtime):
    events = runtime.client("events")
    name = "tenantry-pre-token-generation"
    events.put_rule(Name="every-hour", ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule="every-hour", Targets=[{"Id": "fn", "Arn": runtime.lambdas.resolve(name).arn}])
    before = runtime.lambdas.invocations[name]
    events.put_events(Entries=[{"Source": "test.any", "DetailType": "Anything", "Detail": "{}"}])
    time.sleep(0.5)
    assert runtime.lambdas.invocations[name] == before
    events.delete_rule(Name="every-hour") if not events.remove_targets(Rule="every-hour", Ids=["fn"])[
        "FailedEntryCount"
    ] else None


def test_a_result_that_is_not_json_fails_like_lambda(runtime):
    runtime.lambdas.register(
        FunctionSpec(
            name="test-unserialisable",
            handler="app.handler",
            environment={},
            code_dir=ROOT / "tests/fixtures/functions/unserialisable_result",
        )
    )
    result = runtime.lambdas.invoke("test-unserialisable", {})
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "Runtime.MarshalError"


def table_with_a_stream(ddb, prefix):
    """A new table (key PK) whose stream has both images: its name and its stream's ARN."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    stream_arn = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    return name, stream_arn


def test_a_cancelled_transaction_is_never_seen_by_a_stream_reader(runtime, monkeypatch):
    """moto applies a transaction's writes and rolls them back when one fails; a stream reader in between
    used to see the rolled-back record, whose sequence number the next real change then reused."""
    from moto.dynamodb.models.table import Table

    ddb, streams = runtime.client("dynamodb"), runtime.client("dynamodbstreams", internal=True)
    name, stream_arn = table_with_a_stream(ddb, "test-isolation")
    inside, original_put = threading.Event(), Table.put_item

    def slow_put(self, item_attrs, *args, **kwargs):
        result = original_put(self, item_attrs, *args, **kwargs)
        if item_attrs.get("PK", {}).get("S") == "phantom":
            inside.set()
            time.sleep(0.5)  # the transaction is half-applied: a reader that is not held off sees it now
        return result

    monkeypatch.setattr(Table, "put_item", slow_put)

    def cancelled_transaction():
        with pytest.raises(ddb.exceptions.TransactionCanceledException):
            ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": name, "Item": {"PK": {"S": "phantom"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": name,
                            "Key": {"PK": {"S": "absent"}},
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                ]
            )

    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def iterator():
        return streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    def keys(shard_iterator):
        return [r["dynamodb"]["Keys"]["PK"]["S"] for r in streams.get_records(ShardIterator=shard_iterator)["Records"]]

    opened_before = iterator()  # a consumer polling the shard holds an iterator across the transaction
    writer = threading.Thread(target=cancelled_transaction)
    writer.start()
    assert inside.wait(5)
    seen_during = keys(iterator())
    writer.join()
    seen_after_cancel = keys(opened_before)
    ddb.put_item(TableName=name, Item={"PK": {"S": "real"}})
    assert seen_during == []
    assert seen_after_cancel == []
    assert keys(opened_before) == ["real"]
    assert keys(iterator()) == ["real"]


def test_a_cancelled_transaction_puts_back_exactly_what_it_changed_and_copies_no_table(runtime, monkeypatch):
    """moto backed a transaction up by deep-copying each table it names: every transaction cost the whole table
    (the runtime's memory grew by gigabytes in a load test). Only the named items are backed up now."""
    import copy

    from moto.dynamodb.models.table import Table

    ddb = runtime.client("dynamodb")
    name, _ = table_with_a_stream(ddb, "test-undo")
    for n in range(50):
        ddb.put_item(TableName=name, Item={"PK": {"S": f"other-{n}"}, "v": {"N": str(n)}})
    ddb.put_item(TableName=name, Item={"PK": {"S": "changed"}, "v": {"N": "1"}})
    copied: list[str] = []
    deepcopy = copy.deepcopy

    def counting_deepcopy(value, memo=None):
        if isinstance(value, Table):
            copied.append(value.name)
        return deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting_deepcopy)
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"PK": {"S": "created"}}}},
                {
                    "Update": {
                        "TableName": name,
                        "Key": {"PK": {"S": "changed"}},
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "2"}},
                    }
                },
                {"Delete": {"TableName": name, "Key": {"PK": {"S": "other-0"}}}},
                {
                    "ConditionCheck": {
                        "TableName": name,
                        "Key": {"PK": {"S": "absent"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )
    assert copied == []
    assert "Item" not in ddb.get_item(TableName=name, Key={"PK": {"S": "created"}})
    assert ddb.get_item(TableName=name, Key={"PK": {"S": "changed"}})["Item"]["v"] == {"N": "1"}
    assert ddb.get_item(TableName=name, Key={"PK": {"S": "other-0"}})["Item"]["v"] == {"N": "0"}
    assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 51
    ddb.transact_write_items(  # and one that goes through still writes everything
        TransactItems=[
            {"Put": {"TableName": name, "Item": {"PK": {"S": "created"}}}},
            {"Delete": {"TableName": name, "Key": {"PK": {"S": "other-0"}}}},
        ]
    )
    assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 51 and "Item" in ddb.get_item(
        TableName=name, Key={"PK": {"S": "created"}}
    )


def test_a_cancelled_transaction_on_a_table_with_a_sort_key_puts_back_each_item_it_named(runtime):
    """As the application's table: partition and sort key, and an index moto reads from the items."""
    ddb = runtime.client("dynamodb")
    name = f"test-undo-sk-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "GSI1PK")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByG",
                "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )

    def key(pk, sk):
        return {"PK": {"S": pk}, "SK": {"S": sk}}

    ddb.put_item(TableName=name, Item={**key("U", "a"), "GSI1PK": {"S": "g"}, "v": {"N": "1"}})
    ddb.put_item(TableName=name, Item={**key("U", "b"), "GSI1PK": {"S": "g"}, "v": {"N": "1"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {**key("U", "new"), "GSI1PK": {"S": "g"}}}},  # same partition
                {
                    "Update": {
                        "TableName": name,
                        "Key": key("U", "a"),
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "2"}},
                    }
                },
                {"Delete": {"TableName": name, "Key": key("U", "b")}},
                {"ConditionCheck": {"TableName": name, "Key": key("U", "z"), "ConditionExpression": "attribute_exists(PK)"}},
            ]
        )
    items = ddb.query(TableName=name, KeyConditionExpression="PK = :u", ExpressionAttributeValues={":u": {"S": "U"}})["Items"]
    assert sorted((i["SK"]["S"], i["v"]["N"]) for i in items) == [("a", "1"), ("b", "1")]
    indexed = ddb.query(
        TableName=name, IndexName="ByG", KeyConditionExpression="GSI1PK = :g", ExpressionAttributeValues={":g": {"S": "g"}}
    )
    assert sorted(i["SK"]["S"] for i in indexed["Items"]) == ["a", "b"]


def test_a_transaction_sent_again_with_its_client_request_token_commits_once(runtime):
    ddb = runtime.client("dynamodb")
    name, _ = table_with_a_stream(ddb, "test-token")
    token = uuid.uuid4().hex
    items = [{"Put": {"TableName": name, "Item": {"PK": {"S": "once"}}, "ConditionExpression": "attribute_not_exists(PK)"}}]
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)  # a retry of a lost answer: success
    with pytest.raises(ddb.exceptions.TransactionCanceledException):  # without the token, the condition holds
        ddb.transact_write_items(TransactItems=items)
    with pytest.raises(ddb.exceptions.IdempotentParameterMismatchException):
        other = [{"Put": {"TableName": name, "Item": {"PK": {"S": "other"}}}}]
        ddb.transact_write_items(TransactItems=other, ClientRequestToken=token)
    assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 1


def test_shard_iterators_expire_so_that_a_polling_consumer_does_not_grow_the_runtime(runtime):
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from tenantry_local.moto_patches import _LIVE_SHARD_ITERATORS

    ddb, streams = runtime.client("dynamodb"), runtime.client("dynamodbstreams", internal=True)
    name, stream_arn = table_with_a_stream(ddb, "test-iterators")
    ddb.put_item(TableName=name, Item={"PK": {"S": "one"}})
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    for _ in range(_LIVE_SHARD_ITERATORS // 10 + 5):
        with ThreadPoolExecutor(10) as pool:  # a consumer polling: a new iterator, then its records, each time
            list(
                pool.map(
                    lambda _: streams.get_records(
                        ShardIterator=streams.get_shard_iterator(
                            StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
                        )["ShardIterator"]
                    ),
                    range(10),
                )
            )
    held = sum(len(backend.shard_iterators) for regions in dynamodbstreams_backends.values() for backend in regions.values())
    assert held <= _LIVE_SHARD_ITERATORS
    latest = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in streams.get_records(ShardIterator=latest)["Records"]] == ["one"]


def test_an_update_that_creates_its_item_writes_one_insert_record_with_the_whole_item(runtime):
    """moto put a bare item (keys only) before applying the update: two INSERT records, the first with no
    attribute a consumer could tell the item's kind by. DynamoDB writes one."""
    ddb, streams = runtime.client("dynamodb"), runtime.client("dynamodbstreams", internal=True)
    name, stream_arn = table_with_a_stream(ddb, "test-upsert")
    update = {
        "UpdateExpression": "ADD hits :one SET entity = :kind",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":kind": {"S": "Counter"}},
    }
    ddb.update_item(TableName=name, Key={"PK": {"S": "c-1"}}, **update)  # creates the item
    ddb.update_item(TableName=name, Key={"PK": {"S": "c-1"}}, **update)  # changes it
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [
        (r["eventName"], r["dynamodb"]["NewImage"].get("entity"), r["dynamodb"]["NewImage"].get("hits")) for r in records
    ] == [
        ("INSERT", {"S": "Counter"}, {"N": "1"}),
        ("MODIFY", {"S": "Counter"}, {"N": "2"}),
    ]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(set(sequence))


def test_a_fault_armed_for_one_state_of_one_execution_fails_only_that_states_call(tenantry, tenant):
    from helpers import registration_request

    request_id = tenantry.request_id("caller")
    # PutItem is also called by PrepareRegistration's function (the reservation) and by the other execution
    fault = tenantry.rt.faults.arm(
        {
            "service": "dynamodb",
            "operation": "PutItem",
            "error": "ValidationException",
            "caller": f"register-{request_id}/SaveProfile",
        }
    )
    other = tenantry.request_id("caller-other")
    for rid in (request_id, other):
        tenantry.post("UserRegistrationRequested", registration_request(rid, tenant["tenantId"]))
    failed = tenantry.wait_execution("UserRegistrationStateMachineArn", f"register-{request_id}")
    assert failed["status"] == "FAILED" and fault.fired == 1
    states = tenantry.states(failed["executionArn"])
    assert states[states.index("SaveProfile") + 1] == "UndoProfile"
    waiting = tenantry.wait_execution_state("UserRegistrationStateMachineArn", f"register-{other}")
    assert waiting["state"] == "IssueActivationCodeAndWait"
