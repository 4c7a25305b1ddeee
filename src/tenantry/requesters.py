"""The authority of the person a request is made for (`requestedBy`), as Cognito knows them now.

A profile remembers the role and status it was last told of; Cognito's groups and the user's `Enabled` flag are
what their tokens and sign-ins follow. An Admin demoted or disabled in Cognito (by the API, the console, or a
script) must not keep the authority their profile still names, so the role rule is applied to Cognito's answer
(PRODUCT.md: "the role rule is then applied to that user as Cognito knows them now (group, enabled)").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantry.roles import highest_role

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient


@dataclass(frozen=True)
class Standing:
    enabled: bool
    role: str | None  # the highest role among the user's groups; None for a user in no role's group


StandingLookup = Callable[[str, str], "Standing | None"]  # (pool id, username) -> Standing, None for no such user


def standing_in_cognito(cognito_client: CognitoIdentityProviderClient) -> StandingLookup:
    def lookup(pool_id: str, username: str) -> Standing | None:
        try:
            user = cognito_client.admin_get_user(UserPoolId=pool_id, Username=username)
        except cognito_client.exceptions.UserNotFoundException:
            return None
        groups = cognito_client.admin_list_groups_for_user(UserPoolId=pool_id, Username=username)["Groups"]
        return Standing(bool(user.get("Enabled")), highest_role([g["GroupName"] for g in groups]))

    return lookup
