"""The deployed statemachines/<name>.asl.json files are exactly what tools/build_definitions.py generates from
statemachines/src/<name>.asl.yaml (regenerated in memory here): edit the YAML, then run `make definitions`."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_definitions", ROOT / "tools" / "build_definitions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
SOURCES = generator.sources()


def test_every_source_has_its_generated_json_and_no_json_lacks_a_source():
    assert SOURCES, "no YAML sources in statemachines/src/"
    generated = {generator.output_path(source).name for source in SOURCES}
    checked_in = {path.name for path in (ROOT / "statemachines").glob("*.asl.json")}
    assert checked_in == generated


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_checked_in_json_matches_its_yaml_source(source):
    target = generator.output_path(source)
    assert target.exists(), f"{target.relative_to(ROOT)} is missing: run `make definitions`"
    assert target.read_text(encoding="utf-8") == generator.render(source), (
        f"{target.relative_to(ROOT)} differs from {source.relative_to(ROOT)}: run `make definitions`"
    )


def test_every_template_definition_uri_names_a_generated_json():
    template = (ROOT / "template.yaml").read_text()
    uris = sorted(line.split(":", 1)[1].strip() for line in template.splitlines() if line.strip().startswith("DefinitionUri:"))
    assert uris == sorted(str(generator.output_path(source).relative_to(ROOT)) for source in SOURCES)
