"""EventBridge rule targets that are functions or state machines, which moto cannot deliver to offline.

Delivery is asynchronous, as on AWS; `Input`, `InputPath` and `InputTransformer` shape the payload; an
event that cannot be delivered goes to the target's dead-letter queue with EventBridge's attributes.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

from tenantry_local.inflight import InFlight
from tenantry_local.lambdas import LambdaService
from tenantry_local.template import REGION

LOG = logging.getLogger("tenantry_local.rules")


def delivered_by_runtime(arn: str) -> bool:
    """Targets moto cannot deliver to, which the runtime delivers itself: functions and state machines."""
    return ":lambda:" in arn or ":states:" in arn


def target_payload(target: dict[str, Any], event: dict[str, Any]) -> Any:
    from moto.events.utils import EventTemplateParser

    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,  # type: ignore[arg-type]  # moto's TypedDict of an event; this is one
        )
    return {k: v for k, v in event.items() if k != "ingestion-time"}


class RuleDelivery:
    def __init__(self, lambdas: LambdaService, in_flight: InFlight, endpoint_url: str):
        self._lambdas = lambdas
        self._in_flight = in_flight
        self._endpoint_url = endpoint_url
        self._sfn: Any = None
        self._sfn_lock = threading.Lock()

    def deliver_later(self, rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
        """As EventBridge does: the put that matched returns at once, the target gets the event after."""
        self._in_flight.spawn(self.deliver, rule, target, dict(event), name=f"rule-{rule.name}")

    def deliver(self, rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
        arn: str = target["Arn"]
        try:
            payload = target_payload(target, event)
            if ":lambda:" in arn:
                if self._lambdas.resolve(arn) is None:
                    raise LookupError(f"function {arn} does not exist")
                self._lambdas.invoke_async(arn, payload)
            else:
                self._stepfunctions().start_execution(stateMachineArn=arn, name=str(uuid.uuid4()), input=json.dumps(payload))
        except Exception as error:  # noqa: BLE001 - undeliverable events go to the target's dead-letter queue
            LOG.warning("rule %s could not deliver to %s: %s", rule.name, arn, error)
            dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
            if dead_letter:
                _send_to_dead_letter_queue(rule, dead_letter, event, str(error))

    def _stepfunctions(self) -> Any:
        """One client for every delivery (creating boto3 clients from many threads at once races)."""
        with self._sfn_lock:
            if self._sfn is None:
                import boto3

                self._sfn = boto3.session.Session().client(
                    "stepfunctions",
                    endpoint_url=self._endpoint_url,
                    region_name=REGION,
                    aws_access_key_id="local",
                    aws_secret_access_key="local",
                )
            return self._sfn


def _send_to_dead_letter_queue(rule: Any, queue_arn: str, event: dict[str, Any], error: str) -> None:
    from moto.sqs.models import sqs_backends

    region, account, name = queue_arn.split(":")[3:6]
    sqs_backends[account][region].send_message(
        queue_name=name,
        message_body=json.dumps({k: v for k, v in event.items() if k != "ingestion-time"}),
        message_attributes={
            "RULE_ARN": {"DataType": "String", "StringValue": rule.arn},
            "ERROR_MESSAGE": {"DataType": "String", "StringValue": error[:256]},
        },
    )
