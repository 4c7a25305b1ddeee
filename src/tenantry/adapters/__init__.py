"""Small adapters over AWS APIs. Every adapter takes its boto3 client as an argument (tests and the local
runtime inject their own); `client()` makes a default one lazily, so importing an adapter costs nothing."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:  # the stub packages are dev-only: Lambda never imports them
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient


@overload
def client(service: Literal["cognito-idp"]) -> CognitoIdentityProviderClient: ...
@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["events"]) -> EventBridgeClient: ...
@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
@overload
def client(service: Literal["stepfunctions"]) -> SFNClient: ...
def client(service: str) -> Any:
    """A boto3 client reused for the life of the Lambda environment."""
    return _cached_client(service)


@cache
def _cached_client(service: Any) -> Any:
    import boto3

    if service == "s3":  # Signature Version 4 for presigned URLs and POST policies too (boto3 signs those V2 by default)
        from botocore.config import Config

        return boto3.client(service, config=Config(signature_version="s3v4"))
    return boto3.client(service)
