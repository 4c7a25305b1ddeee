"""The Cognito trigger handlers on the Cognito-shaped sample events in schemas/cognito/."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tenantry.triggers import SIGNED_IN
from tenantry_local import binding
from tenantry_local.lambda_worker import load_handler

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "schemas" / "cognito"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def handler(function: str, monkeypatch, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_handler(str(ROOT / "functions" / function), "app.handler")


def test_pre_token_generation_adds_tenant_role_and_isolation_to_both_tokens(monkeypatch):
    answer = handler("cognito_pre_token_generation", monkeypatch, SHARED_USER_POOL_ID="us-east-1_SharedPool")(
        sample("TokenGeneration_Authentication"), None
    )
    details = answer["response"]["claimsAndScopeOverrideDetails"]
    for token in ("idTokenGeneration", "accessTokenGeneration"):
        assert details[token]["claimsToAddOrOverride"] == {
            "tenant_id": "tnt-3f2a9c1b7d4e6f80",
            "role": "SuperUser",
            "isolation": "shared",
        }


def test_pre_sign_up_refuses_self_sign_up(monkeypatch):
    pre_sign_up = handler("cognito_pre_sign_up", monkeypatch, TABLE_NAME="unused")
    with pytest.raises(Exception, match="Self sign-up is disabled"):
        pre_sign_up(sample("PreSignUp_SignUp"), None)


def test_pre_sign_up_admits_admin_created_users_of_an_active_tenant_only(monkeypatch):
    import tenantry.tenants_lookup as lookup

    statuses = {"tnt-3f2a9c1b7d4e6f80": "ACTIVE"}
    monkeypatch.setattr(lookup, "tenant_status", lambda table, tenant_id: statuses.get(tenant_id))
    pre_sign_up = handler("cognito_pre_sign_up", monkeypatch, TABLE_NAME="tenantry")
    event = sample("PreSignUp_AdminCreateUser")
    assert pre_sign_up(copy.deepcopy(event), None)["userName"] == event["userName"]
    statuses["tnt-3f2a9c1b7d4e6f80"] = "OFFBOARDED"
    with pytest.raises(Exception, match="offboarded"):
        pre_sign_up(copy.deepcopy(event), None)


def test_post_authentication_writes_one_sign_in_line_and_returns_the_event(monkeypatch, capsys):
    post_authentication = handler("cognito_post_authentication", monkeypatch)
    event = sample("PostAuthentication_Authentication")
    assert post_authentication(copy.deepcopy(event), None) == event
    [line] = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert record["event"] == SIGNED_IN and record["userId"] == event["request"]["userAttributes"]["sub"]
    assert record["tenantId"] == "tnt-3f2a9c1b7d4e6f80" and isinstance(record["at"], int)


def test_post_confirmation_is_a_no_op(monkeypatch):
    event = sample("PostConfirmation_ConfirmForgotPassword")
    assert handler("cognito_post_confirmation", monkeypatch)(copy.deepcopy(event), None) == event


@pytest.mark.parametrize("function", ["cognito_pre_token_generation", "cognito_post_authentication"])
def test_sign_in_triggers_do_not_load_the_aws_sdk(function):
    # A fresh interpreter, as a cold Lambda environment: import the handler, then look at what came with it.
    code = (
        "import os, sys; os.environ['SHARED_USER_POOL_ID'] = 'p'; "
        f"sys.path.insert(0, {str(ROOT / 'functions' / function)!r}); import app; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'aws_lambda_powertools')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_the_local_runtime_sends_events_shaped_like_the_samples():
    """The local runtime builds trigger events itself: they must have the samples' shape."""
    from types import SimpleNamespace

    from tenantry_local import cognito_triggers

    sent = []
    fake_lambdas = SimpleNamespace(
        resolve=lambda arn: True, invoke=lambda arn, event: sent.append(event) or SimpleNamespace(ok=True, payload=event)
    )
    user = SimpleNamespace(
        id="sub-1",
        username="u",
        status="CONFIRMED",
        groups=set(),
        attributes=[{"Name": "email", "Value": "a@b.example"}, {"Name": "custom:tenant_id", "Value": "t"}],
    )
    pool = SimpleNamespace(
        id="us-east-1_P",
        extended_config={
            "LambdaConfig": {"PreSignUp": "arn:pre", "PostAuthentication": "arn:post", "PostConfirmation": "arn:confirm"}
        },
        _get_user=lambda username: user,
    )
    services = binding.Services(lambdas=fake_lambdas, rules=None, middleware=(), faults=None, time_scale=1.0)
    with binding.bound(services):
        cognito_triggers.pre_sign_up(pool, "u", user.attributes, "PreSignUp_AdminCreateUser", None)
        cognito_triggers.post_authentication(pool, "u", "client")
        cognito_triggers.post_confirmation(pool, "u", "PostConfirmation_ConfirmForgotPassword", "client")
    for event, name in zip(
        sent,
        ["PreSignUp_AdminCreateUser", "PostAuthentication_Authentication", "PostConfirmation_ConfirmForgotPassword"],
        strict=True,
    ):
        expected = sample(name)
        assert set(event) == set(expected), name
        assert set(event["request"]) == set(expected["request"]), name
        assert set(event["response"]) == set(expected["response"]), name
