"""Generate docs/openapi.json, the Identity API's OpenAPI document, from its routes (tenantry.api.app): the
document the API serves at `GET /openapi.json`, checked in so that a change of the API shows in review;
tests/static/test_openapi.py fails when it drifts from the routes.

    python tools/build_openapi.py          # (re)write docs/openapi.json
    python tools/build_openapi.py --check  # exit 1 if it is missing or out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from tenantry.api.app import generated_openapi_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generated_files import write_or_check  # noqa: E402 - tools/ on the path first

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "openapi.json"


def main(argv: list[str]) -> int:
    return write_or_check({OUTPUT: generated_openapi_json()}, argv, "make openapi")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
