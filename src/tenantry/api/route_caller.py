"""What a route may know about its request beyond its parameters: the verified caller, only from the
authorizer's context (never from the path, query, headers or body), and the one check of what that caller
may do (`require`)."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from tenantry.api.caller import KEY, Caller, caller_from_context
from tenantry.api.errors import forbidden, unauthenticated

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import Router


def authorizer_context(event: Any) -> dict[str, Any] | None:
    """What the authorizer passed on in a payload 2.0 event (a dict or Powertools' event), or None."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    context = authorizer.get("lambda") if isinstance(authorizer, dict) else None
    return context if isinstance(context, dict) else None


def caller_of(event: Any) -> Caller | None:
    """The caller in a payload 2.0 event's authorizer context, or None."""
    return caller_from_context(authorizer_context(event))


def verified_caller(router: Router) -> Caller:
    """The caller the authorizer verified, or a 401 when the request reached the handler without one."""
    caller = caller_of(router.current_event)
    if caller is None:
        raise unauthenticated()
    return caller


NO_SESSION = "an API key acts for its tenant, not as a user: it has no session"
NO_ME = "an API key has no /me: it acts for its tenant, not as a user"


def signed_in_user(router: Router, *, setting_up_mfa: bool = False, key_refusal: str = NO_SESSION) -> Caller:
    """The signed-in user acting for themselves (never a key: 403 with `key_refusal`); a session that may only set
    up MFA only where `setting_up_mfa`."""
    caller = verified_caller(router)
    if caller.kind == KEY:
        raise forbidden(key_refusal)
    if caller.mfa_setup_only and not setting_up_mfa:  # such a session may only call /me and set MFA up
        raise forbidden("this session may only set up MFA")
    return caller


def require(caller: Caller, *, roles: Collection[str] = (), scope: str | None = None) -> Caller:
    """The caller, when they may make this call; a 403 in the error shape otherwise. A key acts for its tenant
    only within its scopes (a route no scope opens, such as managing keys, is closed to every key); a user
    only within `roles`, and never with a session that may only set up MFA."""
    if caller.kind == KEY:
        if scope is None or scope not in caller.scopes:
            raise forbidden(f"an API key needs the scope {scope}" if scope else "an API key may not make this call")
        return caller
    if caller.mfa_setup_only:
        raise forbidden("this session may only set up MFA")
    if caller.role not in roles:
        raise forbidden("the caller's role may not make this call")
    return caller
