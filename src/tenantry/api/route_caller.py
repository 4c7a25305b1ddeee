"""What a route may know about its request beyond its parameters: the verified caller, only from the
authorizer's context (never from the path, query, headers or body)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenantry.api.caller import Caller, caller_from_context
from tenantry.api.errors import unauthenticated

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import Router


def verified_caller(router: Router) -> Caller:
    """The caller the authorizer verified, or a 401 when the request reached the handler without one."""
    request_context = router.current_event.get("requestContext") or {}
    authorizer = request_context.get("authorizer") or {}
    caller = caller_from_context(authorizer.get("lambda") if isinstance(authorizer, dict) else None)
    if caller is None:
        raise unauthenticated()
    return caller
