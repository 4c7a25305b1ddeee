"""Badges: the catalogue (`GET /badges`, anyone signed in, and keys), issuing and revoking
(`POST`/`DELETE /users/{id}/badges/{name}`: Admins, SuperUsers, keys with `badges:write`). Both writes are
idempotent: a badge held already, or not held, changes nothing, so BadgeIssued and BadgeRevoked (from the
profile's stream) come once each. The rules are tenantry.badges'; icons are read through short-lived URLs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from tenantry.api.errors import ApiError, error_responses, not_found
from tenantry.api.route_caller import require, verified_caller
from tenantry.badges import Conflict, InvalidBadge, UserNotFound, check_name
from tenantry.roles import MANAGING_ROLES, ROLES_HIGHEST_FIRST

if TYPE_CHECKING:
    from tenantry.badges import BadgeCatalogue, BadgeStore

WRITE_SCOPE = "badges:write"


@dataclass(frozen=True)
class BadgeServices:
    catalogue: BadgeCatalogue
    store: BadgeStore
    icon_url: Callable[[str], str]  # an icon's key in the badge bucket -> a short-lived URL


class CatalogueEntry(BaseModel):
    name: str
    description: str
    iconUrl: Annotated[str, Field(description="A short-lived URL of the badge's icon")]  # noqa: N815


class Catalogue(BaseModel):
    badges: list[CatalogueEntry]


class BadgeChange(BaseModel):
    badge: str
    changed: Annotated[bool, Field(description="False when the user already held (or did not hold) the badge")]


UserId = Annotated[str, Path(min_length=1, max_length=128, description="The user's id")]
BadgeName = Annotated[str, Path(min_length=1, max_length=40, description="A badge of the catalogue, e.g. NEW_MEMBER")]


def router(services: Callable[[], BadgeServices] | None) -> Router:
    badges = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    def wired() -> BadgeServices:
        if services is None:  # only the OpenAPI document is built without one
            raise ApiError(500, "INTERNAL", "badges are not configured")
        return services()

    def change(user_id: str, name: str, work: Callable[[BadgeServices, str], bool]) -> BadgeChange:
        caller = require(verified_caller(badges), roles=MANAGING_ROLES, scope=WRITE_SCOPE)
        found = wired()
        try:
            check_name(name)
            if not found.catalogue.knows(name):
                raise not_found(f"no badge {name} in the catalogue")
            return BadgeChange(badge=name, changed=work(found, caller.tenant_id))
        except InvalidBadge as invalid:
            raise ApiError(400, "INVALID_REQUEST", str(invalid), "name") from None
        except UserNotFound:
            raise not_found("no such user") from None
        except Conflict:
            raise ApiError(409, "CONFLICT", "the user's badges kept changing; try again") from None

    @badges.get(
        "/badges",
        summary="The badge catalogue",
        description="Any signed-in user, and keys with `badges:write`.",
        operation_id="listBadges",
        tags=["badges"],
        responses={200: {"description": "Every badge"}, **error_responses(401, 403)},
    )
    def list_badges() -> Catalogue:
        # any role, never a session that may only set up MFA; a key that issues badges (it needs their names)
        require(verified_caller(badges), roles=ROLES_HIGHEST_FIRST, scope=WRITE_SCOPE)
        found = wired()
        return Catalogue(badges=[CatalogueEntry.model_validate(e) for e in found.catalogue.entries(found.icon_url)])

    @badges.post(
        "/users/<id>/badges/<name>",
        summary="Issue a badge to a user",
        description="Idempotent: issuing a badge the user holds changes nothing (`changed: false`); BadgeIssued once.",
        operation_id="issueBadge",
        tags=["badges"],
        responses={200: {"description": "Issued (or held already)"}, **error_responses(400, 401, 403, 404, 409)},
    )
    def issue(id: UserId, name: BadgeName) -> BadgeChange:  # noqa: A002
        return change(id, name, lambda found, tenant_id: found.store.issue(tenant_id, id, name))

    @badges.delete(
        "/users/<id>/badges/<name>",
        summary="Revoke a badge from a user",
        description="Idempotent: revoking a badge the user does not hold changes nothing; BadgeRevoked once.",
        operation_id="revokeBadge",
        tags=["badges"],
        responses={200: {"description": "Revoked (or not held)"}, **error_responses(400, 401, 403, 404, 409)},
    )
    def revoke(id: UserId, name: BadgeName) -> BadgeChange:  # noqa: A002
        return change(id, name, lambda found, tenant_id: found.store.revoke(tenant_id, id, name))

    return badges
