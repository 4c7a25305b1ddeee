"""`tenantry`: the operator's command. It answers "what happened to request X / tenant Y, and what was undone".

    tenantry executions [--workflow W] [--status S] [--tenant T] [--request R] [--since 2h] [--until 1h]
    tenantry execution NAME [--io]    states in order with durations, masked inputs and outputs, the error, the undo
    tenantry tenant ID                record, pool, users by role and status, recent executions (--events: and events)
    tenantry sources list|grant|revoke
    tenantry events --tenant ID --since 1d [--until ...]      from the archive
    tenantry replay --since ... --until ...                   the archive's window, to the bus again

It talks to the local runtime (`make local`, --endpoint-url) unless given --profile, --region or --stack, then to
that deployed stack as the AWS CLI would. Every command takes --json. Exit codes: 0 done; 1 what was asked for
does not exist; 2 a usage error; 3 Tenantry could not be reached or refused; 4 a replay did not complete; 5 the
command itself failed (a bug: the message says what).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

NOT_FOUND, USAGE, UNREACHABLE, REPLAY_FAILED, FAILED = 1, 2, 3, 4, 5
DURATION = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def moment(text: str) -> datetime:
    """`30m`, `2h`, `1d` ago, or an ISO 8601 time (UTC when it names no zone)."""
    match = DURATION.match(text)
    if match:
        return datetime.now(UTC) - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: use 30m, 2h, 1d or an ISO 8601 time") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def common_options(again: bool = False) -> argparse.ArgumentParser:
    """The options every command takes. `again`: for a subcommand's subcommand (`sources grant`), whose defaults
    must not undo what was given before it (`tenantry sources --stack prod grant ...` means prod)."""
    common = argparse.ArgumentParser(add_help=False)

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if again else value

    common.add_argument("--json", action="store_true", default=default(False), help="print JSON instead of a table")
    common.add_argument(
        "--endpoint-url",
        default=default(os.environ.get("TENANTRY_ENDPOINT", "http://127.0.0.1:4566")),
        help="the local runtime",
    )
    common.add_argument("--profile", default=default(None), help="an AWS profile: talk to the deployed stack")
    common.add_argument("--region", default=default(None), help="an AWS region: talk to the deployed stack")
    common.add_argument("--stack", default=default(None), help="the deployed stack's name (default tenantry)")
    return common


def parser() -> argparse.ArgumentParser:
    common = common_options()
    top = argparse.ArgumentParser(prog="tenantry", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("executions", parents=[common], help="executions, newest first, filtered")
    listing.add_argument("--workflow", help="TenantOnboarding, UserRegistration, ...")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--tenant", help="a tenant id its input or output names")
    listing.add_argument("--request", help="a request id (the execution's name ends with it, or its input names it)")
    listing.add_argument("--since", type=moment, help="started since: 30m, 2h, 1d or an ISO time")
    listing.add_argument("--until", type=moment, help="started until: 30m, 2h, 1d or an ISO time")
    listing.add_argument("--limit", type=int, default=50, help="at most this many, the newest (default 50)")

    one = commands.add_parser("execution", parents=[common], help="one execution's states, error and compensation")
    one.add_argument("name")
    one.add_argument("--workflow", help="when two workflows have an execution of that name")
    one.add_argument("--io", action="store_true", help="also each state's input and output (masked)")

    tenant = commands.add_parser("tenant", parents=[common], help="a tenant's record, pool, users and executions")
    tenant.add_argument("tenant_id")
    tenant.add_argument("--events", action="store_true", help="also its events from the archive (--since, default 7d)")
    tenant.add_argument("--since", type=moment, default="7d")

    events = commands.add_parser("events", parents=[common], help="archived events of a window, of a tenant")
    events.add_argument("--tenant", help="events whose detail names this tenant (or the requests that made it)")
    events.add_argument("--since", type=moment, required=True)
    events.add_argument("--until", type=moment, default=None, help="default: now")

    replayed = commands.add_parser("replay", parents=[common], help="send an archived window to the bus again")
    replayed.add_argument("--since", type=moment, required=True)
    replayed.add_argument("--until", type=moment, required=True)
    replayed.add_argument("--name", help="the replay's name (default replay-<random>)")

    sources = commands.add_parser("sources", parents=[common], help="the upstream sources and their grants")
    sources_commands = sources.add_subparsers(dest="sources_command", required=True)
    again = common_options(again=True)
    sources_commands.add_parser("list", parents=[again], help="every registered source")
    grant = sources_commands.add_parser("grant", parents=[again], help="register a source, or replace its grant")
    grant.add_argument("source")
    grant.add_argument("--requests", required=True, help="comma-separated request types, or 'all'")
    grant.add_argument("--tenants", required=True, help="comma-separated tenant ids, or '*'")
    grant.add_argument("--by", default="operator")
    revoke = sources_commands.add_parser("revoke", parents=[again], help="unregister a source")
    revoke.add_argument("source")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    from tenantry_ops.archive import ReplayFailed
    from tenantry_ops.stack import NotFound, Stack, StackNotFound

    try:
        if args.profile or args.region or args.stack:
            stack = Stack.deployed(args.stack or "tenantry", args.profile, args.region)
        else:
            stack = Stack.local(args.endpoint_url)
        return COMMANDS[args.command](stack, args)
    except NotFound as error:  # an execution, a tenant, a workflow or a source that does not exist
        print(f"tenantry: {error.args[0] if error.args else error}", file=sys.stderr)
        return NOT_FOUND
    except ValueError as error:  # a request Tenantry refuses (a grant out of shape, a replay window too old)
        print(f"tenantry: {error}", file=sys.stderr)
        return USAGE
    except ReplayFailed as error:
        print(f"tenantry: {error}", file=sys.stderr)
        return REPLAY_FAILED
    except (StackNotFound, ClientError, BotoCoreError) as error:  # (a stack without an output the command needs too)
        print(f"tenantry: {error}", file=sys.stderr)
        return UNREACHABLE
    except Exception as error:  # noqa: BLE001 - a script must tell a bug of this command from "not found"
        print(f"tenantry: failed unexpectedly ({type(error).__name__}: {error}); please report it", file=sys.stderr)
        return FAILED


# ------------------------------------------------------------------------------------- commands
def executions_command(stack: Any, args: argparse.Namespace) -> int:
    from tenantry_ops.executions import list_executions

    rows = list_executions(
        stack, args.workflow, args.status, args.tenant, args.request, args.since, args.limit, args.until, _progress("executions")
    )
    emit(args, rows, ("workflow", "name", "status", "started", "seconds"))
    return 0


def execution_command(stack: Any, args: argparse.Namespace) -> int:
    from tenantry_ops.executions import execution_story

    story = execution_story(stack, args.name, args.workflow)
    if args.json:
        print(json.dumps(story, indent=2, default=str))
        return 0
    print(f"{story['workflow']} {story['name']}: {story['status']} (started {story['started']}, ended {story['stopped']})")
    print(f"input: {json.dumps(story['input'])}")
    print(f"output: {json.dumps(story['output'])}")
    table(
        [
            {
                "state": s["state"] if s.get("iteration") is None else f"{s['state']} [{s['iteration']}]",
                "seconds": s["seconds"],
                "undo": "yes" if s["compensation"] else "",
                "error": (s.get("error") or {}).get("error") or "",
            }
            for s in story["states"]
        ],
        ("state", "seconds", "undo", "error"),
    )
    if args.io:
        for s in story["states"]:
            iteration = "" if s.get("iteration") is None else f" [{s['iteration']}]"
            print(f"{s['state']}{iteration}\n  in:  {json.dumps(s['input'])}\n  out: {json.dumps(s.get('output'))}")
    if story["error"]:
        print(f"failed with {story['error']['error']}: {story['error']['cause']}")
    print(f"compensation: {', '.join(story['compensation']) if story['compensation'] else 'none'}")
    return 0


def tenant_command(stack: Any, args: argparse.Namespace) -> int:
    from tenantry_ops.tenants import tenant_story

    story = tenant_story(stack, args.tenant_id)
    if args.events:
        story["events"] = _events_of(stack, args.tenant_id, story["tenant"], args.since, datetime.now(UTC))
    if args.json:
        print(json.dumps(story, indent=2, default=str))
        return 0
    record = story["tenant"]
    print(f"tenant {args.tenant_id}: {record.get('tenantName')} ({record.get('status')}, {record.get('isolation')})")
    print(f"plan: {record.get('plan') or '-'}")
    print(f"pool {story['pool']['userPoolId']}, app client {story['pool']['appClientId']}")
    print(f"users: {story['users']['total']}")
    table(story["users"]["byRoleAndStatus"], ("role", "status", "users"))
    print("recent executions:")
    table(story["executions"], ("workflow", "name", "status", "started", "seconds"))
    if args.events:
        print("events:")
        table(_event_rows(story["events"]), ("time", "detail-type", "source", "about"))
    return 0


def events_command(stack: Any, args: argparse.Namespace) -> int:
    from tenantry_ops.tenants import TenantNotFound, tenant_story

    until = args.until or datetime.now(UTC)
    record: dict[str, Any] = {}
    if args.tenant:
        try:
            record = tenant_story(stack, args.tenant, executions=0)["tenant"]
        except TenantNotFound:
            record = {}  # a tenant never made (its request refused) still has events naming its request
    found = _events_of(stack, args.tenant, record, args.since, until)
    if args.json:
        print(json.dumps(found, indent=2, default=str))
    else:
        table(_event_rows(found), ("time", "detail-type", "source", "about"))
    return 0


def _events_of(stack: Any, tenant: str | None, record: dict[str, Any], since: datetime, until: datetime) -> list[dict[str, Any]]:
    from tenantry_ops.archive import read_events
    from tenantry_ops.executions import masked

    requests = frozenset(str(record[k]) for k in ("requestId", "offboardingRequestId") if record.get(k))
    return [masked(e) for e in read_events(stack, since, until, tenant, requests, progress=_progress("events"))]


def _event_rows(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for event in found:
        detail = event.get("detail") or {}
        about = {k: detail[k] for k in ("requestId", "tenantId", "userId", "reason") if k in detail}
        rows.append(
            {
                "time": event.get("time"),
                "detail-type": event.get("detail-type"),
                "source": event.get("source"),
                "about": json.dumps(about),
            }
        )
    return rows


def replay_command(stack: Any, args: argparse.Namespace) -> int:
    from tenantry_ops.archive import replay

    done = replay(stack, args.since, args.until, args.name, progress=_progress("replay"))
    emit(args, [done], ("replay", "state", "since", "until"))
    return 0


def sources_command(stack: Any, args: argparse.Namespace) -> int:
    from tenantry.sources import REQUEST_TYPES, SourceRegistry
    from tenantry_ops.stack import NotFound

    registry = SourceRegistry(stack.output("TableName"), stack.client("dynamodb"))
    if args.sources_command == "grant":
        types = REQUEST_TYPES if args.requests == "all" else [t.strip() for t in args.requests.split(",") if t.strip()]
        given = registry.grant(args.source, types, [t.strip() for t in args.tenants.split(",") if t.strip()], args.by)
        rows: list[dict[str, Any]] = [
            {"source": given.source, "requestTypes": sorted(given.request_types), "tenants": sorted(given.tenants)}
        ]
    elif args.sources_command == "revoke":
        if not registry.revoke(args.source):
            raise NotFound(f"source {args.source} was not registered")
        rows = [{"source": args.source, "revoked": True}]
    else:
        rows = [
            {k: item.get(k) for k in ("source", "requestTypes", "tenants", "grantedBy", "grantedAt")} for item in registry.all()
        ]
    emit(args, rows, tuple(rows[0]) if rows else ("source",))
    return 0


COMMANDS: dict[str, Callable[[Any, argparse.Namespace], int]] = {
    "executions": executions_command,
    "execution": execution_command,
    "tenant": tenant_command,
    "events": events_command,
    "replay": replay_command,
    "sources": sources_command,
}


# ------------------------------------------------------------------------------------- output
def emit(args: argparse.Namespace, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        table(rows, columns)


def table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    """Rows as aligned columns (lists joined by commas); `(none)` when there are none."""
    if not rows:
        print("(none)")
        return

    def text(value: Any) -> str:
        if value is None:
            return "-"
        return ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)

    cells = [[text(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _progress(what: str) -> Callable[[str], None]:
    """Long operations (replays, filters that read every execution) report on stderr, so that --json output stays
    clean."""
    return lambda state: print(f"{what}: {state}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
