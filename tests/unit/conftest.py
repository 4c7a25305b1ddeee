"""Fixtures the unit tests share. Unit tests never touch the network: AWS is moto, in-process."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from helpers import UNIT_TABLE as TABLE


@pytest.fixture
def ddb():
    """A table shaped like TenantryTable's keys and its ByTenant index (keys only), on moto in-process."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "GSI1PK", "GSI1SK")],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "ByTenant",
                    "KeySchema": [
                        {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                        {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        )
        yield client


UNIT_BUCKET = "tenantry-unit-bucket"


@pytest.fixture
def s3():
    """An empty bucket (UNIT_BUCKET) on moto in-process."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=UNIT_BUCKET)
        yield client
