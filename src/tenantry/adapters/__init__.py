"""Small adapters over AWS APIs. Every adapter takes its boto3 client as an argument (tests and the local
runtime inject their own); `client()` makes a default one lazily, so importing an adapter costs nothing."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    """A boto3 client reused for the life of the Lambda environment."""
    import boto3

    return boto3.client(service)
