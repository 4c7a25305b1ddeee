"""Starts an MfaCompliance run per detection: sign-in mismatches (log subscription on post
authentication), requirement changes (Tenantry's bus), Cognito API calls (CloudTrail, default bus); and
the scheduled sweep (MfaSweep) when its schedule comes due."""

from dataclasses import dataclass

from tenantry.adapters import client
from tenantry.adapters.logs import json_log_records
from tenantry.config import load_settings
from tenantry.detections import Detection, detection_from_event, detections_from_log_records
from tenantry.observability import logger


@dataclass(frozen=True)
class Settings:
    mfa_compliance_state_machine_arn: str
    mfa_sweep_state_machine_arn: str


SETTINGS = load_settings(Settings)
log = logger()


def start_sweep(event):
    """The schedule came due: one sweep per scheduled event, named after its time."""
    name = "mfa-sweep-" + "".join(c if c.isalnum() else "-" for c in event["time"])
    sfn = client("stepfunctions")
    try:
        sfn.start_execution(stateMachineArn=SETTINGS.mfa_sweep_state_machine_arn, name=name, input="{}")
    except sfn.exceptions.ExecutionAlreadyExists:
        return {"started": 0}
    return {"started": 1, "sweep": name}


def handler(event, context):
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return start_sweep(event)
    if "sweepDetections" in event:  # from the MfaSweep state machine, a few users at a time
        detections = [Detection(d["userId"], "sweep", d["detectionId"], "Sweep") for d in event["sweepDetections"]]
    elif "awslogs" in event:
        detections = detections_from_log_records(json_log_records(event))
    else:
        detection = detection_from_event(event)
        detections = [detection] if detection else []
    sfn = client("stepfunctions")
    started = 0
    for detection in detections:
        try:
            sfn.start_execution(
                stateMachineArn=SETTINGS.mfa_compliance_state_machine_arn, name=detection.execution_name, input=detection.input()
            )
            started += 1
        except sfn.exceptions.ExecutionAlreadyExists:
            log.info("detection already being handled", extra={"execution_name": detection.execution_name})
    return {"started": started}
