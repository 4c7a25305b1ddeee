"""The event contract: JSON Schemas of every event's `detail`, kept in `schemas/events/<DetailType>.json`.

Validation maps jsonschema's errors onto machine-readable reasons and a dotted field path, so that a
rejected request says exactly which field was wrong (`admin.email`, `isolation`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

# In the Lambda layer the schemas are copied into the package (make build-SharedLayer); in a checkout
# they live at the project root.
_CANDIDATE_DIRS = (Path(__file__).parent / "event_schemas", Path(__file__).resolve().parents[2] / "schemas" / "events")

_REASONS = {
    "required": "MISSING_FIELD",
    "enum": "VALUE_NOT_ALLOWED",
    "const": "VALUE_NOT_ALLOWED",
    "pattern": "INVALID_FORMAT",
    "format": "INVALID_FORMAT",
    "maxLength": "TOO_LONG",
    "minLength": "TOO_SHORT",
    "type": "WRONG_TYPE",
    "additionalProperties": "UNKNOWN_FIELD",
}


class UnknownEventType(LookupError):
    """No schema exists for this detail-type."""


@dataclass(frozen=True)
class Violation:
    """One way in which an event detail breaks its schema."""

    reason: str
    field: str
    message: str


def schemas_dir() -> Path:
    for candidate in _CANDIDATE_DIRS:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("schemas/events not found next to the tenantry package or at the project root")


def known_detail_types() -> list[str]:
    return sorted(p.stem for p in schemas_dir().glob("*.json"))


@cache
def load_schema(detail_type: str) -> dict[str, Any]:
    path = schemas_dir() / f"{detail_type}.json"
    if not path.is_file():
        raise UnknownEventType(detail_type)
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def ecma_pattern(pattern: str) -> str:
    """`pattern` as Python must read it to mean what JSON Schema (ECMA-262) means: there `$` is the end of the
    string, while Python's `$` also matches before a final newline, so `"r-1\\n"` would pass `^[a-z0-9-]+$` and
    name the same execution as `"r-1"`. A final unescaped `$` becomes `\\Z`."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + "\\Z"
    return pattern


@cache
def _validator(detail_type: str) -> Any:
    import re

    import jsonschema  # lazy: only request validation and publishing need it
    from jsonschema import ValidationError

    def pattern(validator: Any, expected: str, instance: Any, schema: dict[str, Any]) -> Any:
        if validator.is_type(instance, "string") and not re.search(ecma_pattern(expected), instance):
            yield ValidationError(f"{instance!r} does not match {expected!r}")

    schema = load_schema(detail_type)
    cls = jsonschema.validators.extend(jsonschema.validators.validator_for(schema), {"pattern": pattern})  # type: ignore[no-untyped-call]
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


# The pattern of free text in the contract (names, plans): not blank, no C0 or C1 control characters (a NUL, a
# newline), no bidirectional overrides or isolates (text that displays in another order than it reads).
TEXT_PATTERN = "^(?!\\s*$)[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]+$"


def violations(detail_type: str, detail: Any) -> list[Violation]:
    """Every violation of `detail_type`'s schema by `detail`, most specific field first."""
    found = []
    for error in _validator(detail_type).iter_errors(detail):
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path.append(missing)
            message = f"{'.'.join(path)} is required"
        elif error.validator == "additionalProperties":
            extra = error.message.split("'")[1] if "'" in error.message else ""
            path.append(extra)
            message = f"{'.'.join(path)} is not a known field"
        else:
            message = f"{'.'.join(path) or 'detail'}: {_describe(error)}"
        found.append(Violation(_REASONS.get(str(error.validator), "INVALID_VALUE"), ".".join(path), message))
    found.sort(key=lambda v: (-v.field.count("."), v.field))
    return found


def _describe(error: Any) -> str:
    validator, expected = error.validator, error.validator_value
    if validator == "minLength":
        return f"shorter than {expected} characters" if expected > 1 else "must not be empty"
    if validator == "pattern" and expected == TEXT_PATTERN:
        return "must not be blank, nor contain control characters or bidirectional overrides"
    described = {
        "maxLength": lambda: f"longer than {expected} characters",
        "enum": lambda: f"must be one of {', '.join(map(str, expected))}",
        "pattern": lambda: f"is not in the expected format (it must match {expected})",
        "type": lambda: f"must be of type {expected}",
    }.get(str(validator))
    return described() if described else str(error.message)


class SchemaViolation(ValueError):
    """An event does not satisfy its schema."""

    def __init__(self, detail_type: str, found: list[Violation]):
        self.detail_type = detail_type
        self.violations = found
        super().__init__(f"{detail_type}: " + "; ".join(v.message for v in found))


def check(detail_type: str, detail: Any) -> None:
    """Raise SchemaViolation unless `detail` satisfies the schema of `detail_type`."""
    found = violations(detail_type, detail)
    if found:
        raise SchemaViolation(detail_type, found)
