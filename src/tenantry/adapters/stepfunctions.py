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
