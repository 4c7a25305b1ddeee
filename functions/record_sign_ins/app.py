"""Log subscription target: post authentication's sign-in lines -> lastSignInAt on the profiles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantry.adapters import client
from tenantry.adapters.logs import json_log_records
from tenantry.config import load_settings
from tenantry.observability import logger, traced
from tenantry.sign_ins import latest_sign_ins, record_sign_ins

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)
log = logger()


@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    lines = json_log_records(event)  # read through Powertools' CloudWatchLogsEvent
    latest = latest_sign_ins(lines)
    updated = record_sign_ins(SETTINGS.table_name, client("dynamodb"), latest)
    log.info("sign-ins recorded", extra={"lines": len(lines), "users": len(latest), "updated": updated})
    return {"updated": updated}
