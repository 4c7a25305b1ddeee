"""Generate the deployed state machine definitions: statemachines/src/<name>.asl.yaml -> statemachines/<name>.asl.json.

The YAML sources name each retry policy once (an anchor, reused through aliases). What deploys is plain JSON:
`sam package` uploads a DefinitionUri file as it is and CloudFormation reads it from DefinitionS3Location, and
YAML aliases are not shown to work there (aws-cloudformation/cfn-language-discussion#49 reports
SCHEMA_VALIDATION_FAILED). Loading the YAML here resolves every alias; the JSON is checked in, and
tests/static/test_definitions_generated.py fails when it drifts from its source.

    python tools/build_definitions.py          # (re)write every statemachines/<name>.asl.json
    python tools/build_definitions.py --check  # exit 1 if any is missing or out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIR = ROOT / "statemachines" / "src"
OUTPUT_DIR = ROOT / "statemachines"
SUFFIX = ".asl.yaml"


def sources() -> list[Path]:
    """Every YAML source, sorted by name."""
    return sorted(SOURCE_DIR.glob(f"*{SUFFIX}"))


def output_path(source: Path) -> Path:
    """statemachines/src/<name>.asl.yaml -> statemachines/<name>.asl.json."""
    return OUTPUT_DIR / (source.name.removesuffix(SUFFIX) + ".asl.json")


def render(source: Path) -> str:
    """The JSON text generated from one YAML source (aliases resolved, key order kept, trailing newline)."""
    definition = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(definition, dict):
        raise ValueError(f"{source}: a state machine definition must be a mapping")
    return json.dumps(definition, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def stale() -> list[Path]:
    """The generated files that are missing or differ from what their sources generate."""
    return [
        output_path(source)
        for source in sources()
        if not output_path(source).exists() or output_path(source).read_text(encoding="utf-8") != render(source)
    ]


def main(argv: list[str]) -> int:
    if not sources():
        print(f"no {SUFFIX} files in {SOURCE_DIR}", file=sys.stderr)
        return 1
    if argv == ["--check"]:
        out_of_date = stale()
        for path in out_of_date:
            print(f"{path.relative_to(ROOT)} is out of date: run `make definitions`", file=sys.stderr)
        return 1 if out_of_date else 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    for source in sources():
        target = output_path(source)
        target.write_text(render(source), encoding="utf-8")
        print(f"{source.relative_to(ROOT)} -> {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
