"""The single-table design is written down once: src/tenantry/keys.py holds every key format, the state
machines build only those keys, Python builds them only through keys.py, and docs/data-model.md describes
every entity and index."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenantry import keys

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = sorted((ROOT / "statemachines").glob("*.asl.json"))  # what deploys (generated from statemachines/src/)
KEY_ATTRIBUTES = ("PK", "SK", *(attribute for pair in keys.INDEXES.values() for attribute in pair))
COMPUTED = "{}"  # a whole key taken from the state (built earlier, in Python, through keys.py)


def as_pattern(key_format: str) -> str:
    """keys.py's `USER#{user_id}` as a state machine writes it: `USER#{}`."""
    return re.sub(r"\{[a-z_]+\}", "{}", key_format)


def asl_pattern(value: dict[str, str]) -> str:
    """The format of one key attribute in a Key or Item: a literal, a States.Format template, or COMPUTED."""
    if "S" in value:
        return value["S"]
    formatted = re.fullmatch(r"States\.Format\('((?:[^'\\]|\\.)*)'\s*,.*\)", value["S.$"], re.DOTALL)
    return formatted.group(1) if formatted else COMPUTED


def all_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from all_states(branch["States"])
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from all_states(processor["States"])


def dynamodb_requests(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, request) for every DynamoDB request of a definition, one per item of a transaction."""
    for name, state in all_states(definition["States"]):
        if ":dynamodb:" not in state.get("Resource", ""):
            continue
        parameters = state.get("Parameters") or state.get("Arguments") or {}
        if "TransactItems" in parameters:
            for position, item in enumerate(parameters["TransactItems"]):
                ((operation, request),) = item.items()
                yield f"{name}.TransactItems[{position}].{operation}", request
        else:
            yield name, parameters


def entity_for(item: dict[str, Any]) -> keys.Entity | None:
    """The keys.py entity whose PK and SK formats the item's keys follow."""
    pk, sk = asl_pattern(item["PK"]), asl_pattern(item["SK"])
    for entity in keys.ENTITIES:
        if pk in (COMPUTED, as_pattern(entity.pk)) and sk in (COMPUTED, as_pattern(entity.sk)):
            return entity
    return None


def key_violations(definition: dict[str, Any]) -> list[str]:
    found = []
    for where, request in dynamodb_requests(definition):
        item = request.get("Key") or request.get("Item")
        if item is None:
            found.append(f"{where}: no Key or Item (teach this test to read the operation)")
            continue
        written = {attribute: asl_pattern(item[attribute]) for attribute in KEY_ATTRIBUTES if attribute in item}
        entity = entity_for(item) if {"PK", "SK"} <= set(item) else None
        if entity is None:
            found.append(f"{where}: {written} follows no entity in keys.py")
            continue
        declared = item.get("entity", {}).get("S")
        if declared is not None and declared != entity.name:
            found.append(f"{where}: an item of entity {declared!r} keyed as {entity.name} {written}")
        for index, (pk_attribute, sk_attribute) in keys.INDEXES.items():
            if pk_attribute not in written and sk_attribute not in written:
                continue
            expected = tuple(as_pattern(f) for f in entity.indexes.get(index, ("(none)", "(none)")))
            if (written.get(pk_attribute), written.get(sk_attribute)) != expected:
                found.append(f"{where}: {index} keys {written} are not {entity.name}'s {expected}")
    return found


def test_there_are_definitions_to_check():
    assert len(DEFINITIONS) >= 6


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_every_dynamodb_key_in_a_state_machine_follows_a_format_in_keys_py(path):
    assert key_violations(json.loads(path.read_text())) == []


def test_the_key_check_catches_a_key_keys_py_does_not_know():
    definition = json.loads((ROOT / "statemachines" / "user_registration.asl.json").read_text())
    definition["States"]["SaveProfile"]["Parameters"]["Item"]["PK"] = {"S.$": "States.Format('PROFILE#{}', $.userId)"}
    assert key_violations(definition) == [
        "SaveProfile: {'PK': 'PROFILE#{}', 'SK': 'PROFILE', 'GSI1PK': 'TENANT#{}', 'GSI1SK': 'USER#{}'} "
        "follows no entity in keys.py"
    ]


def test_python_builds_keys_only_through_keys_py():
    inline = re.compile(r"""f?["'][A-Z][A-Z_]*#""")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("src/tenantry", "functions")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "src/tenantry/keys.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if inline.search(line)
    ]
    assert offenders == []


def test_data_model_doc_lists_every_entity_and_index():
    doc = (ROOT / "docs" / "data-model.md").read_text()
    missing = [
        f"{entity.name}: `{text}`"
        for entity in keys.ENTITIES
        for text in (entity.name, entity.pk, entity.sk, *(f for pair in entity.indexes.values() for f in pair))
        if f"`{text}`" not in doc
    ]
    missing += [f"index {index}" for index in keys.INDEXES if f"`{index}`" not in doc]
    assert missing == []


class _AnyTag(yaml.SafeLoader):
    """Reads template.yaml, CloudFormation's short-form tags (!Ref, !Sub) included."""


_AnyTag.add_multi_constructor("!", lambda loader, tag, node: None)


def test_template_indexes_are_the_ones_keys_py_names():
    table = yaml.load((ROOT / "template.yaml").read_text(), Loader=_AnyTag)["Resources"]["TenantryTable"]["Properties"]
    declared = {
        index["IndexName"]: tuple(part["AttributeName"] for part in index["KeySchema"])
        for index in table["GlobalSecondaryIndexes"]
    }
    assert declared == keys.INDEXES
