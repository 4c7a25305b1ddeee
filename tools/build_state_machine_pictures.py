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
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tools")]
from generated_files import write_or_check  # noqa: E402 - after the path above

from tenantry_ops.workflow_graph import layout  # noqa: E402

DEFINITIONS = ROOT / "statemachines"
OUTPUT_DIR = ROOT / "docs" / "statemachines"

BOX_WIDTH, BOX_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN, LEGEND = 250, 44, 64, 34, 20, 96
MIN_WIDTH, LANE_STEP = 760, 5
FILL = {"happy": "#e3f4e1", "compensation": "#fde8d7", "Fail": "#f8d7da", "Succeed": "#d4edda", "other": "#f4f6f8"}
STROKE = {"happy": "#2e7d32", "catch": "#c0392b", "other": "#7f8c8d"}


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
