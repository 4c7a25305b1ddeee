"""Tenantry driven as an upstream system and an operator would, in test-sized helpers, and a watcher of
its outbound events made the way any client would (a rule on `source: tenantry` with an SQS target)."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from typing import Any

from helpers import onboarding_request, registration_request

SECRET_BEARING_EVENT = "UserActivationCodeIssued"
SECRET_FIELD = re.compile(r"(?i)code|token|password|secret")


class OutboundEvents:
    """Every event Tenantry published on its bus while the session ran."""

    def __init__(self, runtime: Any):
        self._runtime = runtime
        self._sqs = runtime.client("sqs")
        events = runtime.client("events")
        self.queue_url = self._sqs.create_queue(QueueName="test-outbound-watch")["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = runtime.outputs["EventBusName"]
        events.put_rule(Name="test-outbound-watch", EventBusName=bus, EventPattern=json.dumps({"source": ["tenantry"]}))
        events.put_targets(Rule="test-outbound-watch", EventBusName=bus, Targets=[{"Id": "watch", "Arn": queue_arn}])
        self.seen: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.codes: set[str] = set()
        self._lock = threading.Lock()

    def drain(self) -> list[dict[str, Any]]:
        while True:
            messages = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            for message in messages:
                event = json.loads(message["Body"])
                with self._lock:
                    self.seen.append(event)
                    self.violations += self._violations(event)
                    if event["detail-type"] == SECRET_BEARING_EVENT:
                        self.codes.add(event["detail"]["code"])
                    else:
                        self.violations += self._secrets_in(event)
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return self.seen

    @staticmethod
    def _violations(event: dict[str, Any]) -> list[str]:
        """Every event Tenantry publishes must satisfy its schema and come from source tenantry."""
        from tenantry import schemas

        found = [] if event["source"] == "tenantry" else [f"{event['detail-type']}: source {event['source']}"]
        try:
            schemas.check(event["detail-type"], event["detail"])
        except (schemas.SchemaViolation, schemas.UnknownEventType) as error:
            found.append(f"{event['detail-type']}: {error!r}")
        return found

    def _secrets_in(self, event: dict[str, Any]) -> list[str]:
        """No event but UserActivationCodeIssued carries a secret: no code, token or password field, and
        none of the activation codes issued so far anywhere in it."""
        text = json.dumps(event["detail"])
        found = [f"{event['detail-type']}: field {k}" for k in event["detail"] if SECRET_FIELD.search(k)]
        found += [f"{event['detail-type']}: carries an activation code" for code in self.codes if code in text]
        return found

    def matching(self, detail_type: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        self._runtime.wait_settled()
        self.drain()
        return [
            e
            for e in self.seen
            if (detail_type is None or e["detail-type"] == detail_type)
            and all(e["detail"].get(k) == v for k, v in fields.items())
        ]

    def wait_for(self, detail_type: str, timeout: float = 15.0, **fields: Any) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(detail_type, **fields)
            if found:
                return found
            time.sleep(0.05)
        return []


class Tenantry:
    """What an upstream system and an operator do, in test-sized helpers."""

    def __init__(self, runtime: Any, outbound: OutboundEvents):
        self.rt = runtime
        self.outbound = outbound
        self.events = runtime.client("events")
        self.sfn = runtime.client("stepfunctions")
        self.ddb = runtime.client("dynamodb")
        self.cognito = runtime.client("cognito-idp")
        self.outputs = runtime.outputs

    @staticmethod
    def request_id(prefix: str = "req") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    def post(self, detail_type: str, detail: Any, source: str = "test.crm") -> None:
        response = self.events.put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "EventBusName": self.outputs["EventBusName"],
                    "Detail": json.dumps(detail),
                }
            ]
        )
        assert response["FailedEntryCount"] == 0

    def wait_execution(self, machine_output: str, name: str, timeout: float = 40.0) -> dict[str, Any]:
        """Wait until the execution has ended."""
        return self.wait_execution_state(machine_output, name, waiting_in=None, timeout=timeout)

    def wait_execution_state(
        self, machine_output: str, name: str, waiting_in: str | None = "IssueActivationCodeAndWait", timeout: float = 40.0
    ) -> dict[str, Any]:
        """Wait until the execution ends or parks in `waiting_in` (a task waiting for a callback);
        the result has the last entered state as "state"."""
        arn = self.outputs[machine_output].replace(":stateMachine:", ":execution:") + f":{name}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                described = self.sfn.describe_execution(executionArn=arn)
            except self.sfn.exceptions.ExecutionDoesNotExist:
                time.sleep(0.05)
                continue
            states = self.states(arn) if waiting_in or described["status"] != "RUNNING" else []
            if described["status"] != "RUNNING" or (states and states[-1] == waiting_in):
                return {**described, "state": states[-1] if states else None}
            time.sleep(0.05)
        raise AssertionError(f"execution {name} did not finish (or reach {waiting_in}) within {timeout}s")

    def states(self, execution_arn: str) -> list[str]:
        history = self.sfn.get_execution_history(executionArn=execution_arn)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self.sfn.get_execution_history(executionArn=execution_arn)["events"]

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        from tenantry.adapters.dynamodb import from_item

        item = self.ddb.get_item(
            TableName=self.outputs["TableName"], Key={"PK": {"S": pk}, "SK": {"S": sk}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def tenants_for_request(self, request_id: str) -> list[dict[str, Any]]:
        from tenantry.adapters.dynamodb import from_item

        items = self.ddb.scan(
            TableName=self.outputs["TableName"],
            FilterExpression="requestId = :r AND entity = :t",
            ExpressionAttributeValues={":r": {"S": request_id}, ":t": {"S": "Tenant"}},
        )["Items"]
        return [from_item(i) for i in items]

    def pools_named(self, name: str) -> list[dict[str, Any]]:
        pools = self.cognito.list_user_pools(MaxResults=60)["UserPools"]
        return [p for p in pools if p["Name"] == name]

    def shared_users_of(self, tenant_id: str) -> list[dict[str, Any]]:
        users = self.cognito.list_users(UserPoolId=self.outputs["SharedUserPoolId"])["Users"]
        return [u for u in users if u["Username"].startswith(f"{tenant_id}/")]

    def profiles_of(self, tenant_id: str) -> list[dict[str, Any]]:
        return self.ddb.query(
            TableName=self.outputs["TableName"],
            IndexName="ByTenant",
            KeyConditionExpression="GSI1PK = :t",
            ExpressionAttributeValues={":t": {"S": f"TENANT#{tenant_id}"}},
        )["Items"]

    def arm_fault(self, **spec: Any) -> None:
        self.rt.faults.arm(spec)

    def onboarded(self, isolation: str) -> dict[str, Any]:
        request_id = self.request_id(f"t-{isolation}")
        self.post("TenantOnboardingRequested", onboarding_request(request_id, isolation))
        assert self.wait_execution("TenantOnboardingStateMachineArn", f"onboard-{request_id}")["status"] == "SUCCEEDED"
        return self.tenants_for_request(request_id)[0]

    def active_user(self, tenant: dict[str, Any], role: str = "Member", password: str = "Correct-Horse-9") -> dict[str, Any]:
        """Register and activate a user (as the registration workflow does), give them a password."""
        request_id = self.request_id(f"u-{role.lower()}")
        self.post("UserRegistrationRequested", registration_request(request_id, tenant["tenantId"], role))
        [registered] = self.outbound.wait_for("UserRegistered", requestId=request_id)
        user_id = registered["detail"]["userId"]
        [issued] = self.outbound.wait_for("UserActivationCodeIssued", userId=user_id)
        self.post("UserActivationRequested", {"requestId": f"{request_id}-act", "code": issued["detail"]["code"]})
        assert self.wait_execution("UserRegistrationStateMachineArn", f"register-{request_id}")["status"] == "SUCCEEDED"
        profile = self.item(f"USER#{user_id}", "PROFILE")
        self.cognito.admin_set_user_password(
            UserPoolId=tenant["userPoolId"], Username=profile["username"], Password=password, Permanent=True
        )
        return {**profile, "userPoolId": tenant["userPoolId"], "clientId": tenant["appClientId"], "password": password}
