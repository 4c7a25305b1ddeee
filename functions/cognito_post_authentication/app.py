"""Cognito post authentication trigger (every pool): records the sign-in as one log line, which a
subscription filter turns into the profile's lastSignInAt. No AWS call and no AWS SDK on this path."""

import json
import time

from tenantry.triggers import sign_in_record


def handler(event, context):
    print(json.dumps(sign_in_record(event, int(time.time())), separators=(",", ":")))
    return event
