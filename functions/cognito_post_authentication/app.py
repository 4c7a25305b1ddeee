"""Cognito post authentication trigger (every pool).

Records the sign-in as one log line (a subscription filter turns it into the profile's lastSignInAt),
and enforces the MFA an administrator requires: when custom:mfa_required is "true" it makes the one AWS
call it ever makes (AdminGetUser) and refuses a sign-in without MFA, logging the mismatch, which a second
subscription filter turns into a compliance run. When MFA is not required it loads no AWS SDK at all."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from tenantry.triggers import mfa_required_by_attribute, sign_in_record

if TYPE_CHECKING:  # types only: nothing more is imported on the sign-in path
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from tenantry.cognito_events import PostAuthenticationEvent


class MfaRequired(Exception):
    pass


def handler(event: PostAuthenticationEvent, context: LambdaContext) -> PostAuthenticationEvent:
    now = time.time()
    print(json.dumps(sign_in_record(event, int(now)), separators=(",", ":")))
    if mfa_required_by_attribute(event):
        from tenantry.mfa_at_sign_in import refuse_without_mfa

        mismatch = refuse_without_mfa(event, int(now * 1000))
        if mismatch is not None:
            print(json.dumps(mismatch, separators=(",", ":")))
            raise MfaRequired(
                "MFA is required for this account but is switched off: this sign-in is refused and your sessions are "
                "being revoked. Sign in again to continue with your authenticator app."
            )
    return event
