"""Cognito's Lambda triggers, invoked as Cognito invokes them: Cognito-shaped events built from moto's
user pool state, sent to the function named in the pool's LambdaConfig (any pool, also those a workflow
creates at run time), and their answers honoured: a raising trigger fails the Cognito call with
UserLambdaValidationException; pre token generation's claims end up in the tokens.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from moto.core.exceptions import JsonRESTError

from tenantry_local import binding
from tenantry_local.template import REGION


class UserLambdaValidationException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("UserLambdaValidationException", message)


_local = threading.local()
_pairs: OrderedDict[str, dict[str, Any]] = OrderedDict()  # origin_jti -> answer awaiting the pair's 2nd token
_claims_lock = threading.Lock()
_CACHE_SIZE = 2048


def pool_of_client(backend: Any, client_id: str) -> Any:
    for pool in backend.user_pools.values():
        if client_id in pool.clients:
            return pool
    return None


def _lambda_config(pool: Any) -> dict[str, Any]:
    return pool.extended_config.get("LambdaConfig") or {}


def _attributes(pairs: list[dict[str, str]]) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in pairs}


def _user_attributes(user: Any) -> dict[str, str]:
    attributes = {"sub": user.id, **_attributes(user.attributes)}
    status = getattr(user.status, "value", user.status)
    attributes["cognito:user_status"] = str(status)
    return attributes


def _base_event(pool: Any, username: str, trigger_source: str, client_id: str | None, version: str = "1") -> dict[str, Any]:
    return {
        "version": version,
        "triggerSource": trigger_source,
        "region": REGION,
        "userPoolId": pool.id,
        "userName": username,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client_id or "CLIENT_ID_NOT_APPLICABLE"},
        "request": {},
        "response": {},
    }


def _invoke(function_arn: str, trigger: str, event: dict[str, Any]) -> dict[str, Any]:
    services = binding.current()
    if services is None or services.lambdas.resolve(function_arn) is None:
        raise UserLambdaValidationException(f"{trigger} failed with error: function {function_arn} not found.")
    result = services.lambdas.invoke(function_arn, event)
    if not result.ok:
        message = result.payload.get("errorMessage", "") if isinstance(result.payload, dict) else str(result.payload)
        raise UserLambdaValidationException(f"{trigger} failed with error {message}.")
    return result.payload if isinstance(result.payload, dict) else event


def pre_sign_up(pool: Any, username: str, attributes: list[dict[str, str]], source: str, client_id: str | None) -> None:
    arn = _lambda_config(pool).get("PreSignUp")
    if not arn:
        return
    event = _base_event(pool, username, source, client_id)
    event["request"] = {"userAttributes": _attributes(attributes or []), "validationData": {}, "clientMetadata": {}}
    event["response"] = {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}
    _invoke(arn, "PreSignUp", event)


def post_confirmation(pool: Any, username: str, source: str, client_id: str | None) -> None:
    arn = _lambda_config(pool).get("PostConfirmation")
    if not arn:
        return
    user = pool._get_user(username)
    event = _base_event(pool, user.username, source, client_id)
    event["request"] = {"userAttributes": _user_attributes(user), "clientMetadata": {}}
    _invoke(arn, "PostConfirmation", event)


def post_authentication(pool: Any, username: str, client_id: str) -> None:
    arn = _lambda_config(pool).get("PostAuthentication")
    if not arn:
        return
    user = pool._get_user(username)
    event = _base_event(pool, user.username, "PostAuthentication_Authentication", client_id)
    event["request"] = {"userAttributes": _user_attributes(user), "newDeviceUsed": False, "clientMetadata": {}}
    _invoke(arn, "PostAuthentication", event)


def mark_fresh_sign_in(origin_jti: str) -> None:
    """Tokens minted under this origin_jti now come from a sign-in (not from a refresh)."""
    _local.fresh_jti = origin_jti


def _token_trigger(pool: Any) -> tuple[str | None, str]:
    config = _lambda_config(pool)
    v2 = config.get("PreTokenGenerationConfig") or {}
    if v2.get("LambdaArn"):
        return v2["LambdaArn"], "2" if v2.get("LambdaVersion", "V1_0") != "V1_0" else "1"
    return config.get("PreTokenGeneration"), "1"


def apply_token_customisation(pool: Any, client_id: str, username: str, token_use: str, extra: dict[str, Any]) -> None:
    """Merge what pre token generation answered into the claims of the token being minted.

    Cognito calls the trigger once per issue of an ID/access token pair; moto mints the two tokens
    separately, so the answer is kept per origin_jti (shared by the pair) and used for both.
    """
    arn, version = _token_trigger(pool)
    origin_jti = extra.get("origin_jti")
    if not arn or not origin_jti:
        return
    answer = _pair_answer(pool, client_id, username, origin_jti, arn, version)
    response = answer.get("response") or {}
    if version == "2":
        details = response.get("claimsAndScopeOverrideDetails") or {}
        section = details.get("idTokenGeneration" if token_use == "id" else "accessTokenGeneration") or {}
        groups = (details.get("groupOverrideDetails") or {}).get("groupsToOverride")
    else:
        if token_use != "id":
            return
        section = response.get("claimsOverrideDetails") or {}
        groups = (section.get("groupOverrideDetails") or {}).get("groupsToOverride")
    extra.update(section.get("claimsToAddOrOverride") or {})
    for claim in section.get("claimsToSuppress") or []:
        extra.pop(claim, None)
    if groups is not None:
        extra["cognito:groups"] = groups


def _pair_answer(pool: Any, client_id: str, username: str, origin_jti: str, arn: str, version: str) -> dict[str, Any]:
    """One trigger call per token pair: moto mints the access token, then the ID token, of one pair in a
    row under the same origin_jti; a refresh later mints a new pair under that origin_jti again."""
    with _claims_lock:
        pending = _pairs.pop(origin_jti, None)
    if pending is not None:  # second token of the pair
        return pending
    answer = _invoke_token_trigger(pool, client_id, username, origin_jti, arn, version)
    with _claims_lock:
        _pairs[origin_jti] = answer
        while len(_pairs) > _CACHE_SIZE:
            _pairs.popitem(last=False)
    return answer


def _invoke_token_trigger(pool: Any, client_id: str, username: str, origin_jti: str, arn: str, version: str) -> dict[str, Any]:
    user = pool._get_user(username)
    fresh = getattr(_local, "fresh_jti", None) == origin_jti
    if fresh:
        _local.fresh_jti = None  # a refresh of this sign-in later is a refresh
    source = "TokenGeneration_Authentication" if fresh else "TokenGeneration_RefreshTokens"
    event = _base_event(pool, user.username, source, client_id, version=version)
    groups = sorted(user.groups, key=lambda g: (g.precedence if g.precedence is not None else 1 << 30, g.group_name))
    event["request"] = {
        "userAttributes": _user_attributes(user),
        "groupConfiguration": {
            "groupsToOverride": [g.group_name for g in groups],
            "iamRolesToOverride": [g.role_arn for g in groups if getattr(g, "role_arn", None)],
            "preferredRole": None,
        },
        "clientMetadata": {},
    }
    if version == "2":
        event["request"]["scopes"] = ["aws.cognito.signin.user.admin"]
    event["response"] = {"claimsAndScopeOverrideDetails": None} if version == "2" else {"claimsOverrideDetails": None}
    return _invoke(arn, "PreTokenGeneration", event)
