"""Starts an MfaCompliance run per detection: sign-in mismatches (log subscription on post
authentication), requirement changes (Tenantry's bus), Cognito API calls (CloudTrail, default bus); and
the scheduled sweep (MfaSweep) when its schedule comes due."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from tenantry.adapters import client
from tenantry.adapters.logs import json_log_records
from tenantry.adapters.stepfunctions import start_execution
from tenantry.config import load_settings
from tenantry.detections import Detection, detection_from_event, detections_from_log_records
from tenantry.observability import logger, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True)
class Settings:
    mfa_compliance_state_machine_arn: str
    mfa_sweep_state_machine_arn: str


SETTINGS = load_settings(Settings)
log = logger()


def start_sweep(schedule: EventBridgeEvent) -> dict[str, Any]:
    """The schedule came due: one sweep per scheduled event, named after its time."""
    name = "mfa-sweep-" + "".join(c if c.isalnum() else "-" for c in schedule.time)
    outcome = start_execution(client("stepfunctions"), SETTINGS.mfa_sweep_state_machine_arn, name, {})
    return {"started": 0 if outcome.already_started else 1, "sweep": name}


@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Events of four shapes: a schedule, the MfaSweep's batch, a log delivery, or an EventBridge event."""
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return start_sweep(EventBridgeEvent(event))
    if "sweepDetections" in event:  # from the MfaSweep state machine, a few users at a time
        detections = [Detection(d["userId"], "sweep", d["detectionId"], "Sweep") for d in event["sweepDetections"]]
    elif "awslogs" in event:
        detections = detections_from_log_records(json_log_records(event))
    else:
        detection = detection_from_event(event)
        detections = [detection] if detection else []
    started = 0
    for detection in detections:
        outcome = start_execution(
            client("stepfunctions"), SETTINGS.mfa_compliance_state_machine_arn, detection.execution_name, detection.payload()
        )
        if outcome.already_started:
            log.info("detection already being handled", extra={"execution_name": detection.execution_name})
        else:
            started += 1
    return {"started": started}
