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

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "openapi.json"


def main(argv: list[str]) -> int:
    document = generated_openapi_json()
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else None
        if current != document:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(document, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
