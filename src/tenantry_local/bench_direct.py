"""The same AWS calls made directly: a flow's calls, as the local runtime recorded them (`CallAccounting.captured`),
sent again against the same runtime, one after another from one client, without the workflow, the functions and
the events between them. `make bench` sets a flow's wall time against the time these take.

A call sent again as it was recorded would mostly be refused (its request id, tenant or user exists now), so the
identifiers the flow made are renewed: each tenant id, UUID, API request id and the bench's run id that the runtime
did not hold before the flow gets a fresh one (the same one wherever it recurs), and what a renewed call answers
differently (a new pool's id, a new user's sub) replaces what the flow's call answered, in every later call. Two
kinds of call are sent elsewhere, so that the replay starts nothing of its own: StartExecution to a state machine of
one Succeed state, PutEvents to an event bus without rules. A call can still be refused (a task token already used,
a user the flow deleted): such calls are counted and shown with the figure, never hidden."""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tenantry_local.provisioner import LOCAL_ROLE_ARN

IDENTIFIERS = (
    r"tnt-[0-9a-f]{16}",  # tenantry.tenants
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",  # Cognito subs and the like
    r"api-[0-9a-f]{32}",  # request ids the API makes
    r"\b[0-9a-f]{64}\b",  # digests (an activation code's)
    r"(?<![\w.+-])@[A-Za-z][A-Za-z0-9]*",  # handles, claimed per tenant (not an email's domain)
)
SINK = "bench-direct-sink"  # the state machine and the event bus that replayed calls are sent to


@dataclass
class DirectReplay:
    """What sending a flow's calls again took: seconds in the client calls, the calls sent, the refused ones by
    their error code."""

    seconds: float = 0.0
    sent: int = 0
    refused: Counter[str] = field(default_factory=Counter)


class Renewal:
    """The identifiers a replay renews, and their new values."""

    def __init__(self, known: set[str], run: str, onto: dict[str, str] | None = None) -> None:
        self.known = known  # identifiers the runtime held before the flow (kept as they are)
        self.run, self.new_run = run, f"d{secrets.token_hex(4)}"
        # `onto`: what the flow changed that existed before it, and its twin set up for the replay (offboarding)
        self.renewed: dict[str, str] = dict(onto or {})
        self._pattern = re.compile("|".join([*IDENTIFIERS, _run_strings(run)]))

    def request(self, text: str) -> str:
        """The recorded request with its identifiers renewed."""
        for old in sorted(self.renewed, key=len, reverse=True):  # (answered values first: a pool id inside an ARN)
            text = text.replace(old, self.renewed[old])
        kept = self.known | set(self.renewed.values())
        return self._pattern.sub(lambda m: m[0] if m[0] in kept and not _handle(m[0]) else self._fresh(m[0]), text)

    def answer(self, recorded: Any, now: Any) -> None:
        """Where the renewed call answered otherwise than the recorded one, later calls use the new answer."""
        if isinstance(recorded, dict) and isinstance(now, dict):
            for key in recorded.keys() & now.keys():
                self.answer(recorded[key], now[key])
        elif isinstance(recorded, list) and isinstance(now, list):
            for old, new in zip(recorded, now, strict=False):
                self.answer(old, new)
        elif isinstance(recorded, str) and isinstance(now, str) and recorded != now and _identifier_like(recorded):
            self.renewed.setdefault(recorded, now)

    def renew(self, old: str) -> str:
        """A value of the flow's, renewed whatever it looks like."""
        return self.renewed.setdefault(old, str(uuid.uuid4()))

    def _fresh(self, old: str) -> str:
        if old not in self.renewed:
            if old.startswith("tnt-"):
                self.renewed[old] = f"tnt-{secrets.token_hex(8)}"
            elif old.startswith("api-"):
                self.renewed[old] = f"api-{uuid.uuid4().hex}"
            elif self.run in old:
                self.renewed[old] = old.replace(self.run, self.new_run)
            elif old.startswith("@"):
                self.renewed[old] = f"{old}{secrets.randbelow(10**6)}"
            elif len(old) == 64:
                self.renewed[old] = secrets.token_hex(32)
            else:
                self.renewed[old] = str(uuid.uuid4())
        return self.renewed[old]


def _handle(value: str) -> bool:
    """A handle is claimed per tenant: one known in another tenant is still the flow's own to renew."""
    return value.startswith("@")


def _identifier_like(value: str) -> bool:
    """An id, an ARN, a token: long, no spaces, with a digit (not a status such as OFFBOARDING)."""
    return len(value) >= 8 and not any(c.isspace() for c in value) and any(c.isdigit() for c in value)


def _run_strings(run: str) -> str:
    """A pattern for the bench run's strings: its request ids, emails, execution names (each holds the run id)."""
    return rf"[\w.+@-]*{re.escape(run)}[\w.+@-]*"


def identifiers_in(text: str) -> set[str]:
    return set(re.findall("|".join(IDENTIFIERS), text))


def known_identifiers(runtime: Any, run: str) -> set[str]:
    """Every identifier the runtime holds now (the table, the user pools and their users), and every string of the
    run's that the table holds: read with the runtime's internal clients, so nothing of it is counted."""
    ddb, cognito = runtime.client("dynamodb", internal=True), runtime.client("cognito-idp", internal=True)
    texts = [
        json.dumps(page["Items"])
        for page in ddb.get_paginator("scan").paginate(TableName=runtime.outputs["TableName"])
    ]  # fmt: skip
    for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]:
        texts.append(pool["Id"])
        texts += [
            json.dumps(page["Users"], default=str) for page in cognito.get_paginator("list_users").paginate(UserPoolId=pool["Id"])
        ]
    whole = "\n".join(texts)
    return identifiers_in(whole) | set(re.findall(_run_strings(run), whole))


def make_sinks(runtime: Any) -> dict[str, str]:
    """The state machine of one Succeed state and the event bus without rules (internal clients: not counted)."""
    sfn, events = runtime.client("stepfunctions", internal=True), runtime.client("events", internal=True)
    machine = sfn.create_state_machine(
        name=SINK,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=LOCAL_ROLE_ARN,
    )["stateMachineArn"]
    events.create_event_bus(Name=SINK)
    return {"stateMachineArn": machine, "eventBusName": SINK}


def replay(
    runtime: Any, captured: list[Any], known: set[str], run: str, sinks: dict[str, str], onto: dict[str, str] | None = None
) -> DirectReplay:
    """Send `captured` (CapturedCall) again, in order, with one client per service of the runtime's endpoint."""
    from botocore.exceptions import ClientError

    renewal, result = Renewal(known, run, onto), DirectReplay()
    for captured_call in captured:
        call = captured_call.call
        params = _redirected(call.operation, json.loads(renewal.request(call.body) or "{}"), sinks)
        if "ClientRequestToken" in params:  # (a transaction's: the same token with other items is refused)
            params["ClientRequestToken"] = renewal.renew(params["ClientRequestToken"])
        method = getattr(runtime.client(call.service), _snake(call.operation))
        began = time.perf_counter()
        try:
            answer = method(**params)
        except ClientError as refused:
            result.seconds += time.perf_counter() - began
            if captured_call.status < 400:  # (a call the flow's runtime refused too is the same call)
                result.refused[refused.response["Error"]["Code"]] += 1
        else:
            result.seconds += time.perf_counter() - began
            answer.pop("ResponseMetadata", None)
            if captured_call.status < 400 and captured_call.answer:
                renewal.answer(json.loads(captured_call.answer), json.loads(json.dumps(answer, default=str)))
        result.sent += 1
    return result


def _redirected(operation: str, params: dict[str, Any], sinks: dict[str, str]) -> dict[str, Any]:
    if operation == "StartExecution":
        return params | {"stateMachineArn": sinks["stateMachineArn"]}
    if operation == "PutEvents":
        return params | {"Entries": [entry | {"EventBusName": sinks["eventBusName"]} for entry in params["Entries"]]}
    return params


def _snake(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))
