"""Cognito post confirmation trigger (every pool). Tenantry's users are created by administrators and
activated by the registration workflow, so confirmation itself changes nothing yet."""


def handler(event, context):
    return event
