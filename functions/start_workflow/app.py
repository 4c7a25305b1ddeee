"""EventBridge rule target: start the workflow a request asks for, named after its request id.

A rule could start the state machine directly, but Step Functions would then name the execution with a
random id; starting it here gives operators `onboard-<requestId>` and makes redelivery harmless. It is also
where a request's source is judged (tenantry.sources): a request its source's grant does not cover ends in
its `*Failed` event with UNTRUSTED_SOURCE, and no execution is started (nor its name taken).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from tenantry.adapters import client
from tenantry.adapters.eventbridge import EventPublisher, OutboundEvent
from tenantry.adapters.stepfunctions import start_request_workflow
from tenantry.config import load_settings
from tenantry.events import FAILURE_EVENT_FOR, failure_detail
from tenantry.naming import WORKFLOW_PREFIXES, execution_name
from tenantry.observability import logger, traced
from tenantry.sources import UNTRUSTED_SOURCE, SourceRegistry, refusal

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True)
class Settings:
    tenant_onboarding_state_machine_arn: str
    tenant_offboarding_state_machine_arn: str
    user_registration_state_machine_arn: str
    mfa_requirement_change_state_machine_arn: str
    table_name: str
    event_bus_name: str


SETTINGS = load_settings(Settings)
WORKFLOWS = {
    "TenantOnboardingRequested": SETTINGS.tenant_onboarding_state_machine_arn,
    "TenantOffboardingRequested": SETTINGS.tenant_offboarding_state_machine_arn,
    "UserRegistrationRequested": SETTINGS.user_registration_state_machine_arn,
    "MfaRequirementChangeRequested": SETTINGS.mfa_requirement_change_state_machine_arn,
}
log = logger()


@cache
def sources() -> SourceRegistry:
    """The registry, made on first use; its cache of grants lives as long as this execution environment."""
    return SourceRegistry(SETTINGS.table_name, client("dynamodb"))


@traced
@log.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = EventBridgeEvent(event)
    detail_type = request.detail_type
    detail: object = request.get("detail")  # checked against its schema by the workflow, not here
    request_id = detail.get("requestId") if isinstance(detail, dict) else None
    name = execution_name(WORKFLOW_PREFIXES[detail_type], request_id, request.get_id)
    log.append_keys(request_id=request_id, execution_name=name)
    tenant_id = detail.get("tenantId") if isinstance(detail, dict) else None
    untrusted = refusal(sources().lookup(request.source), request.source, detail_type, tenant_id)
    if untrusted:
        _refuse(detail_type, request.get_id, request_id if isinstance(request_id, str) else None, untrusted)
        return {"executionName": name, "alreadyStarted": False, "untrusted": True}
    outcome = start_request_workflow(
        client("stepfunctions"), WORKFLOWS[detail_type], detail_type, detail, request.get_id, request.source
    )
    if outcome.already_started:
        log.info("request already taken up by an earlier execution; duplicate absorbed")
    else:
        log.info("workflow started", extra={"execution_arn": outcome.execution_arn})
    return {"executionName": name, "alreadyStarted": outcome.already_started}


def _refuse(detail_type: str, event_id: str, request_id: str | None, why: str) -> None:
    """The request's *Failed event, with UNTRUSTED_SOURCE; nothing else happens."""
    failed = FAILURE_EVENT_FOR[detail_type]
    detail = failure_detail(failed, f"untrusted|{event_id}", request_id, UNTRUSTED_SOURCE, why)
    if EventPublisher(SETTINGS.event_bus_name, client("events")).publish([OutboundEvent(failed, detail)]):
        raise RuntimeError(f"{failed} was not accepted by the bus")  # the rule retries the delivery
    log.warning("request from an untrusted source refused", extra={"reason": why})
