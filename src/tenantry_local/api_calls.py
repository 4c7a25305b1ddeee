"""Every AWS API call the endpoint serves passes a chain of middleware before moto answers it.

A middleware is `middleware(call, proceed) -> response`: it may look at the call, answer it itself (a
fault) or call `proceed(call)` and look at moto's response (CloudTrail). The runtime's own clients sign
with INTERNAL_ACCESS_KEY; their calls skip the chain (not counted, not faulted, not in CloudTrail).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

INTERNAL_ACCESS_KEY = "local-runtime-internal"
CALLER_HEADER = "X-Tenantry-Caller"  # set on the calls of Step Functions tasks (moto_patches), read by faults

Response = Any  # moto's (status, headers, body)


@dataclass(frozen=True)
class ApiCall:
    service: str  # boto3's name: "cognito-idp", "dynamodb", ...
    operation: str  # "AdminCreateUser"
    body: str  # the request body as text (moto's DynamoDB handler has parsed it already: re-encoded)
    authorization: str  # the Authorization header (who signed the call)
    caller: str = ""  # "<execution name>/<state name>" of the Step Functions task making it (CALLER_HEADER)

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"

    @property
    def internal(self) -> bool:
        return f"Credential={INTERNAL_ACCESS_KEY}/" in self.authorization


Proceed = Callable[[ApiCall], Response]
Middleware = Callable[[ApiCall, Proceed], Response]


def run_chain(middlewares: Sequence[Middleware], call: ApiCall, answer: Proceed) -> Response:
    """Pass `call` through `middlewares` in order; the last `proceed` is moto's own `answer`."""
    if call.internal:
        return answer(call)

    def step(index: int) -> Proceed:
        if index == len(middlewares):
            return answer
        return lambda c: middlewares[index](c, step(index + 1))

    return step(0)(call)
