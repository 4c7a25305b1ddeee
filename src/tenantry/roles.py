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
