"""Preparing an MFA requirement change: the checks made before anything changes (fake directory, no network)."""

from __future__ import annotations

from typing import Any

from tenantry import schemas
from tenantry.mfa import prepare_mfa_change


class FakeDirectory:
    """Profiles and tenants in memory; records every Cognito lookup it is asked for."""

    def __init__(self, profiles: dict[str, dict[str, Any]], active_pools: dict[str, str]):
        self.profiles, self.active_pools = profiles, active_pools
        self.cognito_lookups: list[tuple[Any, str]] = []

    def profile(self, user_id: str) -> dict[str, Any] | None:
        return self.profiles.get(user_id)

    def pool_of(self, tenant_id: str) -> str | None:
        return self.active_pools.get(tenant_id)

    def cognito_user(self, pool_id: str, username: str) -> dict[str, Any]:
        self.cognito_lookups.append((pool_id, username))
        return {"UserAttributes": [], "UserMFASettingList": []}


def member(tenant_id: str = "tnt-1") -> dict[str, Any]:
    return {"userId": "u-1", "tenantId": tenant_id, "username": "tnt-1/ada@example.com", "role": "Member", "status": "ACTIVE"}


def request(tenant_id: str = "tnt-1") -> dict[str, Any]:
    return {"requestId": "r-1", "tenantId": tenant_id, "userId": "u-1", "required": True}


def test_a_change_for_a_user_of_an_active_tenant_is_applied_in_its_pool():
    # Given a user of an active tenant
    directory = FakeDirectory({"u-1": member()}, {"tnt-1": "pool-1"})
    # When an upstream system requires MFA for them
    result = prepare_mfa_change(directory, request(), "mfa-change-r-1")
    # Then the plan targets the tenant's pool
    assert result["outcome"] == "APPLY"
    assert result["plan"]["userPoolId"] == "pool-1"
    assert directory.cognito_lookups == [("pool-1", "tnt-1/ada@example.com")]


def test_a_change_in_a_tenant_that_is_no_longer_active_is_rejected_without_asking_cognito():
    # Given a user whose tenant was offboarded (the profile stays, the tenant has no active pool)
    directory = FakeDirectory({"u-1": member()}, {})
    # When a change of their MFA requirement is prepared
    result = prepare_mfa_change(directory, request(), "mfa-change-r-1")
    # Then it is rejected with a failure event that matches the contract, and Cognito is never asked
    # about a user in no pool (it used to be called with UserPoolId=None)
    assert result["outcome"] == "REJECTED"
    assert result["plan"] is None
    assert result["failure"]["reason"] == "TENANT_NOT_ACTIVE"
    assert result["failure"]["field"] == "tenantId"
    assert schemas.violations("MfaRequirementChangeFailed", result["failure"]) == []
    assert directory.cognito_lookups == []
