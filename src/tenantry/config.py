"""Typed function configuration, read from the environment once at cold start.

Each handler declares a dataclass of the settings it needs; `load_settings` fills it from environment
variables named after the fields (upper-case) and fails at cold start, naming every missing variable,
rather than half-way through an invocation. Logic receives the dataclass and never reads os.environ.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


class ConfigurationError(RuntimeError):
    """A function was deployed without the environment it needs."""


def load_settings(settings_type: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build `settings_type` (a dataclass) from environment variables named after its fields."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    missing: list[str] = []
    for field in dataclasses.fields(settings_type):
        name = field.name.upper()
        if name in env and env[name] != "":
            raw = env[name]
            values[field.name] = int(raw) if field.type in (int, "int") else raw
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            missing.append(name)
    if missing:
        raise ConfigurationError(f"{settings_type.__name__}: missing environment variables {', '.join(missing)}")
    return settings_type(**values)
