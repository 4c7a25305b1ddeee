"""End to end: the README's Identity API curl session, run as written with bash against `make local`, prints
what the README says it prints (its `#>` lines, `…` standing for ids and secrets)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from helpers import ROOT, free_port
from tenantry_local.subprocess_runtime import make_local

AWS_CLI = os.environ.get("AWS_CLI") or str(ROOT / ".venv-tools" / "bin" / "aws")
MARK = "<!-- session:identity-api -->"


def readme_session(readme: str) -> str:
    """The ```sh block that follows the session's marker."""
    after = readme.split(MARK, 1)[1]
    match = re.match(r"\s*```sh\n(.*?)\n```", after, re.DOTALL)
    assert match, f"no ```sh block right after {MARK}"
    return match.group(1)


def expected_lines(session: str) -> list[re.Pattern[str]]:
    """The session's `#> ` lines as patterns, `…` matching any non-empty text."""
    printed = [line[3:] for line in session.splitlines() if line.startswith("#> ")]
    return [re.compile(".+".join(map(re.escape, line.split("…")))) for line in printed]


def unmatched(patterns: list[re.Pattern[str]], output: list[str]) -> list[str]:
    """The patterns that no output line matches in order (each pattern after the previous one's line)."""
    lines = iter(output)
    return [p.pattern for p in patterns if not any(p.fullmatch(line) for line in lines)]


def fresh_machine_env(tmp_path: Path, port: int) -> dict[str, str]:
    """The caller's environment without any AWS setting or config file; on PATH the project's virtualenv first,
    as `. .venv/bin/activate` puts it (the operator's `python -m tenantry.sources`; it has no `aws`), then the AWS CLI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PORT=str(port),
        PATH=os.pathsep.join([str(ROOT / ".venv" / "bin"), str(Path(AWS_CLI).parent), env.get("PATH", "")]),
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    return env


def test_the_matching_itself_fails_on_a_missing_wrong_or_reordered_line():
    # Given the expected lines of a small session
    patterns = expected_lines('echo a\n#> {"id":"…"} 202\necho b\n#> SUCCEEDED\n')
    # Then its own output passes, and output that lacks a line, differs, or comes out of order does not
    assert unmatched(patterns, ['{"id":"api-1"} 202', "SUCCEEDED"]) == []
    assert unmatched(patterns, ['{"id":"api-1"} 202']) == ["SUCCEEDED"]
    assert unmatched(patterns, ['{"id":""} 202', "SUCCEEDED"]) == [patterns[0].pattern, "SUCCEEDED"]
    assert unmatched(patterns, ["SUCCEEDED", '{"id":"api-1"} 202']) == ["SUCCEEDED"]


@pytest.mark.e2e
def test_the_readme_curl_session_works_as_written(tmp_path):
    # Given the README's session, and `make local` on a free port
    session = readme_session((ROOT / "README.md").read_text())
    patterns = expected_lines(session)
    assert len(patterns) >= 10, "the session shows what it prints"
    assert Path(AWS_CLI).exists(), f"AWS CLI not found at {AWS_CLI} (make test installs it into .venv-tools)"
    port = free_port()
    with make_local(port):
        # When a person runs it in bash on a machine with no AWS configuration
        result = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + session],
            cwd=tmp_path,
            env=fresh_machine_env(tmp_path, port),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    # Then it runs to the end and prints, in order, what the README says
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    output = result.stdout.splitlines()
    assert unmatched(patterns, output) == [], result.stdout
    # Key outputs, spelled out: the API on this port, the admin's profile, the 202, the key refused once revoked,
    # the end user's day through to her earlier token refused after she signed out
    assert output[0].startswith(f"http://127.0.0.1:{port}/_apis/")
    assert '{"email":"hank@globex.example","role":"Admin","status":"ACTIVE"}' in output
    assert any(line.startswith('{"requestId":"api-') and line.endswith(" 202") for line in output)
    assert any(line.startswith('{"error":{"code":"KEY_REVOKED"') and line.endswith(" 401") for line in output)
    assert '{"mfa":"SOFTWARE_TOKEN_MFA"}' in output and '{"challenge":"SOFTWARE_TOKEN_MFA"}' in output
    assert output[-1] == '"TOKEN_REVOKED"'
