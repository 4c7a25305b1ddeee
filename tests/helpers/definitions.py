"""Reading the state machine definitions the stack deploys, as the static tests and the reliability suite do."""

from __future__ import annotations

from typing import Any


def tasks(states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, state) of every Task state, those in Map and Parallel branches included."""
    found = []
    for name, state in states.items():
        if state["Type"] == "Task":
            found.append((name, state))
        for branch in state.get("Branches", []):
            found += tasks(branch["States"])
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            found += tasks(processor["States"])
    return found
