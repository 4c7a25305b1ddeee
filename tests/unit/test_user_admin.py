"""tenantry.user_admin without AWS: what a failure half-way leaves (nothing half-done), and the revocation time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tenantry.adapters.dynamodb import to_item
from tenantry.user_admin import Conflict, NotActivated, Resources, UserAdmin, revocation_time

USER = {
    "userId": "u-1",
    "tenantId": "t-1",
    "username": "t-1/bo@example.com",
    "email": "bo@example.com",
    "requestId": "r-1",
    "role": "SuperUser",
    "status": "ACTIVE",
}


class Errors:
    class ConditionalCheckFailedException(Exception):
        pass

    class UserNotFoundException(Exception):
        pass


class FakeCognito:
    exceptions = Errors

    def __init__(self) -> None:
        self.groups, self.enabled, self.signed_out = {"SuperUser"}, True, 0

    def admin_add_user_to_group(self, **p: Any) -> None:
        self.groups.add(p["GroupName"])

    def admin_remove_user_from_group(self, **p: Any) -> None:
        self.groups.discard(p["GroupName"])

    def admin_enable_user(self, **p: Any) -> None:
        self.enabled = True

    def admin_disable_user(self, **p: Any) -> None:
        self.enabled = False

    def admin_user_global_sign_out(self, **p: Any) -> None:
        self.signed_out += 1


class FakeTable:
    """The tenant record answers; every profile update fails its condition (the user changed meanwhile)."""

    exceptions = Errors

    def get_item(self, **p: Any) -> dict[str, Any]:
        return {"Item": to_item({"status": "ACTIVE", "userPoolId": "pool-1"})}

    def update_item(self, **p: Any) -> dict[str, Any]:
        raise Errors.ConditionalCheckFailedException()


class FakeEvents:
    def put_events(self, **p: Any) -> dict[str, Any]:
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}


def admin(cognito: FakeCognito) -> UserAdmin:
    return UserAdmin(Resources("table", "bus", "machine"), FakeTable(), cognito, FakeEvents(), None)  # type: ignore[arg-type]


def test_a_role_change_whose_profile_write_fails_leaves_the_groups_as_they_were():
    # Given a SuperUser in their group, When the profile write fails after the group moves (a demotion)
    cognito = FakeCognito()
    with pytest.raises(Conflict):
        admin(cognito).set_role(USER, "Member", "req-1")
    # Then Cognito is back where the profile says
    assert cognito.groups == {"SuperUser"}


def test_disabling_whose_profile_write_fails_enables_the_user_again():
    cognito = FakeCognito()
    with pytest.raises(Conflict):
        admin(cognito).set_status(USER, "DISABLED", "req-1")
    assert cognito.enabled is True


def test_a_user_not_yet_activated_is_not_enabled():
    cognito = FakeCognito()
    cognito.enabled = False
    with pytest.raises(NotActivated):
        admin(cognito).set_status({**USER, "status": "PENDING"}, "ACTIVE", "req-1")
    assert cognito.enabled is False


@pytest.mark.parametrize(
    ("now", "revoked"),
    [
        (datetime(2026, 1, 1, 12, 0, 0, 300_000, tzinfo=UTC), datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)),
        (datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC), datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)),
    ],
)
def test_the_revocation_time_is_the_next_whole_second(now, revoked):
    # a token issued in the revoking second carries iat = that second: it must be refused too
    assert revocation_time(now) == revoked
