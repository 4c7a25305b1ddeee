"""What operators get from the template: error logs without execution data, traces, an alarm for every workflow,
queue, sign-in trigger and the stream publisher, each routed to the alarm topic, and one dashboard."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from helpers import ROOT
from tenantry_local.lambda_worker import load_handler
from tenantry_local.sam import local_path, to_cloudformation
from tenantry_local.template import load_template, parameter_values

TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
DEPLOYED = to_cloudformation(TEMPLATE, parameter_values(TEMPLATE))["Resources"]


def of_type(kind: str, resources: dict[str, Any] = RESOURCES) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


MACHINES = of_type("AWS::Serverless::StateMachine")
ALARMS = of_type("AWS::CloudWatch::Alarm")
FUNCTIONS = of_type("AWS::Serverless::Function")


def referenced(value: Any) -> set[str]:
    """Every logical id a value names (Ref, GetAtt, ${...} in Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".")[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
            found |= referenced(item)
    elif isinstance(value, list):
        for item in value:
            found |= referenced(item)
    return found


def alarms_on(logical_id: str, metric: str) -> list[str]:
    """The alarms that watch `metric` of the resource `logical_id` (alone or in a metric math expression)."""
    watching = []
    for name, alarm in ALARMS.items():
        properties = alarm["Properties"]
        stats = [m["MetricStat"]["Metric"] for m in properties.get("Metrics", []) if "MetricStat" in m]
        stats += [properties] if "MetricName" in properties else []
        if any(stat["MetricName"] == metric and logical_id in referenced(stat.get("Dimensions")) for stat in stats):
            watching.append(name)
    return watching


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_every_workflow_logs_its_errors_without_execution_data_and_is_traced(logical_id):
    properties = MACHINES[logical_id]["Properties"]
    logging = properties["Logging"]
    assert logging["Level"] == "ERROR" and logging["IncludeExecutionData"] is False
    [destination] = logging["Destinations"]
    group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert properties["Tracing"] == {"Enabled": True}
    # delivering logs needs the log-delivery actions on the machine's role
    assert {"Ref": "StateMachineLogDelivery"} in properties["Policies"]


@pytest.mark.parametrize("logical_id", sorted(MACHINES))
def test_every_workflow_has_an_alarm_on_failed_timed_out_and_aborted_executions(logical_id):
    [alarm] = set(alarms_on(logical_id, "ExecutionsFailed"))
    assert alarm in alarms_on(logical_id, "ExecutionsTimedOut") and alarm in alarms_on(logical_id, "ExecutionsAborted")
    expression = next(m["Expression"] for m in ALARMS[alarm]["Properties"]["Metrics"] if "Expression" in m)
    assert set(re.findall(r"\w+", expression)) == {"failed", "timedOut", "aborted"}


@pytest.mark.parametrize("logical_id", sorted(of_type("AWS::SQS::Queue")))
def test_every_queue_has_an_alarm_on_its_depth(logical_id):
    assert alarms_on(logical_id, "ApproximateNumberOfMessagesVisible"), f"no alarm on {logical_id}"


def sign_in_triggers() -> set[str]:
    """The functions Cognito calls on sign-up and sign-in (the shared pool's LambdaConfig names them)."""
    config = json.dumps(RESOURCES["SharedUserPool"]["Properties"]["LambdaConfig"])
    return {
        logical_id
        for logical_id, function in FUNCTIONS.items()
        if (name := function["Properties"].get("FunctionName")) and name["Fn::Sub"].split("}")[-1] in config
    }


def test_every_sign_in_trigger_and_the_authorizer_have_error_alarms_and_triggers_a_p99_alarm():
    triggers = sign_in_triggers()
    assert len(triggers) == 4
    for logical_id in [*triggers, "AuthorizerFunction"]:
        assert alarms_on(logical_id, "Errors"), f"no error alarm on {logical_id}"
    for logical_id in triggers:
        [duration] = alarms_on(logical_id, "Duration")
        assert ALARMS[duration]["Properties"]["ExtendedStatistic"] == "p99"


def test_the_stream_publisher_has_an_iterator_age_alarm():
    consumers = [
        logical_id
        for logical_id, function in FUNCTIONS.items()
        if any(event["Type"] == "DynamoDB" for event in (function["Properties"].get("Events") or {}).values())
    ]
    assert consumers
    for logical_id in consumers:
        assert alarms_on(logical_id, "IteratorAge"), f"no iterator age alarm on {logical_id}"


@pytest.mark.parametrize("logical_id", sorted(ALARMS))
def test_every_alarm_notifies_the_alarm_topic_when_one_is_given(logical_id):
    properties = ALARMS[logical_id]["Properties"]
    routed = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    assert properties["AlarmActions"] == routed and properties["OKActions"] == routed
    assert properties["TreatMissingData"] == "notBreaching"
    assert properties["AlarmDescription"]


def test_the_dashboard_is_valid_json_and_shows_every_workflow_queue_trigger_and_alarm():
    [dashboard] = of_type("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    json.loads(body)  # ${...} sit inside JSON strings: the body parses before substitution
    shown = referenced(dashboard["Properties"]["DashboardBody"])
    expected = set(MACHINES) | set(of_type("AWS::SQS::Queue")) | sign_in_triggers() | {"AuthorizerFunction"} | set(ALARMS)
    assert expected <= shown, expected - shown


# ------------------------------------------------------------------------------------- traces
NO_AWS_CALLS = {"ValidateRequestFunction"}  # checks a request against its schema: nothing to trace


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_functions_that_call_aws_are_traced_and_sign_in_triggers_stay_light(logical_id, monkeypatch):
    deployed = DEPLOYED[logical_id]["Properties"]
    assert deployed["TracingConfig"] == {"Mode": "Active"}
    parameters = parameter_values(TEMPLATE)
    for name, declared in (deployed.get("Environment", {}).get("Variables") or {}).items():
        value = str(parameters[declared["Ref"]]) if isinstance(declared, dict) and declared.get("Ref") in parameters else declared
        monkeypatch.setenv(name, value if isinstance(value, str) else f"placeholder-for-{name}")
    handler = load_handler(str(ROOT / str(local_path(deployed["Code"]))), deployed["Handler"])
    should_trace = logical_id not in sign_in_triggers() | NO_AWS_CALLS
    assert getattr(handler, "_traced", False) is should_trace
    if not should_trace:  # Powertools (and the X-Ray SDK it would patch botocore with) stays off the sign-in path
        source = (ROOT / str(local_path(deployed["Code"])) / "app.py").read_text()
        assert "observability" not in source and "aws_lambda_powertools import Tracer" not in source
