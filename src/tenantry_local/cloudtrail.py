"""CloudTrail, as EventBridge sees it, for Cognito user pools: every successful mutating cognito-idp call
made against the local endpoint becomes an "AWS API Call via CloudTrail" event on the default bus, so
rules on those events (Tenantry's MFA tamper detection) run offline.

The event follows CloudTrail's record: `userIdentity` from the caller (an access-token call is anonymous;
a call signed with moto's Step Functions interpreter credentials is attributed to the local state
machine role; any other signed call to an IAM user named after its access key), secrets in
`requestParameters` hidden as CloudTrail hides them, and `additionalEventData` with the user pool id and
the affected user's `sub`.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from tenantry_local.api_calls import ApiCall, Proceed, Response
from tenantry_local.template import ACCOUNT_ID, REGION

READ_ONLY = re.compile(r"^(Get|List|Describe|AdminGet|AdminList)")
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
_SECRET_PARAMETERS = (
    "AccessToken",
    "Password",
    "PreviousPassword",
    "ProposedPassword",
    "TemporaryPassword",
    "UserCode",
    "Session",
    "SecretHash",
    "AuthParameters",
    "ChallengeResponses",
    "RefreshToken",
)
STATE_MACHINE_CREDENTIALS = "ak"  # moto's Step Functions interpreter signs its SDK calls with this key


def _identity(authorization: str, local_role_arn: str) -> dict[str, Any]:
    match = re.search(r"Credential=([^/]+)/", authorization or "")
    if not match:
        return {"type": "Unknown", "principalId": "Anonymous"}
    key = match.group(1)
    if key == STATE_MACHINE_CREDENTIALS:
        role_name = local_role_arn.rsplit("/", 1)[-1]
        return {
            "type": "AssumedRole",
            "accessKeyId": key,
            "invokedBy": "states.amazonaws.com",
            "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/local",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": local_role_arn, "userName": role_name, "accountId": ACCOUNT_ID}
            },
        }
    return {
        "type": "IAMUser",
        "accessKeyId": key,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{key}",
        "accountId": ACCOUNT_ID,
        "userName": key,
    }


def _affected_user(parameters: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user pool id, sub) of the user the call was about."""
    from moto.cognitoidp.models import cognitoidp_backends

    backend = cognitoidp_backends[ACCOUNT_ID][REGION]
    token = parameters.get("AccessToken")
    for pool in backend.user_pools.values():
        if token and token in pool.access_tokens:
            return pool.id, pool._get_user(pool.access_tokens[token][1]).id
        if parameters.get("UserPoolId") == pool.id and parameters.get("Username"):
            user = pool._get_user(parameters["Username"])
            return pool.id, user.id if user else None
    return parameters.get("UserPoolId"), None


def api_call_event(operation: str, body: str, authorization: str, local_role_arn: str) -> dict[str, Any] | None:
    """The EventBridge entry for a successful cognito-idp call, or None for read-only calls."""
    if READ_ONLY.match(operation):
        return None
    try:
        parameters = json.loads(body) if body else {}
    except ValueError:
        parameters = {}
    pool_id, sub = _affected_user(parameters)
    shown = {k[:1].lower() + k[1:]: (HIDDEN if k in _SECRET_PARAMETERS else v) for k, v in parameters.items()}
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail = {
        "eventVersion": "1.08",
        "userIdentity": _identity(authorization, local_role_arn),
        "eventTime": now,
        "eventSource": "cognito-idp.amazonaws.com",
        "eventName": operation,
        "awsRegion": REGION,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "local",
        "requestParameters": shown,
        "responseElements": None,
        "additionalEventData": {k: v for k, v in {"userPoolId": pool_id, "sub": sub}.items() if v},
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT_ID,
        "eventCategory": "Management",
    }
    return {
        "Source": "aws.cognito-idp",
        "DetailType": "AWS API Call via CloudTrail",
        "Detail": json.dumps(detail),
        "EventBusName": "default",
    }


def emit(entry: dict[str, Any]) -> None:
    from moto.events.models import events_backends

    events_backends[ACCOUNT_ID][REGION].put_events([entry])


class CloudTrail:
    """Middleware: each successful mutating cognito-idp call becomes its CloudTrail event on the default bus."""

    def __init__(self, local_role_arn: str, enabled: bool = True):
        self.local_role_arn = local_role_arn  # the role calls signed by the Step Functions interpreter assume
        self.enabled = enabled

    def __call__(self, call: ApiCall, proceed: Proceed) -> Response:
        response = proceed(call)
        if self.enabled and call.service == "cognito-idp" and int(response[0]) < 400:
            entry = api_call_event(call.operation, call.body, call.authorization, self.local_role_arn)
            if entry is not None:
                emit(entry)
        return response
