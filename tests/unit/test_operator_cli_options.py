"""`tenantry`'s options as a script gives them, and what it answers when it cannot reach Tenantry: no local
process of ours runs here, only what the test starts."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from tenantry_ops.cli import UNREACHABLE, main, parser

GRANT = ["grant", "crm", "--requests", "all", "--tenants", "*"]


def test_options_before_a_sources_subcommand_are_kept_and_so_are_those_after_it():
    before = parser().parse_args(["sources", "--json", "--stack", "prod", "--profile", "ops", *GRANT])
    assert (before.json, before.stack, before.profile) == (True, "prod", "ops")  # not the local runtime
    after = parser().parse_args(["sources", *GRANT, "--region", "eu-west-1"])
    assert (after.json, after.stack, after.region) == (False, None, "eu-west-1")
    both = parser().parse_args(["sources", "--stack", "prod", "list", "--json"])
    assert (both.json, both.stack) == (True, "prod")


def test_executions_take_a_window_on_both_sides():
    args = parser().parse_args(["executions", "--since", "2h", "--until", "1h"])
    assert args.since < args.until


class _NotTenantry(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>another service</html>")

    def log_message(self, *args: object) -> None:
        pass


def test_an_endpoint_that_is_not_tenantry_is_unreachable_not_a_usage_error(capsys):
    server = HTTPServer(("127.0.0.1", 0), _NotTenantry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert main(["executions", "--endpoint-url", f"http://127.0.0.1:{server.server_port}"]) == UNREACHABLE
    finally:
        server.shutdown()
    assert "is not Tenantry's local runtime" in capsys.readouterr().err
