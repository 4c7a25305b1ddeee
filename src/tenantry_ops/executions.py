"""Executions as an operator reads them: a filtered list, and one execution's story (its states in order with
their durations, inputs and outputs with secrets masked, its error, and the compensation it took)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tenantry_ops.stack import NotFound, Stack
from tenantry_ops.workflow_graph import layout

# Fields whose values are secrets (activation codes, task tokens, passwords, sessions, secret codes): never printed.
# A name ending so is one (code, taskToken, NewPassword, Session, SecretCode); these few are not.
SECRET_KEY = re.compile(r"(?i)(code|token|tokens|password|secret|session)$")
NOT_SECRET = frozenset({"errorcode", "statuscode", "httpstatuscode", "reasoncode", "tokentype"})
MASK = "***"
# In text (an error's cause that quotes a state's input): "<secret-named key>": "<value>"
SECRET_IN_TEXT = re.compile(r'("\w*(?:[Cc]ode|[Tt]oken|[Pp]assword|[Ss]ecret|[Ss]ession)\\?"\s*:\s*\\?")[^"\\]*')
# A filter on inputs (--tenant, --request) reads at most this many executions per workflow (DescribeExecution)
SCANNED_PER_WORKFLOW = 1000


class ExecutionNotFound(NotFound):
    pass


def is_secret(key: str) -> bool:
    return bool(SECRET_KEY.search(key)) and key.lower() not in NOT_SECRET


def masked(value: Any) -> Any:
    """`value` with the value of every secret-named field replaced by MASK (at any depth, and inside text)."""
    if isinstance(value, dict):
        return {k: MASK if is_secret(k) and v not in (None, "") else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    if isinstance(value, str):
        return SECRET_IN_TEXT.sub(lambda match: match.group(1) + MASK, value)
    return value


def _parsed(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _mentions(described: dict[str, Any], value: str) -> bool:
    """Whether the execution's input or output holds `value` as a whole JSON string."""
    quoted = json.dumps(value)
    return quoted in (described.get("input") or "") or quoted in (described.get("output") or "")


def request_execution_names(request: str) -> set[str]:
    """The names a request's execution can have: one per workflow a request starts (tenantry.naming)."""
    from tenantry.naming import WORKFLOW_PREFIXES, execution_name

    return {execution_name(prefix, request, request) for prefix in WORKFLOW_PREFIXES.values()}


def list_executions(
    stack: Stack,
    workflow: str | None = None,
    status: str | None = None,
    tenant: str | None = None,
    request: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    until: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Executions newest first (at most `limit`), filtered. A tenant or request filter reads each candidate's input
    and output (DescribeExecution), at most SCANNED_PER_WORKFLOW per workflow: `progress` hears how far it got, and
    where it stopped short. A request's own execution is found by its name; any other by its input or output."""
    sfn = stack.client("stepfunctions")
    workflows = stack.workflows
    if workflow and workflow not in workflows:
        raise ExecutionNotFound(f"no workflow {workflow}: one of {', '.join(workflows)}")
    named = request_execution_names(request) if request else set()

    def wanted(execution: dict[str, Any]) -> bool:
        if not tenant and (not request or execution["name"] in named):
            return True  # (decided without reading it)
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        return (not tenant or _mentions(described, tenant)) and (
            not request or execution["name"] in named or _mentions(described, request)
        )

    rows: list[dict[str, Any]] = []
    for name, arn in workflows.items():
        if workflow and name != workflow:
            continue
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, **({"statusFilter": status} if status else {}))
        found, read = 0, _Reading(name, progress, needs_reading=bool(tenant or request))
        for execution in (e for page in pages for e in page["executions"]):
            if since and execution["startDate"] < since:
                break
            if until and execution["startDate"] > until:
                continue
            if not read.one_more():
                break
            if wanted(execution):
                rows.append(_row(name, execution))
                found += 1
                if found >= limit:
                    break
    return sorted(rows, key=lambda row: row["started"], reverse=True)[:limit]


class _Reading:
    """How many executions a filter on inputs has read in one workflow: it stops at SCANNED_PER_WORKFLOW, and says
    how far it got, and where it stopped, to `progress`."""

    def __init__(self, workflow: str, progress: Callable[[str], None] | None, needs_reading: bool) -> None:
        self.workflow, self.progress, self.needs_reading, self.read = workflow, progress, needs_reading, 0

    def one_more(self) -> bool:
        if not self.needs_reading:
            return True
        self.read += 1
        if self.read > SCANNED_PER_WORKFLOW:
            self._say(f"stopped after reading {SCANNED_PER_WORKFLOW} executions (narrow it with --since)")
            return False
        if self.read % 100 == 0:
            self._say(f"{self.read} executions read")
        return True

    def _say(self, text: str) -> None:
        if self.progress:
            self.progress(f"{self.workflow}: {text}")


def _row(workflow: str, execution: dict[str, Any]) -> dict[str, Any]:
    started, stopped = execution["startDate"], execution.get("stopDate")
    return {
        "workflow": workflow,
        "name": execution["name"],
        "status": execution["status"],
        "started": started.isoformat(timespec="milliseconds"),
        "seconds": round((stopped - started).total_seconds(), 3) if stopped else None,
        "executionArn": execution["executionArn"],
    }


def find_execution(stack: Stack, name: str, workflow: str | None = None) -> tuple[str, dict[str, Any]]:
    """(workflow, DescribeExecution) of the execution called `name` (execution names are unique per workflow)."""
    sfn = stack.client("stepfunctions")
    for candidate, arn in stack.workflows.items():
        if workflow and candidate != workflow:
            continue
        try:
            return candidate, sfn.describe_execution(executionArn=arn.replace(":stateMachine:", ":execution:") + f":{name}")
        except sfn.exceptions.ExecutionDoesNotExist:
            continue
    raise ExecutionNotFound(f"no execution named {name}")


def _entered(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("stateEnteredEventDetails", {}).get("name") == name


def state_kinds(definition: dict[str, Any], compensating: bool = False) -> dict[str, tuple[str, bool]]:
    """Every state of the definition, those of its Map iterators and Parallel branches included: name -> (its type,
    whether it is compensation: only a Catch reaches it, or it runs inside a state that is)."""
    compensation = layout(definition)["compensation"]
    kinds: dict[str, tuple[str, bool]] = {}
    for name, state in definition["States"].items():
        undoing = compensating or name in compensation
        kinds[name] = (state["Type"], undoing)
        nested = [state.get("ItemProcessor") or state.get("Iterator"), *state.get("Branches", [])]
        for machine in filter(None, nested):
            kinds |= state_kinds(machine, undoing)
    return kinds


def execution_story(stack: Stack, name: str, workflow: str | None = None) -> dict[str, Any]:
    """One execution: each state it entered, in order, with its duration, masked input and output, the error
    it raised; the execution's error; and the compensation it took (the tasks only a Catch leads to).

    A state's exit and a task's failure are matched to the entry they follow along the history's
    previousEventId chain, so the iterations of a Map that run at once are told apart (each with its index)."""
    sfn = stack.client("stepfunctions")
    workflow, described = find_execution(stack, name, workflow)
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=described["stateMachineArn"])["definition"])
    kinds = state_kinds(definition)
    events = [
        e
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=described["executionArn"])
        for e in page["events"]
    ]
    by_id = {e["id"]: e for e in events}

    def back_to(event: dict[str, Any], wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The nearest event before `event` on its previousEventId chain that is `wanted`."""
        found = by_id.get(event.get("previousEventId", 0))
        while found is not None and not wanted(found):
            found = by_id.get(found.get("previousEventId", 0))
        return found

    states: list[dict[str, Any]] = []
    entries: dict[int, dict[str, Any]] = {}  # a StateEntered event's id -> its state
    error: dict[str, Any] | None = None
    for event in events:
        if "stateEnteredEventDetails" in event:
            details = event["stateEnteredEventDetails"]
            kind, undoing = kinds.get(details["name"], (None, False))
            state = {
                "state": details["name"],
                "entered": event["timestamp"].isoformat(timespec="milliseconds"),
                "seconds": None,
                "type": details.get("type") or kind,
                "compensation": undoing,
                "input": masked(_parsed(details.get("input"))),
            }
            if details["name"] not in definition["States"]:  # inside a Map: which iteration
                started = back_to(event, lambda e: "mapIterationStartedEventDetails" in e)
                if started is not None:
                    state["iteration"] = started["mapIterationStartedEventDetails"].get("index")
            states.append(state)
            entries[event["id"]] = state
        elif "stateExitedEventDetails" in event:
            details = event["stateExitedEventDetails"]
            entry = back_to(event, _entered(details["name"]))
            if entry is not None and entry["id"] in entries:
                entries[entry["id"]]["seconds"] = round((event["timestamp"] - entry["timestamp"]).total_seconds(), 3)
                entries[entry["id"]]["output"] = masked(_parsed(details.get("output")))
        else:
            failure = next((v for k, v in event.items() if k.endswith("FailedEventDetails") and isinstance(v, dict)), None)
            entry = back_to(event, lambda e: "stateEnteredEventDetails" in e) if failure else None
            if failure and failure.get("error") and entry is not None and entry["id"] in entries:
                entries[entry["id"]]["error"] = {"error": failure.get("error"), "cause": masked(failure.get("cause"))}
            if event["type"] in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
                error = {"error": (failure or {}).get("error", event["type"]), "cause": masked((failure or {}).get("cause"))}
    return {
        "workflow": workflow,
        "name": described["name"],
        "status": described["status"],
        "started": described["startDate"].isoformat(timespec="milliseconds"),
        "stopped": described["stopDate"].isoformat(timespec="milliseconds") if described.get("stopDate") else None,
        "input": masked(_parsed(described.get("input"))),
        "output": masked(_parsed(described.get("output"))),
        "error": error,
        "states": states,
        # the compensation's work: its tasks (undo calls, the failure's record and event), not its choices and ends
        "compensation": [s["state"] for s in states if s["compensation"] and s["type"] == "Task"],
    }
