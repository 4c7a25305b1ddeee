"""Log subscription target: post authentication's sign-in lines -> lastSignInAt on the profiles."""

import json
from dataclasses import dataclass

from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent

from tenantry.adapters import client
from tenantry.config import load_settings
from tenantry.observability import logger
from tenantry.sign_ins import latest_sign_ins, record_sign_ins


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)
log = logger()


def _parsed(message):
    try:
        return json.loads(message)
    except ValueError:
        return {}


def handler(event, context):
    lines = CloudWatchLogsEvent(event).parse_logs_data().log_events
    latest = latest_sign_ins([_parsed(line.message) for line in lines])
    updated = record_sign_ins(SETTINGS.table_name, client("dynamodb"), latest)
    log.info("sign-ins recorded", extra={"lines": len(lines), "users": len(latest), "updated": updated})
    return {"updated": updated}
