"""The Cognito user pool trigger events Tenantry handles, typed (the fields Cognito sends and answers).

TypedDicts rather than Powertools' event data classes: these triggers run on every sign-up and sign-in,
and importing a Cognito data class loads the whole `aws_lambda_powertools.utilities.data_classes` package,
60 to 110 ms of cold start per trigger. Import this module under `TYPE_CHECKING` only: at run time it
costs nothing.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class CallerContext(TypedDict):
    awsSdkVersion: str
    clientId: str


class TriggerEvent(TypedDict):
    """What every user pool trigger event carries."""

    version: str
    triggerSource: str
    region: str
    userPoolId: str
    userName: str
    callerContext: CallerContext


class UserAttributesRequest(TypedDict):
    userAttributes: dict[str, str]
    clientMetadata: NotRequired[dict[str, str]]


class PreSignUpRequest(UserAttributesRequest):
    validationData: NotRequired[dict[str, str] | None]


class PreSignUpResponse(TypedDict, total=False):
    autoConfirmUser: bool
    autoVerifyEmail: bool
    autoVerifyPhone: bool


class PreSignUpEvent(TriggerEvent):
    request: PreSignUpRequest
    response: PreSignUpResponse


class PostConfirmationEvent(TriggerEvent):
    request: UserAttributesRequest
    response: dict[str, Any]


class PostAuthenticationRequest(UserAttributesRequest):
    newDeviceUsed: bool


class PostAuthenticationEvent(TriggerEvent):
    request: PostAuthenticationRequest
    response: dict[str, Any]


class GroupConfiguration(TypedDict, total=False):
    groupsToOverride: list[str]
    iamRolesToOverride: list[str]
    preferredRole: str | None


class PreTokenGenerationV2Request(UserAttributesRequest):
    groupConfiguration: GroupConfiguration
    scopes: NotRequired[list[str]]


class ClaimsOverride(TypedDict):
    claimsToAddOrOverride: dict[str, str]


class TokenOverrides(TypedDict, total=False):
    idTokenGeneration: ClaimsOverride
    accessTokenGeneration: ClaimsOverride


class PreTokenGenerationV2Response(TypedDict, total=False):
    claimsAndScopeOverrideDetails: TokenOverrides | None


class PreTokenGenerationV2Event(TriggerEvent):
    """Pre token generation, V2 event (the trigger's LambdaVersion V2_0)."""

    request: PreTokenGenerationV2Request
    response: PreTokenGenerationV2Response
