"""The local endpoint as clients meet it: any region and any credentials reach the one stack."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from tenantry_local.client import TenantryClient


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


def test_threads_of_one_client_share_one_watcher_of_outbound_events(runtime):
    """Each thread used to make a watcher of its own on first use; they drained one queue into separate lists,
    so a thread waited in vain for an event another thread's watcher had taken (registrations "lost" in a load test)."""
    client = TenantryClient.for_runtime(runtime, watcher_name="test-shared-watcher")
    barrier = threading.Barrier(8)

    def first_use(_):
        barrier.wait()
        return client.outbound

    with ThreadPoolExecutor(8) as pool:
        watchers = list(pool.map(first_use, range(8)))
    assert len({id(watcher) for watcher in watchers}) == 1
