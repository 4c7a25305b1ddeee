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
    }
    assert masked(value) == {
        "requestId": "r-1",
        "code": MASK,
        "Payload": {"taskToken": MASK, "email": "ada@example.com"},
        "challenges": [{"session": MASK, "name": "SOFTWARE_TOKEN_MFA"}, {"NewPassword": MASK}],
        "refreshToken": None,  # nothing to hide: shown as it is
        "accessCode": "",
    }
