"""docs/events.md and docs/statemachines/*.svg are exactly what their generators make from the schemas, the
samples, the template and the definitions (regenerated in memory here): change a source, then run `make docs`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from helpers import ROOT


def _generator(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


catalogue = _generator("build_event_catalogue")
pictures = _generator("build_state_machine_pictures")


def test_the_event_catalogue_matches_the_schemas_samples_and_template():
    assert catalogue.OUTPUT.exists(), "docs/events.md is missing: run `make docs`"
    assert catalogue.OUTPUT.read_text(encoding="utf-8") == catalogue.render(), "docs/events.md differs: run `make docs`"


def test_the_catalogue_names_every_event_with_its_sample_and_fields():
    document = catalogue.render()
    for schema in (ROOT / "schemas" / "events").glob("*.json"):
        assert f"\n## {schema.stem}\n" in document
        assert (ROOT / "schemas" / "samples" / schema.name).exists(), f"{schema.stem} has no sample"
    assert document.count("Sample `detail`:") == len(list((ROOT / "schemas" / "events").glob("*.json")))


MADE = pictures.pictures()


@pytest.mark.parametrize("path", sorted(MADE), ids=lambda p: Path(p).name)
def test_each_state_machine_picture_matches_its_definition(path):
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run `make docs`"
    assert path.read_text(encoding="utf-8") == MADE[path], f"{path.relative_to(ROOT)} differs: run `make docs`"


def test_there_is_one_picture_per_definition_and_no_other():
    assert set(pictures.OUTPUT_DIR.glob("*.svg")) == set(MADE)
    assert len(MADE) == len(list((ROOT / "statemachines").glob("*.asl.json")))


def test_a_picture_shows_every_state_the_happy_path_and_the_compensation():
    import json

    definition = json.loads((ROOT / "statemachines" / "tenant_onboarding.asl.json").read_text())
    drawn = pictures.layout(definition)
    assert set(drawn["position"]) == set(definition["States"])
    assert drawn["happy"][0] == definition["StartAt"] and drawn["happy"][-1] == "TenantOnboarded"
    assert {"UndoUserPool", "DeleteUndoneUserPool", "MarkTenantFailed"} <= drawn["compensation"]
    assert not set(drawn["happy"]) & drawn["compensation"]
