"""The activation record keeps the workflow's task token sealed by the code (issue 10, item 9)."""

from __future__ import annotations

import secrets

from tenantry.activation import CODE_BYTES, code_hash, seal_task_token, unseal_task_token


def test_only_the_code_unseals_the_task_token():
    code, other = secrets.token_urlsafe(CODE_BYTES), secrets.token_urlsafe(CODE_BYTES)
    token = "AQCEAAAAKgAAAAMAAAAA" + secrets.token_urlsafe(700)  # as long as Step Functions' tokens get
    sealed = seal_task_token(code, token)
    assert unseal_task_token(code, sealed) == token
    assert unseal_task_token(other, sealed) != token
    assert token not in sealed and token[:16] not in sealed


def test_one_token_sealed_by_two_codes_shares_nothing_readable():
    token = "arn:aws:states:task-token/" + "0" * 64
    first, second = (seal_task_token(secrets.token_urlsafe(CODE_BYTES), token) for _ in range(2))
    assert first != second
    assert code_hash(token) not in first  # not a hash of the token either: nothing to look it up by
