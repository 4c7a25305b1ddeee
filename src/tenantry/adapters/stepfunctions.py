"""Starting workflow executions under names derived from the request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


@dataclass(frozen=True)
class StartOutcome:
    execution_name: str
    execution_arn: str | None
    already_started: bool


def start_execution(sfn_client: SFNClient, state_machine_arn: str, name: str, payload: dict[str, Any]) -> StartOutcome:
    """Start `name`; a name already used means this request was already taken up, which is not an error."""
    try:
        response = sfn_client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))
    except sfn_client.exceptions.ExecutionAlreadyExists:
        return StartOutcome(name, None, already_started=True)
    return StartOutcome(name, response["executionArn"], already_started=False)


def start_request_workflow(
    sfn_client: SFNClient, state_machine_arn: str, detail_type: str, detail: Any, event_id: str, source: str
) -> StartOutcome:
    """Start the workflow of one inbound request as every entry point does (the bus rule's target and the
    Identity API): the execution named after the request id (`register-<requestId>`), so the same request
    twice starts one execution, with the input `{detailType, detail, eventId, source}` the workflows read. A
    detail without a usable request id (the workflow rejects it) is named after `event_id`."""
    from tenantry.naming import WORKFLOW_PREFIXES, execution_name

    request_id = detail.get("requestId") if isinstance(detail, dict) else None
    name = execution_name(WORKFLOW_PREFIXES[detail_type], request_id, event_id)
    payload = {"detailType": detail_type, "detail": detail, "eventId": event_id, "source": source}
    return start_execution(sfn_client, state_machine_arn, name, payload)
