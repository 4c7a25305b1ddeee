"""Workflow step: check a request against its schema; say which field is wrong when it is not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from tenantry.requests import check_request

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class ValidationTask(TypedDict):
    """The state input: the request as posted, and the execution checking it."""

    detailType: str
    detail: object  # anything a sender put there: check_request says what is wrong with it
    executionName: str


def handler(event: ValidationTask, context: LambdaContext) -> dict[str, Any]:
    return check_request(event["detailType"], event["detail"], event["executionName"])
