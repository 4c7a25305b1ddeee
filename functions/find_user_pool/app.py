"""Workflow step (onboarding's undo): the pool a CreateUserPool made though its caller got an error instead of
the answer (a timeout after Cognito acted), found by its name, so that the undo deletes it rather than leak it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from tenantry.adapters import client
from tenantry.adapters.cognito import user_pool_named
from tenantry.observability import traced

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class FindUserPoolTask(TypedDict):
    """The state input: the name the pool was created with (unique: the stack's name and the tenant's id)."""

    poolName: str


@traced
def handler(event: FindUserPoolTask, context: LambdaContext) -> dict[str, Any]:
    return {"id": user_pool_named(client("cognito-idp"), event["poolName"])}
