"""What `tenantry` prints of an execution or an event: secret-named fields masked at any depth, the rest as is."""

from __future__ import annotations

from tenantry_ops.executions import MASK, masked


def test_secret_named_fields_are_masked_at_any_depth_and_nothing_else_is():
    value = {
        "requestId": "r-1",
        "code": "q3JxH8sVt2bW9mYk4nPzR1cD7eFgA0uL",
        "Payload": {"taskToken": "AAAAKgAAAAIAAAAA", "email": "ada@example.com"},
        "challenges": [{"session": "s-1", "name": "SOFTWARE_TOKEN_MFA"}, {"NewPassword": "Correct-Horse-9"}],
        "refreshToken": None,
        "accessCode": "",
        "errorCode": "UsernameExistsException",
        "sessionsRevokedAt": "2026-11-24T09:41:07Z",
        "TokenType": "Bearer",
        "cause": 'Task failed: {"taskToken": "AAAAKgAAAAIAAAAA", "userId": "u-1"}',
    }
    assert masked(value) == {
        "requestId": "r-1",
        "code": MASK,
        "Payload": {"taskToken": MASK, "email": "ada@example.com"},
        "challenges": [{"session": MASK, "name": "SOFTWARE_TOKEN_MFA"}, {"NewPassword": MASK}],
        "refreshToken": None,  # nothing to hide: shown as it is
        "accessCode": "",
        "errorCode": "UsernameExistsException",  # names that end like a secret's but are none
        "sessionsRevokedAt": "2026-11-24T09:41:07Z",
        "TokenType": "Bearer",
        "cause": 'Task failed: {"taskToken": "***", "userId": "u-1"}',  # a secret quoted in an error's text
    }
