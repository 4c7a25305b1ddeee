"""Logger, Metrics and Tracer, made once per Lambda environment (Powertools).

Cognito's sign-in triggers do not use this module: Powertools' import cost (the Tracer's X-Ray SDK and its
patching of botocore, about 0.2 s) would land on sign-in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics, Tracer

Handler = TypeVar("Handler", bound=Callable[..., Any])


@cache
def logger() -> Logger:
    from aws_lambda_powertools import Logger

    return Logger()


@cache
def metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics()


@cache
def tracer() -> Tracer:
    """Powertools' Tracer: X-Ray segments for the handler and for every AWS call (botocore patched). It disables
    itself outside Lambda, and where POWERTOOLS_TRACE_DISABLED says so (the local runtime has no X-Ray daemon)."""
    from aws_lambda_powertools import Tracer

    return Tracer()


def traced(handler: Handler) -> Handler:
    """The handler in an X-Ray subsegment, its cold start annotated. Responses and errors are not captured as
    metadata: they may hold activation codes, tokens and personal data, which must not reach traces."""
    wrapped = tracer().capture_lambda_handler(handler, capture_response=False, capture_error=False)
    wrapped._traced = True  # type: ignore[attr-defined]  # (the static test finds traced handlers by this mark)
    return cast("Handler", wrapped)
