"""Generate docs/statemachines/<name>.svg, a picture of each deployed state machine, from its definition
(statemachines/<name>.asl.json): every state with the call it makes, the happy path marked, the compensation
path (what a Catch leads to) marked. Checked in so that a change of a workflow shows in review;
tests/static/test_docs_generated.py fails when a picture drifts from its definition.

    python tools/build_state_machine_pictures.py          # (re)write every picture
    python tools/build_state_machine_pictures.py --check  # exit 1 if any is missing or out of date

The layout is layered (Sugiyama-like, kept simple): a state's row is the longest path to it from StartAt, the
happy path runs down the left column, the other states of a row sit to its right in the order a walk from
StartAt meets them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from generated_files import write_or_check  # noqa: E402 - after the path above

DEFINITIONS = ROOT / "statemachines"
OUTPUT_DIR = ROOT / "docs" / "statemachines"

BOX_WIDTH, BOX_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN, LEGEND = 250, 44, 64, 34, 20, 96
MIN_WIDTH, LANE_STEP = 760, 5
FILL = {"happy": "#e3f4e1", "compensation": "#fde8d7", "Fail": "#f8d7da", "Succeed": "#d4edda", "other": "#f4f6f8"}
STROKE = {"happy": "#2e7d32", "catch": "#c0392b", "other": "#7f8c8d"}


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


def call_of(state: dict[str, Any]) -> str:
    """What a state does, in a few words: its call, or its kind."""
    if state["Type"] == "Task":
        resource = str(state["Resource"]).removeprefix("arn:aws:states:::")
        resource = resource.removeprefix("aws-sdk:").replace("cognitoidentityprovider", "cognito-idp")
        if resource.startswith("lambda:invoke"):
            function = str(state.get("Parameters", {}).get("FunctionName", ""))
            return "λ " + function.removeprefix("${").removesuffix("}").removesuffix("FunctionArn")
        return resource
    if state["Type"] == "Map":
        inner = list((state.get("ItemProcessor") or state.get("Iterator") or {}).get("States", {}))
        return "Map: " + ", ".join(inner)
    return state["Type"]


def box(x: float, y: float, name: str, state: dict[str, Any], fill: str, stroke: str) -> str:
    rounded = 18 if state["Type"] in ("Succeed", "Fail", "Choice") else 6
    return (
        f'<g><rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="{rounded}" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="1.5"/>'
        f'<text x="{x + BOX_WIDTH / 2}" y="{y + 18}" text-anchor="middle" font-size="13" font-weight="bold">'
        f"{escape(name)}</text>"
        f'<text x="{x + BOX_WIDTH / 2}" y="{y + 34}" text-anchor="middle" font-size="10" fill="#555">'
        f"{escape(call_of(state)[:44])}</text></g>"
    )


def wrapped(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` characters, at spaces."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def render(definition: dict[str, Any], title: str) -> str:
    drawn = layout(definition)
    position, states = drawn["position"], drawn["states"]
    columns = max(column for column, _ in position.values()) + 1
    rows = max(row for _, row in position.values()) + 1
    # every column has a lane on its right for edges that pass rows by
    width = max(MIN_WIDTH, MARGIN * 2 + columns * (BOX_WIDTH + COLUMN_GAP))
    height = MARGIN * 2 + LEGEND + rows * BOX_HEIGHT + (rows - 1) * ROW_GAP

    def corner(name: str) -> tuple[float, float]:
        column, row = position[name]
        return MARGIN + column * (BOX_WIDTH + COLUMN_GAP), MARGIN + LEGEND + row * (BOX_HEIGHT + ROW_GAP)

    def lane(column: int, used: dict[int, int]) -> float:
        """The x of the next free track in the lane right of `column`."""
        used[column] = used.get(column, 0) + 1
        return MARGIN + column * (BOX_WIDTH + COLUMN_GAP) + BOX_WIDTH + COLUMN_GAP / 2 + ((used[column] % 9) - 4) * LANE_STEP

    comment = wrapped(" ".join(str(definition.get("Comment", "")).split()), (width - 2 * MARGIN) // 6)[:3]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="Helvetica, Arial, sans-serif">',
        "<defs>"
        + "".join(
            f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{colour}"/></marker>'
            for kind, colour in STROKE.items()
        )
        + "</defs>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 14}" font-size="16" font-weight="bold">{escape(title)}</text>',
        f'<text x="{MARGIN}" y="{MARGIN + 32}" font-size="11" fill="#333">'
        "Green: the happy path. Red dashed: a Catch. Orange: compensation (reached only through a Catch).</text>",
        f'<text x="{MARGIN}" y="{MARGIN + 46}" font-size="10" fill="#777">'
        "Generated from the definition by tools/build_state_machine_pictures.py (make docs).</text>",
    ]
    parts += [
        f'<text x="{MARGIN}" y="{MARGIN + 62 + 12 * i}" font-size="10" fill="#333">{escape(line)}</text>'
        for i, line in enumerate(comment)
    ]
    used: dict[int, int] = {}
    for edge in drawn["edges"]:
        (x1, y1), (x2, y2) = corner(edge.source), corner(edge.target)
        (c1, r1), (c2, r2) = position[edge.source], position[edge.target]
        happy = (edge.source, edge.target) in drawn["happy_edges"]
        kind = "happy" if happy else "catch" if edge.kind == "catch" else "other"
        if r2 == r1 + 1:  # the next row: a curve through the gap between the rows
            start, end = (x1 + BOX_WIDTH / 2, y1 + BOX_HEIGHT), (x2 + BOX_WIDTH / 2, y2)
            middle = (start[1] + end[1]) / 2
            path = f"M {start[0]} {start[1]} C {start[0]} {middle}, {end[0]} {middle}, {end[0]} {end[1]}"
        elif r2 > r1:  # rows further down: out through the gap below, down a lane, in through the gap above
            x = lane(min(c1, c2), used)
            below, above = y1 + BOX_HEIGHT + ROW_GAP / 2, y2 - ROW_GAP / 2
            path = (
                f"M {x1 + BOX_WIDTH / 2} {y1 + BOX_HEIGHT} L {x1 + BOX_WIDTH / 2} {below} L {x} {below} "
                f"L {x} {above} L {x2 + BOX_WIDTH / 2} {above} L {x2 + BOX_WIDTH / 2} {y2}"
            )
        else:  # a loop back up: out and in on the right, up a lane
            x = lane(max(c1, c2), used)
            out, back_in = y1 + BOX_HEIGHT / 2, y2 + BOX_HEIGHT / 2
            path = f"M {x1 + BOX_WIDTH} {out} L {x} {out} L {x} {back_in} L {x2 + BOX_WIDTH} {back_in}"
        dash = ' stroke-dasharray="5 4"' if edge.kind == "catch" else ""
        parts.append(
            f'<path d="{path}" fill="none" stroke="{STROKE[kind]}" stroke-width="{2.2 if happy else 1.2}"{dash} '
            f'marker-end="url(#arrow-{kind})"/>'
        )
    for name in drawn["order"]:
        state = states[name]
        if state["Type"] in ("Fail", "Succeed"):
            fill = FILL[state["Type"]]
        elif name in drawn["happy"]:
            fill = FILL["happy"]
        elif name in drawn["compensation"]:
            fill = FILL["compensation"]
        else:
            fill = FILL["other"]
        stroke = (
            STROKE["happy"] if name in drawn["happy"] else STROKE["catch"] if name in drawn["compensation"] else STROKE["other"]
        )
        parts.append(box(*corner(name), name, state, fill, stroke))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def pictures() -> dict[Path, str]:
    """Each picture's path and content, one per deployed definition."""
    made = {}
    for path in sorted(DEFINITIONS.glob("*.asl.json")):
        name = path.name.removesuffix(".asl.json")
        title = "".join(part.title() for part in name.split("_"))
        made[OUTPUT_DIR / f"{name}.svg"] = render(json.loads(path.read_text(encoding="utf-8")), title)
    return made


def main(argv: list[str]) -> int:
    made = pictures()
    return write_or_check(made, argv, "make docs", stale_too=tuple(sorted(set(OUTPUT_DIR.glob("*.svg")) - set(made))))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
