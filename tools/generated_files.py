"""What every generator in tools/ does with what it made: write it, or with --check only compare (exit 1 on drift)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_or_check(made: dict[Path, str], argv: list[str], command: str, stale_too: tuple[Path, ...] = ()) -> int:
    """Write each file of `made`; with `--check` in argv, write nothing and exit 1 if any differs or is missing
    (or any of `stale_too`, files the generator no longer makes, still exists)."""
    if "--check" in argv:
        drifted = [path for path, content in made.items() if not path.exists() or path.read_text(encoding="utf-8") != content]
        for path in [*drifted, *stale_too]:
            print(f"{path.relative_to(ROOT)} is out of date: run `{command}`", file=sys.stderr)
        return 1 if drifted or stale_too else 0
    for path, content in made.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0
