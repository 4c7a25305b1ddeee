"""Tenantry driven as any client would drive it, through the AWS APIs alone (boto3): post requests on its
bus, follow the executions named after them, watch the events it publishes, register and activate users.

    client = TenantryClient.for_endpoint("http://127.0.0.1:4566", outputs)   # `make local`
    client = TenantryClient(boto3.Session().client, outputs)                  # a deployed stack
    client = TenantryClient.for_runtime(runtime)                              # a LocalRuntime in this process

`outputs` are the stack's outputs (CloudFormation's, or the local runtime's `/_tenantry/health`). Used by the
demo, the bench and the tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from tenantry import schemas
from tenantry.adapters.dynamodb import get_plain
from tenantry.keys import profile_key, request_key, tenant_key
from tenantry.tenants import ONBOARDING_WORKFLOW

ClientFactory = Callable[[str], Any]  # service name -> boto3 client, like boto3.Session().client
WAITING_FOR_ACTIVATION = "IssueActivationCodeAndWait"
POLL_SECONDS = 0.05


TOTP_STEP_SECONDS = 30


def totp_code(secret: str, at: float | None = None) -> str:
    """The 6-digit code an authenticator app shows now for a base32 `secret` (RFC 6238: SHA-1, 30 s steps), as
    Cognito checks it. Within the last 2 s of a step it waits for the next one, so the code is still good when it
    arrives (Cognito accepts the current step only)."""
    now = time.time() if at is None else at
    if at is None and TOTP_STEP_SECONDS - now % TOTP_STEP_SECONDS < 2:
        time.sleep(TOTP_STEP_SECONDS - now % TOTP_STEP_SECONDS + 0.05)
        now = time.time()
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(now) // TOTP_STEP_SECONDS), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def free_port(preferred: int = 0) -> int:
    """`preferred` if it is free on 127.0.0.1, else (or for 0) any free port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OutboundEvents:
    """What a downstream consumer does: a rule on `source: tenantry` delivering to its own queue. Every event
    received is kept in `seen`; what breaks the contract (source, schema) is listed in `violations`."""

    def __init__(
        self, client: ClientFactory, bus: str, name: str = "tenantry-outbound-watch", settle: Callable[[], object] | None = None
    ):
        self._sqs = client("sqs")
        self._settle = settle
        events = client("events")
        self.queue_url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["tenantry"]}))
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "watch", "Arn": queue_arn}])
        self.seen: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self._lock = threading.Lock()

    def drain(self) -> list[dict[str, Any]]:
        """Every event received so far (the queue is drained into `seen`)."""
        while True:
            messages = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return self.seen
            for message in messages:
                event = json.loads(message["Body"])
                with self._lock:
                    self.seen.append(event)
                    self.violations += self.check(event)
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def check(self, event: dict[str, Any]) -> list[str]:
        """What is wrong with an event Tenantry published: it must come from source tenantry and satisfy its
        schema. (Subclasses add checks; called once per event, in the order received.)"""
        found = [] if event["source"] == "tenantry" else [f"{event['detail-type']}: source {event['source']}"]
        try:
            schemas.check(event["detail-type"], event["detail"])
        except (schemas.SchemaViolation, schemas.UnknownEventType) as error:
            found.append(f"{event['detail-type']}: {error}")
        return found

    def matching(self, detail_type: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        """The events received so far of that detail-type (any when None) whose detail has these fields."""
        if self._settle:
            self._settle()
        self.drain()
        return [
            e
            for e in self.seen
            if (detail_type is None or e["detail-type"] == detail_type)
            and all(e["detail"].get(k) == v for k, v in fields.items())
        ]

    def wait_for(self, detail_type: str, timeout: float = 15.0, **fields: Any) -> list[dict[str, Any]]:
        """`matching(...)` as soon as it finds something; [] after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(detail_type, **fields)
            if found:
                return found
            time.sleep(POLL_SECONDS)
        return []


class TenantryClient:
    """What an upstream system and an operator do with Tenantry. `settle` (optional) waits until nothing is
    in flight: the local runtime offers it, a deployed stack does not (the waits poll either way)."""

    def __init__(
        self,
        client: ClientFactory,
        outputs: Mapping[str, Any],
        settle: Callable[[], object] | None = None,
        source: str = "tenantry.client",
        outbound: OutboundEvents | None = None,
        watcher_name: str = "tenantry-outbound-watch",
    ):
        self.outputs = dict(outputs)
        self.settle = settle
        self.source = source
        self.totp_secret = ""  # of the authenticator set up last (set_up_totp)
        self.events = client("events")
        self.sfn = client("stepfunctions")
        self.ddb = client("dynamodb")
        self.cognito = client("cognito-idp")
        self._client = client
        self._outbound = outbound
        self._outbound_lock = threading.Lock()
        self._watcher_name = watcher_name

    def aws(self, service: str) -> Any:
        """A client of any other service, made as this client's own are."""
        return self._client(service)

    @classmethod
    def for_endpoint(
        cls, endpoint_url: str, outputs: Mapping[str, Any], region: str = "us-east-1", **options: Any
    ) -> TenantryClient:
        """Tenantry served on `endpoint_url` (`make local`: any credentials work)."""
        import boto3

        session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=region)
        return cls(lambda service: session.client(service, endpoint_url=endpoint_url), outputs, **options)  # type: ignore[call-overload]

    @classmethod
    def for_runtime(cls, runtime: Any, **options: Any) -> TenantryClient:
        """A `tenantry_local.runtime.LocalRuntime` running in this process."""
        return cls(runtime.client, runtime.outputs, settle=runtime.wait_settled, **options)

    @property
    def outbound(self) -> OutboundEvents:
        """The watcher of Tenantry's events, made on first use unless one was given: it sees only what is
        published after it exists (`watch()` early to see everything)."""
        with self._outbound_lock:  # one watcher for all threads: each would otherwise drain into a `seen` of its own
            if self._outbound is None:
                self._outbound = OutboundEvents(self._client, self.outputs["EventBusName"], self._watcher_name, self.settle)
            return self._outbound

    def watch(self) -> OutboundEvents:
        """Start watching Tenantry's events now (if not yet)."""
        return self.outbound

    # ------------------------------------------------------------------ requests
    @staticmethod
    def request_id(prefix: str = "req") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    def register_source(self, tenants: tuple[str, ...] = ("*",), source: str | None = None) -> None:
        """What an operator does once per upstream system before it posts (`python -m tenantry.sources grant`):
        register this client's source for every request type, for `tenants` (any by default)."""
        from tenantry.sources import REQUEST_TYPES, SourceRegistry

        registry = SourceRegistry(self.outputs["TableName"], self.ddb)
        registry.grant(source or self.source, REQUEST_TYPES, tenants, "tenantry_local.client")

    def post(self, detail_type: str, detail: Any, source: str | None = None) -> None:
        entry = {
            "Source": source or self.source,
            "DetailType": detail_type,
            "EventBusName": self.outputs["EventBusName"],
            "Detail": json.dumps(detail),
        }
        response = self.events.put_events(Entries=[entry])
        if response["FailedEntryCount"]:
            raise RuntimeError(f"PutEvents refused {detail_type}: {response['Entries']}")

    # ------------------------------------------------------------------ executions
    def execution_arn(self, machine_output: str, name: str) -> str:
        return self.outputs[machine_output].replace(":stateMachine:", ":execution:") + f":{name}"

    def wait_execution(self, machine_output: str, name: str, timeout: float = 40.0) -> dict[str, Any]:
        """Wait until the execution has ended."""
        return self.wait_execution_state(machine_output, name, waiting_in=None, timeout=timeout)

    def wait_execution_state(
        self, machine_output: str, name: str, waiting_in: str | None = WAITING_FOR_ACTIVATION, timeout: float = 40.0
    ) -> dict[str, Any]:
        """Wait until the execution ends or parks in `waiting_in` (a task waiting for a callback); the result
        is DescribeExecution's with the last entered state as "state"."""
        found = self.wait_executions(machine_output, [name], waiting_in, timeout)
        if name not in found:
            raise TimeoutError(f"execution {name} did not finish (or reach {waiting_in}) within {timeout}s")
        return found[name]

    def wait_executions(
        self, machine_output: str, names: list[str], waiting_in: str | None = None, timeout: float = 60.0
    ) -> dict[str, dict[str, Any]]:
        """Each execution, by name, that ended (or parked in `waiting_in`) within `timeout`, as
        `wait_execution_state` describes it; the others are missing."""
        done: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(done) < len(names) and time.monotonic() < deadline:
            for name in names:
                if name not in done and (
                    described := self._ended_or_parked(self.execution_arn(machine_output, name), waiting_in)
                ):
                    done[name] = described
            if len(done) < len(names):
                time.sleep(POLL_SECONDS)
        return done

    def _ended_or_parked(self, arn: str, waiting_in: str | None) -> dict[str, Any] | None:
        try:
            described = self.sfn.describe_execution(executionArn=arn)
        except self.sfn.exceptions.ExecutionDoesNotExist:
            return None
        states = self.states(arn) if waiting_in or described["status"] != "RUNNING" else []
        if described["status"] != "RUNNING" or (states and states[-1] == waiting_in):
            return {**described, "state": states[-1] if states else None}
        return None

    def wait_idle(self, machine_output: str, timeout: float = 30.0) -> bool:
        """Until no execution of the state machine is running (False after `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.settle:
                self.settle()
            runs = self.sfn.list_executions(stateMachineArn=self.outputs[machine_output])["executions"]
            if all(r["status"] != "RUNNING" for r in runs):
                return True
            time.sleep(0.1)
        return False

    def wait_all_idle(self, timeout: float = 60.0) -> bool:
        """Until no execution of any of the stack's workflows is running."""
        machines = [output for output in self.outputs if output.endswith("StateMachineArn")]
        return all(self.wait_idle(machine, timeout) for machine in machines)

    def footprint(self) -> dict[str, Any]:
        """What Tenantry has made, to tell that something made it twice: every execution's name (per workflow),
        every item's key, the users of every pool, and the id of every outbound event seen so far."""
        listing = self.sfn.get_paginator("list_executions")
        executions = {
            output: sorted(e["name"] for page in listing.paginate(stateMachineArn=arn) for e in page["executions"])
            for output, arn in sorted(self.outputs.items())
            if output.endswith("StateMachineArn")
        }
        pages = self.ddb.get_paginator("scan").paginate(TableName=self.outputs["TableName"], ProjectionExpression="PK, SK")
        items = sorted((item["PK"]["S"], item["SK"]["S"]) for page in pages for item in page["Items"])
        pools = [
            pool["Id"]
            for page in self.cognito.get_paginator("list_user_pools").paginate(MaxResults=60)
            for pool in page["UserPools"]
        ]
        users = {
            pool: sorted(
                u["Username"]
                for page in self.cognito.get_paginator("list_users").paginate(UserPoolId=pool)
                for u in page["Users"]
            )
            for pool in pools
        }
        event_ids = sorted({event["detail"].get("eventId") for event in self.outbound.matching()} - {None})
        return {"executions": executions, "items": items, "users": users, "eventIds": event_ids}

    def _where_execution_is(self, machine_output: str, name: str) -> str:
        """An execution's status and the states it entered, to explain a wait that ran out."""
        arn = self.execution_arn(machine_output, name)
        try:
            status = self.sfn.describe_execution(executionArn=arn)["status"]
        except self.sfn.exceptions.ExecutionDoesNotExist:
            return f"execution {name} does not exist"
        return f"execution {name} is {status} after {' > '.join(self.states(arn))}"

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self.sfn.get_execution_history(executionArn=execution_arn)["events"]

    def states(self, execution_arn: str) -> list[str]:
        """The states the execution entered, in order."""
        return [e["stateEnteredEventDetails"]["name"] for e in self.history(execution_arn) if "stateEnteredEventDetails" in e]

    # ------------------------------------------------------------------ scenarios
    def tenants(self, request_ids: list[str]) -> list[dict[str, Any]]:
        """The tenant records the onboarding requests created: each request's reservation names its tenant (two
        reads a request, where a scan would read the whole table, a page at a time)."""
        table, found = self.outputs["TableName"], []
        for request_id in request_ids:
            reservation = get_plain(self.ddb, table, request_key(ONBOARDING_WORKFLOW, request_id))
            tenant = get_plain(self.ddb, table, tenant_key(reservation["tenantId"])) if reservation else None
            if tenant is not None:
                found.append(tenant)
        return found

    def onboard(self, detail: dict[str, Any], timeout: float = 40.0) -> dict[str, Any]:
        """Post a TenantOnboardingRequested, wait for its execution to succeed; the tenant record."""
        self.post("TenantOnboardingRequested", detail)
        name = f"onboard-{detail['requestId']}"
        execution = self.wait_execution("TenantOnboardingStateMachineArn", name, timeout)
        if execution["status"] != "SUCCEEDED":
            raise RuntimeError(f"{name} {execution['status']}: {execution.get('error')}: {execution.get('cause')}")
        return self.tenants([detail["requestId"]])[0]

    def register(self, detail: dict[str, Any]) -> str:
        """Post a UserRegistrationRequested; its request id."""
        self.watch()  # before posting, so that its events are seen
        self.post("UserRegistrationRequested", detail)
        return detail["requestId"]

    def activate(self, request_id: str, timeout: float = 20.0) -> str:
        """What the user does with the emailed code: find it (UserActivationCodeIssued, as the notification
        service would) and post UserActivationRequested. The registered user's id."""
        registered = self.outbound.wait_for("UserRegistered", timeout=timeout, requestId=request_id)
        issued = registered and self.outbound.wait_for(
            "UserActivationCodeIssued", timeout=timeout, userId=registered[0]["detail"]["userId"]
        )
        if not issued:
            where = self._where_execution_is("UserRegistrationStateMachineArn", f"register-{request_id}")
            raise TimeoutError(f"no activation code issued for registration {request_id} within {timeout}s; {where}")
        self.post("UserActivationRequested", {"requestId": f"{request_id}-activation", "code": issued[0]["detail"]["code"]})
        return registered[0]["detail"]["userId"]

    def register_and_activate(self, detail: dict[str, Any], timeout: float = 40.0) -> dict[str, Any]:
        """Register a user, activate them with the emailed code, wait for the registration to succeed; the
        user's profile."""
        request_id = self.register(detail)
        user_id = self.activate(request_id, timeout=timeout / 2)
        execution = self.wait_execution("UserRegistrationStateMachineArn", f"register-{request_id}", timeout)
        if execution["status"] != "SUCCEEDED":
            raise RuntimeError(f"register-{request_id} {execution['status']}: {execution.get('error')}: {execution.get('cause')}")
        profile = self.profile(user_id)
        if profile is None:
            raise RuntimeError(f"register-{request_id} succeeded but user {user_id} has no profile")
        if profile.get("status") != "ACTIVE":  # the code expired before the activation got through
            raise RuntimeError(f"register-{request_id} ended with the profile {profile.get('status')}, not ACTIVE")
        return profile

    def profile(self, user_id: str) -> dict[str, Any] | None:
        return get_plain(self.ddb, self.outputs["TableName"], profile_key(user_id))

    # ------------------------------------------------------------------ a user's own calls
    def sign_in(self, client_id: str, username: str, password: str, mfa_code: str | None = None) -> dict[str, Any]:
        """Password sign-in, answering the TOTP challenge with `mfa_code` when Cognito asks for one (without
        a code, the challenge is returned)."""
        result = self.cognito.initiate_auth(
            ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": password}
        )
        if result.get("ChallengeName") == "SOFTWARE_TOKEN_MFA" and mfa_code:
            result = self.cognito.respond_to_auth_challenge(
                ClientId=client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                Session=result["Session"],
                ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": mfa_code},
            )
        return result

    def set_up_totp(self, access_token: str) -> str:
        """What the user does in the app: associate an authenticator, verify it with its code, prefer it; the
        authenticator's secret (`totp_code(secret)` is the code it shows)."""
        secret: str = self.cognito.associate_software_token(AccessToken=access_token)["SecretCode"]
        self.totp_secret = secret
        self.cognito.verify_software_token(AccessToken=access_token, UserCode=totp_code(secret))
        self.cognito.set_user_mfa_preference(
            AccessToken=access_token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )
        return secret

    def totp_now(self) -> str:
        """The current code of the authenticator set up last (`set_up_totp`)."""
        return totp_code(self.totp_secret)

    def refreshed(self, client_id: str, refresh_token: str) -> str | None:
        """Refresh with `refresh_token`: the refresh token to use next (a rotating app client answers a new one),
        or None when Cognito refuses it (the user's sessions were revoked, or a refresh already retired it)."""
        errors = self.cognito.exceptions
        try:
            answer = self.cognito.get_tokens_from_refresh_token(ClientId=client_id, RefreshToken=refresh_token)
        except (errors.NotAuthorizedException, errors.RefreshTokenReuseException):
            return None
        return str(answer["AuthenticationResult"].get("RefreshToken") or refresh_token)

    def refresh_refused(self, client_id: str, refresh_token: str) -> bool:
        """Whether Cognito refuses the refresh token (the user's sessions were revoked)."""
        return self.refreshed(client_id, refresh_token) is None
