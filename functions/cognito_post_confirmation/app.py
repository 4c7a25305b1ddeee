"""Cognito post confirmation trigger (every pool). Tenantry's users are created by administrators and
activated by the registration workflow, so confirmation itself changes nothing yet."""

# Annotations in quotes and no `from typing import TYPE_CHECKING`: this trigger imports no module at all.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from tenantry.cognito_events import PostConfirmationEvent


def handler(event: "PostConfirmationEvent", context: "LambdaContext") -> "PostConfirmationEvent":
    return event
