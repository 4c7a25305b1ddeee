"""Workflow step (waitForTaskToken): issue the activation code and leave the registration waiting on it.

The code goes out only in UserActivationCodeIssued; what returns to the workflow is its expiry."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from tenantry.activation import ActivationStore, issue_code
from tenantry.adapters import client
from tenantry.adapters.eventbridge import EventPublisher
from tenantry.config import load_settings
from tenantry.observability import logger, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class IssueActivationCodeTask(TypedDict):
    """The state input: the reserved registration and the token the workflow waits on."""

    registration: dict[str, Any]
    taskToken: str


@dataclass(frozen=True)
class Settings:
    table_name: str
    event_bus_name: str
    activation_code_ttl_seconds: int


SETTINGS = load_settings(Settings)
log = logger()


@traced
def handler(event: IssueActivationCodeTask, context: LambdaContext) -> dict[str, Any]:
    issued = issue_code(
        ActivationStore(SETTINGS.table_name, client("dynamodb")),
        EventPublisher(SETTINGS.event_bus_name, client("events")),
        registration=event["registration"],
        task_token=event["taskToken"],
        ttl_seconds=SETTINGS.activation_code_ttl_seconds,
    )
    log.info("activation code issued", extra={"user_id": event["registration"]["userId"], "expires_at": issued.expiresAt})
    return asdict(issued)
