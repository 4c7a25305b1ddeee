"""The README describes the tree as it is: its architecture picture names every function and state machine
of the template, and every path in its project layout table exists."""

from __future__ import annotations

import re

from helpers import ROOT
from tenantry_local.template import load_template

README = (ROOT / "README.md").read_text()
RESOURCES = load_template(ROOT / "template.yaml")["Resources"]


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def test_the_architecture_picture_shows_every_function_and_state_machine():
    picture = section("Architecture").split("```")[1]
    names = {
        logical_id.removesuffix("Function").removesuffix("StateMachine")
        for logical_id, resource in RESOURCES.items()
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")
    }
    assert len(names) > 20
    assert sorted(n for n in names if not re.search(rf"\b{n}\b", picture)) == []


def test_every_path_in_the_project_layout_exists():
    table = section("Architecture").split("### Project layout", 1)[1]
    named = [p for row in re.findall(r"^\|([^|]+)\|", table, flags=re.MULTILINE) for p in re.findall(r"`([^`]+)`", row)]
    assert len(named) > 5
    missing = [p for p in named if not list(ROOT.glob(p.replace("<name>", "*")))]
    assert missing == []
