"""The reliability suite's report: each test of tests/reliability adds the figures it counted, and the session
writes them to RELIABILITY.md (tests/reliability/conftest.py). Every figure is a count from that run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    title: str
    intro: str
    columns: tuple[str, ...]
    rows: list[tuple[object, ...]] = field(default_factory=list)

    def add(self, *row: object) -> None:
        assert len(row) == len(self.columns), (row, self.columns)
        self.rows.append(row)

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", self.intro, "", "| " + " | ".join(self.columns) + " |"]
        lines.append("| " + " | ".join("---" for _ in self.columns) + " |")
        lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Report:
    tables: dict[str, Table] = field(default_factory=dict)

    def table(self, key: str, title: str, intro: str, columns: tuple[str, ...]) -> Table:
        if key not in self.tables:
            self.tables[key] = Table(title, intro, columns)
        return self.tables[key]

    def write(self, path: Path) -> None:
        head = (
            "# Reliability\n\nWritten by the reliability suite (`tests/reliability/`, part of `make test`) each time it "
            "runs, on the local runtime. Every figure is a count from that run, never a constant. Sections the run "
            "did not reach are absent."
        )
        path.write_text("\n\n".join([head, *(t.markdown() for t in self.tables.values())]) + "\n")


REPORT = Report()
