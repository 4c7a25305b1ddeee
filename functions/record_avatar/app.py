"""S3 ObjectCreated notifications of the avatar bucket: point each uploader's profile at their new avatar
(tenantry.avatars.record_upload). A key the Identity API did not make changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantry.adapters import client
from tenantry.avatars import record_upload, uploaded_keys
from tenantry.config import load_settings
from tenantry.observability import logger, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True)
class Settings:
    table_name: str


SETTINGS = load_settings(Settings)
log = logger()


@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    recorded = 0
    for key in uploaded_keys(event):
        if record_upload(SETTINGS.table_name, client("dynamodb"), key):
            recorded += 1
        else:
            log.warning("avatar not recorded", extra={"key": key})
    return {"recorded": recorded}
