"""EventBridge rule target: start the workflow a request asks for, named after its request id.

A rule could start the state machine directly, but Step Functions would then name the execution with a
random id; starting it here gives operators `onboard-<requestId>` and makes redelivery harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from tenantry.adapters import client
from tenantry.adapters.stepfunctions import start_request_workflow
from tenantry.config import load_settings
from tenantry.naming import WORKFLOW_PREFIXES, execution_name
from tenantry.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True)
class Settings:
    tenant_onboarding_state_machine_arn: str
    tenant_offboarding_state_machine_arn: str
    user_registration_state_machine_arn: str
    mfa_requirement_change_state_machine_arn: str


SETTINGS = load_settings(Settings)
WORKFLOWS = {
    "TenantOnboardingRequested": SETTINGS.tenant_onboarding_state_machine_arn,
    "TenantOffboardingRequested": SETTINGS.tenant_offboarding_state_machine_arn,
    "UserRegistrationRequested": SETTINGS.user_registration_state_machine_arn,
    "MfaRequirementChangeRequested": SETTINGS.mfa_requirement_change_state_machine_arn,
}
log = logger()


@log.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = EventBridgeEvent(event)
    detail_type = request.detail_type
    detail: object = request.get("detail")  # checked against its schema by the workflow, not here
    request_id = detail.get("requestId") if isinstance(detail, dict) else None
    name = execution_name(WORKFLOW_PREFIXES[detail_type], request_id, request.get_id)
    log.append_keys(request_id=request_id, execution_name=name)
    outcome = start_request_workflow(
        client("stepfunctions"), WORKFLOWS[detail_type], detail_type, detail, request.get_id, request.source
    )
    if outcome.already_started:
        log.info("request already taken up by an earlier execution; duplicate absorbed")
    else:
        log.info("workflow started", extra={"execution_arn": outcome.execution_arn})
    return {"executionName": name, "alreadyStarted": outcome.already_started}
