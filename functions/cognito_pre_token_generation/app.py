"""Cognito pre token generation trigger, V2 event (every pool): tenant_id, role and isolation claims in
the ID and access tokens. No AWS SDK and no network call: the event holds everything needed."""

import os

from tenantry.triggers import add_token_claims

SHARED_USER_POOL_ID = os.environ["SHARED_USER_POOL_ID"]


def handler(event, context):
    return add_token_claims(event, SHARED_USER_POOL_ID)
