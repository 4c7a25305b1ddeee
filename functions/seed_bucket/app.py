"""Custom::BucketSeed provider: copies a directory packaged with this function (`badges/`: the badge catalogue and
its icons) into a bucket on Create and Update, removes what it copied on Delete, and always answers CloudFormation
(tenantry.bucket_seed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenantry.adapters import client
from tenantry.bucket_seed import handle
from tenantry.observability import logger, traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

PACKAGE_ROOT = Path(__file__).resolve().parent  # /var/task: the Source directories are packaged beside this file
log = logger()


@traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = {k: event.get(k) for k in ("RequestType", "LogicalResourceId", "PhysicalResourceId", "ResourceProperties")}
    log.info("custom resource request", extra={"request": request})  # never the ResponseURL: it is a credential
    response = handle(
        event,
        s3=client("s3"),
        package_root=PACKAGE_ROOT,
        remaining_ms=context.get_remaining_time_in_millis,
        log_stream=context.log_stream_name,
    )
    answer = {k: response.get(k) for k in ("Status", "PhysicalResourceId", "Reason", "Data")}
    (log.info if response["Status"] == "SUCCESS" else log.error)("custom resource response sent", extra={"response": answer})
    return answer
