"""Cognito calls the workflows need that Step Functions cannot make alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

PAGE = 60  # ListUserPools' largest page


def user_pool_named(cognito: CognitoIdentityProviderClient, name: str) -> str | None:
    """The id of the pool called `name` (the first, if there are several), or None. Cognito finds pools by id
    only: this reads the account's pools page by page, names and ids alone."""
    token: str | None = None
    while True:
        page = cognito.list_user_pools(MaxResults=PAGE, **({"NextToken": token} if token else {}))
        for pool in page.get("UserPools", []):
            if pool.get("Name") == name and pool.get("Id"):
                return pool["Id"]
        token = page.get("NextToken")
        if not token:
            return None
