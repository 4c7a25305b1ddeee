"""Logger and Metrics, made once per Lambda environment (Powertools).

Cognito's sign-in triggers do not use this module: Powertools' import cost would land on sign-in.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics


@cache
def logger() -> Logger:
    from aws_lambda_powertools import Logger

    return Logger()


@cache
def metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics()
