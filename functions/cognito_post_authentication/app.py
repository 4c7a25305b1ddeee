"""Cognito post authentication trigger (every pool). It runs on every sign-in, so it stays empty of
anything that needs the network until a check requires it."""


def handler(event, context):
    return event
