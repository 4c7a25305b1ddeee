"""The runtime's services, as moto's patched code reaches them.

moto's patches are process-wide (they replace methods of moto's classes), while a runtime's services
(its functions, its rule delivery, its API middleware) belong to one LocalRuntime. The runtime binds its
services for as long as it runs (`with bound(services): ...`); unbound, every patch falls back to moto's
own behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenantry_local.api_calls import Middleware
    from tenantry_local.faults import FaultInjector
    from tenantry_local.lambdas import LambdaService
    from tenantry_local.rule_delivery import RuleDelivery


@dataclass(frozen=True)
class Services:
    lambdas: LambdaService
    rules: RuleDelivery
    middleware: Sequence[Middleware]  # every API call passes these, in order
    faults: FaultInjector  # also in `middleware`; Lambda Invoke faults are matched by function name
    time_scale: float  # factor on Wait states and Retry intervals


_current: Services | None = None


@contextmanager
def bound(services: Services) -> Iterator[Services]:
    global _current
    previous, _current = _current, services
    try:
        yield services
    finally:
        _current = previous


def current() -> Services | None:
    return _current
