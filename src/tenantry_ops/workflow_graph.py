"""A state machine definition read as a graph: its edges, the happy path (the longest way from StartAt to a
Succeed state without a Catch) and the compensation (the states only a Catch reaches). The pictures in
docs/statemachines/ and `tenantry execution` (which states of a run were compensation) share it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # "next", "choice", "default" or "catch"


def edges_of(states: dict[str, Any]) -> list[Edge]:
    found = []
    for name, state in states.items():
        for choice in state.get("Choices", []):
            found.append(Edge(name, choice["Next"], "choice"))
        if "Default" in state:
            found.append(Edge(name, state["Default"], "default"))
        if "Next" in state:
            found.append(Edge(name, state["Next"], "next"))
        for catch in state.get("Catch", []):
            found.append(Edge(name, catch["Next"], "catch"))
    return found


def walk_order(start: str, edges: list[Edge]) -> tuple[list[str], set[Edge]]:
    """States in the order a depth-first walk from `start` meets them (plain edges before catches), and the
    edges that lead back to a state the walk is still inside (loops), which the layering ignores."""
    out: dict[str, list[Edge]] = {}
    for edge in sorted(edges, key=lambda e: e.kind == "catch"):
        out.setdefault(edge.source, []).append(edge)
    order: list[str] = []
    back: set[Edge] = set()
    on_path: set[str] = set()

    def visit(name: str) -> None:
        order.append(name)
        on_path.add(name)
        for edge in out.get(name, []):
            if edge.target in on_path:
                back.add(edge)
            elif edge.target not in order:
                visit(edge.target)
        on_path.discard(name)

    visit(start)
    return order, back


def longest_paths(order: list[str], edges: list[Edge]) -> dict[str, tuple[int, list[str]]]:
    """For each state, the length of and a longest path from StartAt over the edges given (a DAG)."""
    incoming: dict[str, list[str]] = {}
    for edge in edges:
        incoming.setdefault(edge.target, []).append(edge.source)
    best: dict[str, tuple[int, list[str]]] = {}

    def solve(name: str) -> tuple[int, list[str]]:
        if name not in best:
            sources = [s for s in incoming.get(name, []) if s in order]
            best[name] = (0, [name])  # (guards a cycle the caller failed to remove)
            if sources:
                length, path = max((solve(s) for s in sources), key=lambda found: found[0])
                best[name] = (length + 1, [*path, name])
        return best[name]

    for name in order:
        solve(name)
    return best


def layout(definition: dict[str, Any]) -> dict[str, Any]:
    states = definition["States"]
    edges = [e for e in edges_of(states) if e.target in states]
    order, back = walk_order(definition["StartAt"], edges)
    forward = [e for e in edges if e not in back]
    rows = {name: length for name, (length, _) in longest_paths(order, forward).items()}
    # The happy path: the longest way from StartAt to a Succeed state without taking a Catch
    plain = [e for e in forward if e.kind != "catch"]
    plain_paths = longest_paths(order, plain)
    reachable_plainly = reachable(definition["StartAt"], plain)
    ends = [n for n in order if states[n]["Type"] == "Succeed" and n in reachable_plainly]
    happy = max((plain_paths[n] for n in ends), key=lambda found: found[0])[1] if ends else [definition["StartAt"]]
    happy_edges = set(zip(happy, happy[1:], strict=False))
    # Compensation: what only a Catch reaches
    compensation = {n for n in order if n not in reachable_plainly}
    columns: dict[int, list[str]] = {}
    for name in sorted(order, key=lambda n: (n not in happy, order.index(n))):
        columns.setdefault(rows[name], []).append(name)
    position = {name: (column, row) for row, names in columns.items() for column, name in enumerate(names)}
    return {
        "states": states,
        "order": order,
        "edges": edges,
        "position": position,
        "happy": happy,
        "happy_edges": happy_edges,
        "compensation": compensation,
    }


def reachable(start: str, edges: list[Edge]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        name = todo.pop()
        for edge in edges:
            if edge.source == name and edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return seen
