"""How `make bench` renews a flow's identifiers before sending its calls again directly (tenantry_local.bench_direct):
what the flow made is renewed, the same way wherever it recurs; what existed before it is kept; what a renewed call
answers replaces the flow's answer in later calls; StartExecution and PutEvents go where they start nothing."""

from __future__ import annotations

import json

from tenantry_local.bench_direct import Renewal, _redirected

RUN = "b1a2b3c4d"
KNOWN_TENANT = "tnt-00000000000000aa"  # existed before the flow
NEW_TENANT = "tnt-1111111111111111"  # made by the flow
SUB = "9f0e2c41-3b7a-4c55-9a1d-6f2e8b7c0d13"


def test_what_the_flow_made_is_renewed_consistently_and_what_existed_is_kept():
    renewal = Renewal(known={KNOWN_TENANT, f"admin.{RUN}@bench.example"}, run=RUN)
    first = renewal.request(json.dumps({"PK": f"TENANT#{NEW_TENANT}", "requestId": f"{RUN}-shared", "parent": KNOWN_TENANT}))
    second = renewal.request(json.dumps({"Username": f"{NEW_TENANT}/admin.{RUN}@bench.example", "name": f"onboard-{RUN}-shared"}))
    first_sent, second_sent = json.loads(first), json.loads(second)

    renewed_tenant = first_sent["PK"].removeprefix("TENANT#")
    assert renewed_tenant != NEW_TENANT and renewed_tenant.startswith("tnt-") and len(renewed_tenant) == len(NEW_TENANT)
    assert first_sent["parent"] == KNOWN_TENANT
    assert RUN not in first_sent["requestId"] and first_sent["requestId"].endswith("-shared")
    # the same tenant later, inside a username: the same new id; the known email as it was
    assert second_sent["Username"] == f"{renewed_tenant}/admin.{RUN}@bench.example"
    assert second_sent["name"] == f"onboard-{first_sent['requestId']}"


def test_handles_and_digests_are_renewed_even_when_known_elsewhere_and_emails_are_not_handles():
    digest = "e873fd58548e7937800c500adc5fbaff311ad9117a6de8864192b02c4de0a546"
    renewal = Renewal(known={KNOWN_TENANT, "@benchmember", digest}, run=RUN)
    sent = json.loads(
        renewal.request(
            json.dumps(
                {"claim": f"HANDLE#{KNOWN_TENANT}#@benchmember", "code": f"ACTIVATION#{digest}", "email": "x@bench.example"}
            )
        )
    )
    assert (
        sent["claim"].startswith(f"HANDLE#{KNOWN_TENANT}#@benchmember") and sent["claim"] != f"HANDLE#{KNOWN_TENANT}#@benchmember"
    )
    assert sent["code"] == f"ACTIVATION#{digest}"  # known: a digest is renewed only when the flow made it
    assert sent["email"] == "x@bench.example"
    fresh = json.loads(renewal.request(json.dumps({"code": "ab" * 32})))["code"]
    assert fresh != "ab" * 32 and len(fresh) == 64


def test_what_a_renewed_call_answers_replaces_the_flows_answer_in_later_calls():
    renewal = Renewal(known=set(), run=RUN)
    renewal.answer(
        {
            "UserPool": {
                "Id": "us-east-1_flow1234",
                "Status": "OFFBOARDING",
                "Arn": "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_flow1234",
            }
        },
        {
            "UserPool": {
                "Id": "us-east-1_again567",
                "Status": "ACTIVE",
                "Arn": "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_again567",
            }
        },
    )
    renewal.answer(
        {"User": {"Attributes": [{"Name": "sub", "Value": SUB}]}},
        {"User": {"Attributes": [{"Name": "sub", "Value": "0" * 8 + SUB[8:]}]}},
    )
    later = json.loads(renewal.request(json.dumps({"UserPoolId": "us-east-1_flow1234", "status": "OFFBOARDING", "userId": SUB})))
    assert later == {"UserPoolId": "us-east-1_again567", "status": "OFFBOARDING", "userId": "0" * 8 + SUB[8:]}


def test_a_twin_named_for_the_replay_takes_the_place_of_what_the_flow_ended():
    twin = "tnt-2222222222222222"
    renewal = Renewal(known={KNOWN_TENANT, twin}, run=RUN, onto={KNOWN_TENANT: twin})
    assert json.loads(renewal.request(json.dumps({"tenantId": KNOWN_TENANT})))["tenantId"] == twin


def test_started_executions_and_put_events_go_where_they_start_nothing():
    sinks = {"stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:sink", "eventBusName": "sink"}
    started = _redirected("StartExecution", {"stateMachineArn": "arn:...:TenantOnboarding", "name": "n", "input": "{}"}, sinks)
    assert started == {"stateMachineArn": sinks["stateMachineArn"], "name": "n", "input": "{}"}
    put = _redirected("PutEvents", {"Entries": [{"EventBusName": "tenantry", "DetailType": "TenantOnboarded"}]}, sinks)
    assert put == {"Entries": [{"EventBusName": "sink", "DetailType": "TenantOnboarded"}]}
    assert _redirected("GetItem", {"TableName": "t"}, sinks) == {"TableName": "t"}
