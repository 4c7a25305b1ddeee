"""The local endpoint as clients meet it: any region and any credentials reach the one stack."""

from __future__ import annotations

import boto3
import pytest


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2"])
def test_a_client_in_another_region_sees_the_stack(runtime, region):
    # Given a client configured for a region other than the stack's, with its own credentials
    def client(service):
        return boto3.client(
            service,
            endpoint_url=runtime.endpoint,
            region_name=region,
            aws_access_key_id="someone",
            aws_secret_access_key="else",
        )

    # Then it sees the stack's state machines, user pools, tables and bus, as the README promises
    machines = {m["stateMachineArn"] for m in client("stepfunctions").list_state_machines()["stateMachines"]}
    assert runtime.outputs["TenantOnboardingStateMachineArn"] in machines
    pools = {p["Id"] for p in client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]}
    assert runtime.outputs["SharedUserPoolId"] in pools
    assert runtime.outputs["TableName"] in client("dynamodb").list_tables()["TableNames"]
    buses = {b["Name"] for b in client("events").list_event_buses()["EventBuses"]}
    assert runtime.outputs["EventBusName"] in buses
