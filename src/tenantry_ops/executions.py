"""Executions as an operator reads them: a filtered list, and one execution's story (its states in order with
their durations, inputs and outputs with secrets masked, its error, and the compensation it took)."""

from __future__ import annotations

import json
import re
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
# DescribeExecution history is read for at most this many executions per workflow when a filter needs inputs
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


def list_executions(
    stack: Stack,
    workflow: str | None = None,
    status: str | None = None,
    tenant: str | None = None,
    request: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Executions newest first (at most `limit` per workflow), filtered. A tenant or request filter reads each
    candidate's input and output (DescribeExecution): the request id is also matched on the execution's name."""
    sfn = stack.client("stepfunctions")
    workflows = stack.workflows
    if workflow and workflow not in workflows:
        raise ExecutionNotFound(f"no workflow {workflow}: one of {', '.join(workflows)}")
    rows: list[dict[str, Any]] = []
    for name, arn in workflows.items():
        if workflow and name != workflow:
            continue
        found = scanned = 0
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, **({"statusFilter": status} if status else {}))
        for execution in (e for page in pages for e in page["executions"]):
            if since and execution["startDate"] < since:
                break
            scanned += 1
            if scanned > SCANNED_PER_WORKFLOW:  # (a filter on inputs reads each one: --since narrows it)
                break
            if tenant or (request and not execution["name"].endswith(f"-{request}")):
                described = sfn.describe_execution(executionArn=execution["executionArn"])
                if (tenant and not _mentions(described, tenant)) or (
                    request and not execution["name"].endswith(f"-{request}") and not _mentions(described, request)
                ):
                    continue
            rows.append(_row(name, execution))
            found += 1
            if found >= limit:
                break
    return sorted(rows, key=lambda row: row["started"], reverse=True)


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


def execution_story(stack: Stack, name: str, workflow: str | None = None) -> dict[str, Any]:
    """One execution: each state it entered, in order, with its duration, masked input and output, the error
    it raised; the execution's error; and the compensation it took (the tasks only a Catch leads to)."""
    sfn = stack.client("stepfunctions")
    workflow, described = find_execution(stack, name, workflow)
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=described["stateMachineArn"])["definition"])
    compensation = layout(definition)["compensation"]
    events = [
        e
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=described["executionArn"])
        for e in page["events"]
    ]
    states: list[dict[str, Any]] = []
    open_states: dict[str, dict[str, Any]] = {}
    error: dict[str, Any] | None = None
    for event in events:
        if "stateEnteredEventDetails" in event:
            details = event["stateEnteredEventDetails"]
            state = {
                "state": details["name"],
                "entered": event["timestamp"].isoformat(timespec="milliseconds"),
                "seconds": None,
                "type": details.get("type") or definition["States"].get(details["name"], {}).get("Type"),
                "compensation": details["name"] in compensation,
                "input": masked(_parsed(details.get("input"))),
            }
            states.append(state)
            open_states[details["name"]] = {**state, "_at": event["timestamp"]}
        elif "stateExitedEventDetails" in event:
            details = event["stateExitedEventDetails"]
            opened = open_states.pop(details["name"], None)
            for state in reversed(states):
                if state["state"] == details["name"] and state["seconds"] is None and opened:
                    state["seconds"] = round((event["timestamp"] - opened["_at"]).total_seconds(), 3)
                    state["output"] = masked(_parsed(details.get("output")))
                    break
        else:
            failure = next((v for k, v in event.items() if k.endswith("FailedEventDetails") and isinstance(v, dict)), None)
            if failure and states:
                states[-1]["error"] = {"error": failure.get("error"), "cause": masked(failure.get("cause"))}
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
