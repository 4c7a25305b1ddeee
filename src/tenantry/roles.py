"""Roles, highest first. A role is a Cognito group; nobody may grant a role above their own."""

from __future__ import annotations

ROLES_HIGHEST_FIRST = ("Admin", "SuperUser", "Member", "ReadOnly")
ROLE_DESCRIPTIONS = {
    "Admin": "Manages the tenant's users",
    "SuperUser": "Manages users below SuperUser",
    "Member": "Uses the product",
    "ReadOnly": "Reads only",
}


def role_groups() -> list[dict[str, object]]:
    """The groups every user pool has, with Cognito precedence (lower wins)."""
    return [
        {"name": role, "precedence": rank, "description": ROLE_DESCRIPTIONS[role]}
        for rank, role in enumerate(ROLES_HIGHEST_FIRST)
    ]


def highest_role(groups: list[str]) -> str | None:
    for role in ROLES_HIGHEST_FIRST:
        if role in groups:
            return role
    return None


def rank(role: str) -> int:
    """0 for Admin, the highest; a larger number is a lower role."""
    return ROLES_HIGHEST_FIRST.index(role)


MANAGING_ROLES = ("Admin", "SuperUser")


# A tenant's machine (an API key with users:write) acts for the tenant, not as a person with a role: it may
# register the tenant's users, never one who manages users.
KEY_GRANTS_AT_MOST = "Member"


def may_grant_by_key(granted_role: str) -> bool:
    """Whether an API key may give someone `granted_role`: Member or ReadOnly, never Admin or SuperUser."""
    return granted_role in ROLES_HIGHEST_FIRST and rank(granted_role) >= rank(KEY_GRANTS_AT_MOST)


def may_grant(requester_role: str | None, granted_role: str) -> bool:
    """Whether a user in `requester_role` may give someone `granted_role`.

    Only Admins and SuperUsers manage users, and nobody grants a role above their own: a SuperUser may
    create SuperUsers, Members and ReadOnly users, never an Admin.
    """
    if requester_role not in MANAGING_ROLES or granted_role not in ROLES_HIGHEST_FIRST:
        return False
    return rank(granted_role) >= rank(requester_role)


def may_manage(requester_role: str | None, target_role: str | None) -> bool:
    """Whether a user in `requester_role` may act on a user in `target_role`: change their status, role or MFA
    requirement, revoke their sessions, delete them (over the API or on the bus).

    Only Admins and SuperUsers manage users, and only users below their own role: an Admin acts on
    SuperUsers, Members and ReadOnly users, a SuperUser on Members and ReadOnly users; nobody on a peer, a
    superior or themselves. (A role change also needs `may_grant` for the new role.)
    """
    if requester_role not in MANAGING_ROLES or target_role not in ROLES_HIGHEST_FIRST:
        return False
    return rank(target_role) > rank(requester_role)
