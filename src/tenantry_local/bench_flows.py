"""`make bench`'s figures for whole flows on the local runtime: AWS calls, state transitions and function
invocations of each flow next to the written minimum, its wall time against the same calls made directly
(bench_direct), their cost at list prices (Step Functions Standard and Express compared per workflow),
concurrent onboardings and registrations (completed, failed, lost, doubled, throughput), and the local runtime's
own cost (CPU seconds per flow across its processes; 20 onboardings at once against one alone). Each function
prints its figures; `tenantry_local.bench` runs each in a process of its own and writes them to BENCHMARKS.md.
With BENCH_SMOKE=1 every size is the smallest that still runs it."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tenantry_local.client import TenantryClient, free_port

PROJECT = Path(__file__).resolve().parents[2]
SMOKE = os.environ.get("BENCH_SMOKE") == "1"

# List prices (us-east-1, as published when written; Cognito is priced per monthly active user and left out).
PRICES = {
    "sfn_standard_per_transition": 0.000025,
    "sfn_express_per_request": 0.000001,
    "sfn_express_gb_second": 0.00001667,  # billed on 64 MB, per 100 ms
    "lambda_per_request": 0.0000002,
    "lambda_gb_second_arm64": 0.0000133334,
    "ddb_write_unit": 0.00000125,
    "ddb_read_unit": 0.00000025,
    "events_custom_event": 0.000001,
}
# Calls made by the bench or the runtime itself, not by the flow (polling, the stream poller's reads, the Lambda
# API's Invoke, which is counted as invocations instead).
NOT_THE_FLOWS = {
    "stepfunctions:DescribeExecution",
    "stepfunctions:GetExecutionHistory",
    "stepfunctions:ListExecutions",
    "dynamodbstreams:DescribeStream",
    "dynamodbstreams:GetShardIterator",
    "dynamodbstreams:GetRecords",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "lambda:Invoke",
    "dynamodb:Scan",
    # the bench's own watcher of outbound events (a rule and its queue)
    "events:PutRule",
    "events:PutTargets",
    "sqs:CreateQueue",
    "sqs:GetQueueAttributes",
    "sqs:SetQueueAttributes",
}
# The fewest AWS calls each flow can make (state machine tasks and functions together), written from what it
# must do, not from what it does. Every request: the source's grant (one GetItem, then cached for a minute) and
# StartExecution. Onboarding, shared: reserve (one transaction), the admin (AdminCreateUser, AdminAddUserToGroup),
# activate (one transaction), the outcome event from the stream (one PutEvents); dedicated adds its pool
# (CreateUserPool, SetUserPoolMfaConfig, CreateUserPoolClient, one CreateGroup per role: 4) and finds the grant
# cached.
MINIMUM_CALLS: dict[str, int] = {
    "onboarding, shared": 7,
    "onboarding, dedicated": 14,
    "onboarding, refused (invalid)": 2,  # StartExecution, the *Failed event (the grant cached)
    # StartExecution; the tenant and the request (2 GetItem); one transaction of the claims and the request;
    # AdminCreateUser, AdminAddUserToGroup; the profile; the code's item and its event; activation: the code's item,
    # SendTaskSuccess, the user's attribute, the profile; the stream's events (registered, activated: one PutEvents)
    "registration and activation": 15,
    # StartExecution (the detection's starter); the profile, the tenant, AdminGetUser (twice: before and under the
    # lock); the lock; the detection's claim; AdminUserGlobalSignOut; the revocation time; the authenticator back
    # on; the two events (one PutEvents); the lock released
    "MFA detection, a violation": 14,
    # StartExecution (the detection's starter); the profile, the tenant, AdminGetUser
    "MFA detection, compliant": 4,
    # StartExecution; prepare (the profile, the tenant, AdminGetUser); switching TOTP on (refused: none set up);
    # the attribute; the profile; MfaRequirementChanged from the stream; its own check (StartExecution, the
    # profile, the tenant, AdminGetUser)
    "MFA requirement change": 12,
    # StartExecution; the tenant; marked OFFBOARDING; its users (ListUsers, the index); per user AdminDisableUser,
    # AdminUserGlobalSignOut and AdminDeleteUser; marked OFFBOARDED (one transaction); TenantOffboarded
    "offboarding, shared (2 users)": 13,
}
# The fewest state transitions each flow can take (Standard bills each), written from what it must do: one task per
# call that must be its own (those above), one Choice where a result decides the way (one Choice can decide on
# several results at once), a Map where the work is per item (with its iterations' states), and the end. A Pass
# state is never needed: a task's ResultSelector or the context object ($$.State.EnteredTime) does its work.
MINIMUM_TRANSITIONS: dict[str, int] = {
    # validate; valid?; reserve; the first copy, and which pool (one Choice); the admin, its group; activate; the end
    "onboarding, shared": 8,
    # shared's, and CreateUserPool, the TOTP setting, CreateAppClient, one CreateGroup per role (4 tasks, no Map)
    "onboarding, dedicated": 15,
    # validate; valid?; the *Failed event; the end
    "onboarding, refused (invalid)": 4,
    # validate; valid?; prepare; allowed?; the user, its group, the profile; the code (waiting for it); the email
    # verified; the profile active; the end
    "registration and activation": 11,
    # validate; valid?; prepare; allowed, and which way (one Choice); TOTP on (refused: none set up); the attribute;
    # the record; the end. Its check: CheckMfa, its Choice, the end
    "MFA requirement change": 11,
    # validate; valid?; the tenant; its status?; OFFBOARDING; its users; the pending registrations (a Map, none here);
    # which isolation?; one Map over the users: disable, sign out, delete each (2 x 3); OFFBOARDED; the end
    "offboarding, shared (2 users)": 17,
    # CheckMfa; what to do?; lock; recheck; still violating?; claim; sign out; the revocation's record; TOTP back on;
    # the event; unlock; the end
    "MFA detection, a violation": 12,
    # CheckMfa; what to do?; the end
    "MFA detection, compliant": 3,
}


def _cpu_seconds() -> float:
    """CPU time of this process and of its children, live (from /proc) and ended."""
    own = os.times()
    total = own.user + own.system + own.children_user + own.children_system
    ticks = os.sysconf("SC_CLK_TCK")
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:  # ppid
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


class _Flows:
    def __init__(self, direct: bool = False) -> None:
        from tenantry_local.runtime import LocalRuntime

        self.rt = LocalRuntime(PROJECT, port=free_port(), run_schedules=False).start()
        self.client = TenantryClient.for_runtime(self.rt, source="bench.flows")
        self.client.register_source()
        self.run = self.client.request_id("b")
        self._invoked: Counter[str] = Counter()
        self._cpu = self._began = 0.0
        self.direct = direct  # each measured flow's calls sent again directly (bench_direct)
        self._known: set[str] = set()  # identifiers the runtime held when the flow began
        self._sinks: dict[str, str] | None = None  # where replayed calls start nothing (bench_direct)
        # a flow that ends what existed before it (offboarding) names a twin for its replay to end instead
        self.replay_onto: dict[str, str] = {}
        # a flow's label and minimums (calls, transitions), where it knows them only once run (the sweep)
        self.named: tuple[str, int, int] | None = None

    def close(self) -> None:
        self.rt.stop()

    def onboarding(self, label: str, isolation: str = "shared", **change: Any) -> dict[str, Any]:
        detail = _onboarding_request(self, label, isolation) | change
        self.client.post("TenantOnboardingRequested", detail)
        return self.client.wait_execution("TenantOnboardingStateMachineArn", f"onboard-{detail['requestId']}")

    def measure_from_here(self) -> None:
        """What a flow counts starts now (a flow calls it again after a set-up of its own that is not the flow)."""
        from tenantry_local.bench_direct import known_identifiers

        self.rt.wait_settled()
        if self.direct:
            self._known = known_identifiers(self.rt, self.run)  # (what the flow's replay must not renew)
        self.rt.calls.clear()
        self.rt.calls.captured = [] if self.direct else None
        self._invoked = Counter(self.rt.lambdas.invocations)
        self._cpu, self._began = _cpu_seconds(), time.perf_counter()

    def measured(self, flow: Callable[[], list[str]], posted: int = 1) -> dict[str, Any]:
        """One flow alone: its AWS calls, function invocations, state transitions (of the executions it names),
        wall time and CPU seconds across the runtime's processes; on a bench made `direct`, its calls sent again."""
        self.measure_from_here()
        arns = flow()
        self.rt.wait_settled()
        wall, cpu = time.perf_counter() - self._began, _cpu_seconds() - self._cpu
        captured, self.rt.calls.captured = self.rt.calls.captured, None
        calls = {k: v for k, v in self.rt.calls.counts.items() if k not in NOT_THE_FLOWS and v}
        calls["events:PutEvents"] = calls.get("events:PutEvents", 0) - posted  # the bench's own requests
        calls = {k: v for k, v in calls.items() if v > 0}
        invoked = Counter(self.rt.lambdas.invocations)
        invoked.subtract(self._invoked)
        # per execution, by "<state machine>:<execution name>" (a sweep starts several runs of one machine)
        transitions = {":".join(arn.split(":")[-2:]): len(self.client.states(arn)) for arn in arns}
        transacted = dict(self.rt.calls.transacted)  # items named by its transactions (each priced twice)
        return {
            "calls": calls,
            "invocations": {k: v for k, v in invoked.items() if v > 0},
            "transitions": transitions,
            "wall": wall,
            "cpu": cpu,
            "transacted": transacted,
            "direct": self._made_directly([c for c in captured if self._the_flows(c)]) if self.direct else None,
        }

    def _the_flows(self, captured: Any) -> bool:
        """A call of the flow's own, not the bench's (its waits, its own requests posted)."""
        call = captured.call
        if call.name in NOT_THE_FLOWS:
            return False
        if call.name == "events:PutEvents":
            return any(entry.get("Source") != self.client.source for entry in json.loads(call.body)["Entries"])
        return True

    def _made_directly(self, captured: list[Any]) -> Any:
        """The flow's calls sent again, directly (tenantry_local.bench_direct); CloudTrail's emulation is off
        meanwhile, so that the replay's Cognito calls start no detection."""
        from tenantry_local.bench_direct import make_sinks, replay

        self._sinks = self._sinks or make_sinks(self.rt)
        self.rt.cloudtrail.enabled = False
        try:
            return replay(self.rt, captured, self._known, self.run, self._sinks, self.replay_onto)
        finally:
            self.replay_onto = {}
            self.rt.cloudtrail.enabled = True
            self.rt.wait_settled()  # (what the replay's writes stream out, before the next flow)


def _cost_per_thousand(measured: dict[str, Any], memory_mb: int = 256, seconds_per_invocation: float = 0.05) -> dict[str, float]:
    """An estimate per 1,000 flows at PRICES, from the counts measured: Step Functions Standard and Express, and the
    rest (Lambda, DynamoDB, EventBridge). Two figures are assumed, not measured, and printed with the table: each
    Express execution billed at its minimum (100 ms at 64 MB), and each Lambda invocation `seconds_per_invocation`
    at the template's memory (the local runtime does not run on Lambda's CPU)."""
    transitions = sum(measured["transitions"].values())
    executions = len(measured["transitions"])
    invocations = sum(measured["invocations"].values())
    calls = measured["calls"]
    # a transaction's item costs two units, any other write one (one unit per item of up to 1 KB)
    writes = sum(v for k, v in calls.items() if k.split(":")[-1] in {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})
    writes += 2 * measured["transacted"].get("dynamodb:TransactWriteItems", 0)
    reads = sum(v for k, v in calls.items() if k.split(":")[-1] in {"GetItem", "Query", "BatchGetItem"})
    events = calls.get("events:PutEvents", 0)
    rest = (
        invocations
        * (PRICES["lambda_per_request"] + memory_mb / 1024 * seconds_per_invocation * PRICES["lambda_gb_second_arm64"])
        + writes * PRICES["ddb_write_unit"]
        + reads * PRICES["ddb_read_unit"]
        + events * PRICES["events_custom_event"]
    )
    standard = transitions * PRICES["sfn_standard_per_transition"]
    express = executions * (PRICES["sfn_express_per_request"] + 0.0625 * 0.1 * PRICES["sfn_express_gb_second"])
    return {"standard": 1000 * (standard + rest), "express": 1000 * (express + rest), "other": 1000 * rest}


def flow_figures() -> None:
    """Each flow alone on a fresh runtime: calls, invocations, transitions next to the minimum; cost per 1,000."""
    bench = _Flows(direct=True)
    try:
        flows: dict[str, Callable[[], list[str]]] = {
            "onboarding, shared": lambda: [bench.onboarding("shared")["executionArn"]],
            "onboarding, dedicated": lambda: [bench.onboarding("dedicated", "dedicated")["executionArn"]],
            "onboarding, refused (invalid)": lambda: [
                bench.onboarding("invalid", admin={"email": "nope", "name": "X"})["executionArn"]
            ],
        }
        tenant: dict[str, Any] = {}

        def registration() -> list[str]:
            tenant.update(bench.client.onboard(_onboarding_request(bench, "for-users")))
            bench.measure_from_here()  # (the tenant's own onboarding is not this flow's)
            request_id = f"{bench.run}-member"
            bench.client.register_and_activate(
                {
                    "requestId": request_id,
                    "tenantId": tenant["tenantId"],
                    "email": f"m.{bench.run}@bench.example",
                    "name": "Bench Member",
                    "role": "Member",
                }  # fmt: skip
            )
            return [bench.client.execution_arn("UserRegistrationStateMachineArn", f"register-{request_id}")]

        flows["registration and activation"] = registration
        flows["MFA requirement change"] = lambda: _mfa_change(bench, tenant)
        flows["offboarding, shared (2 users)"] = lambda: _offboarding(bench)
        flows["MFA detection, a violation"] = lambda: [_violation_caught(bench, tenant)]

        def compliant() -> list[str]:
            # the first check after a violation also records the member's state again: the second is the usual one
            _compliance_run(bench, tenant["mfaMember"], f"mfa-bench-{bench.run}-after")
            bench.measure_from_here()
            return [_compliance_run(bench, tenant["mfaMember"], f"mfa-bench-{bench.run}-again")]

        flows["MFA detection, compliant"] = compliant
        flows[SWEEP] = lambda: _sweep(bench)
        if not SMOKE:  # a first pass, not measured, starts every function's worker: the figures are of warm flows
            for flow in flows.values():
                flow()
            bench.rt.wait_settled()
            bench.named = None
        passes = 1 if SMOKE else 3
        print(
            "each flow measured "
            + (
                "once, on a fresh runtime, its functions started cold"
                if SMOKE
                else f"{passes} times after a first run that started its functions; each row is the run of median wall time"
            )
        )
        print(
            "wall: the flow from its request to its last outcome; direct: the same calls sent again against the same "
            "runtime, one after another from one client, without the workflow, functions and events between them (its "
            "new tenants, users and requests renewed; StartExecution sent to a one-state machine and PutEvents to a bus "
            "without rules, so that they start nothing); refused: those of them the runtime refused, by error"
        )
        columns = f"{'flow':<32} {'calls':>5} {'minimum':>7} {'invocations':>11} {'transitions':>11} {'minimum':>7}"
        print(f"{columns} {'wall s':>7} {'direct s':>8} {'ratio':>6} {'CPU s':>6}  calls; refused")
        # the bench's own requests posted (a compliance run or a sweep is started directly, as its starter would)
        posted = {"registration and activation": 2, "MFA detection, a violation": 0, "MFA detection, compliant": 0, SWEEP: 0}
        runs: dict[str, list[tuple[str, int, int, dict[str, Any]]]] = {name: [] for name in flows}
        for _ in range(passes):
            bench.run = bench.client.request_id("b")  # (each pass's requests, tenants and users its own)
            for name, flow in flows.items():
                measured = bench.measured(flow, posted.get(name, 1))
                named = bench.named or (name, MINIMUM_CALLS[name], MINIMUM_TRANSITIONS[name])  # (the sweep names itself)
                bench.named = None
                if measured["direct"].sent != sum(measured["calls"].values()):  # (the replay must be of the calls counted)
                    raise AssertionError(
                        f"{name}: {measured['direct'].sent} calls sent again, {sum(measured['calls'].values())} counted"
                    )
                runs[name].append((*named, measured))
        results = {}
        for name in flows:
            label, calls, transitions, measured = sorted(runs[name], key=lambda run: run[3]["wall"])[len(runs[name]) // 2]
            results[label], direct = measured, measured["direct"]
            print(
                f"{label:<32} {sum(measured['calls'].values()):>5} {calls:>7} "
                f"{sum(measured['invocations'].values()):>11} {sum(measured['transitions'].values()):>11} {transitions:>7} "
                f"{measured['wall']:>7.2f} {direct.seconds:>8.3f} {measured['wall'] / max(direct.seconds, 1e-6):>6.1f} "
                f"{measured['cpu']:>6.2f}  {json.dumps(dict(sorted(measured['calls'].items())))}; "
                f"{json.dumps(dict(sorted(direct.refused.items()))) if direct.refused else 'none'}"
            )
        print(
            "\nCost per 1,000 flows, estimated at list prices (USD) from the counts above: each Lambda invocation taken as "
            "50 ms at 256 MB and each Express execution at its 100 ms minimum (assumed, not measured); Cognito, priced "
            "per monthly active user, left out. (UserRegistration waits days for its code: it could not run as Express.)"
        )
        print(f"{'flow':<32} {'Standard':>9} {'Express':>9} {'of which Lambda, DynamoDB, EventBridge':>40}")
        for label, measured in results.items():
            cost = _cost_per_thousand(measured)
            print(f"{label:<32} {cost['standard']:>9.4f} {cost['express']:>9.4f} {cost['other']:>40.4f}")
    finally:
        bench.close()


def _mfa_change(bench: _Flows, tenant: dict[str, Any]) -> list[str]:
    """An admin's request that a member (no authenticator yet) use MFA: the change, and the check it starts."""
    from datetime import UTC, datetime

    member = bench.client.register_and_activate(
        {
            "requestId": f"{bench.run}-change",
            "tenantId": tenant["tenantId"],
            "email": f"change.{bench.run}@bench.example",
            "name": "Bench Change",
            "role": "Member",
        }  # fmt: skip
    )
    bench.measure_from_here()
    started = datetime.now(UTC)
    request_id = f"{bench.run}-mfa-change"
    change = {"requestId": request_id, "tenantId": tenant["tenantId"], "userId": member["userId"], "required": True}
    bench.client.post("MfaRequirementChangeRequested", change)
    arns = [bench.client.wait_execution("MfaRequirementChangeStateMachineArn", f"mfa-change-{request_id}")["executionArn"]]
    bench.rt.wait_settled()
    bench.client.wait_idle("MfaComplianceStateMachineArn")
    checks = bench.client.sfn.list_executions(stateMachineArn=bench.rt.outputs["MfaComplianceStateMachineArn"])["executions"]
    return arns + [e["executionArn"] for e in checks if e["startDate"] >= started]


def _offboarding(bench: _Flows) -> list[str]:
    """A shared tenant with its admin and one member, offboarded. Its twin, set up alike, is what the replay of the
    offboarding's calls ends (the tenant and users the flow ended are gone by then)."""

    def tenant_with_a_member(label: str) -> dict[str, Any]:
        tenant = bench.client.onboard(_onboarding_request(bench, label))
        bench.client.register_and_activate(
            {
                "requestId": f"{bench.run}-{label}-member",
                "tenantId": tenant["tenantId"],
                "email": f"member.{label}.{bench.run}@bench.example",
                "name": f"Bench {label.title()}",
                "role": "Member",
            }  # fmt: skip
        )
        return tenant

    leaving, twin = tenant_with_a_member("leaving"), tenant_with_a_member("twin")
    bench.replay_onto = {leaving["tenantId"]: twin["tenantId"]}
    twins = {p["role"]["S"]: p for p in _profiles_of(bench, twin["tenantId"])}
    for profile in _profiles_of(bench, leaving["tenantId"]):
        for name in ("userId", "email"):
            bench.replay_onto[profile[name]["S"]] = twins[profile["role"]["S"]][name]["S"]
    bench.measure_from_here()
    request_id = f"{bench.run}-off"
    bench.client.post("TenantOffboardingRequested", {"requestId": request_id, "tenantId": leaving["tenantId"]})
    return [bench.client.wait_execution("TenantOffboardingStateMachineArn", f"offboard-{request_id}")["executionArn"]]


def _violation_caught(bench: _Flows, tenant: dict[str, Any]) -> str:
    """A member whose admin requires MFA switches their authenticator off; the detection's compliance run (started
    as a detection's starter starts it) revokes their sessions and switches it back on. Set up with the runtime's
    internal client, so that nothing of the set-up is counted or detected."""
    from tenantry_local.client import totp_code

    member = bench.client.register_and_activate(
        {
            "requestId": f"{bench.run}-mfa",
            "tenantId": tenant["tenantId"],
            "email": f"mfa.{bench.run}@bench.example",
            "name": "Bench Mfa",
            "role": "Member",
        }  # fmt: skip
    )
    cognito = bench.rt.client("cognito-idp", internal=True)
    who = {"UserPoolId": tenant["userPoolId"], "Username": member["username"]}
    cognito.admin_set_user_password(**who, Password="Correct-Horse-9", Permanent=True)
    access = cognito.admin_initiate_auth(
        **{k: v for k, v in who.items() if k == "UserPoolId"},
        ClientId=tenant["appClientId"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": member["username"], "PASSWORD": "Correct-Horse-9"},
    )["AuthenticationResult"]["AccessToken"]
    bench.rt.cloudtrail.enabled = False  # (the authenticator's unsigned calls would be detected first)
    try:
        secret = cognito.associate_software_token(AccessToken=access)["SecretCode"]
        cognito.verify_software_token(AccessToken=access, UserCode=totp_code(secret))
        cognito.admin_update_user_attributes(**who, UserAttributes=[{"Name": "custom:mfa_required", "Value": "true"}])
        cognito.admin_set_user_mfa_preference(**who, SoftwareTokenMfaSettings={"Enabled": False})
        bench.measure_from_here()  # (the member's registration and set-up are not this flow's)
        tenant["mfaMember"] = member["userId"]
        return _compliance_run(bench, member["userId"], f"mfa-bench-{bench.run}")
    finally:
        bench.rt.cloudtrail.enabled = True


def _compliance_run(bench: _Flows, user_id: str, name: str) -> str:
    """A compliance run of the user's, started as a detection's starter starts it."""
    bench.client.sfn.start_execution(
        stateMachineArn=bench.rt.outputs["MfaComplianceStateMachineArn"],
        name=name,
        input=json.dumps({"userId": user_id, "detectedBy": "sweep", "detectionId": name, "cause": "bench"}),
    )
    return str(bench.client.wait_execution("MfaComplianceStateMachineArn", name)["executionArn"])


SWEEP = "MFA sweep"


def _sweep(bench: _Flows) -> list[str]:
    """The scheduled sweep, started as its schedule's function starts it, over every user who signed in lately (here
    the members of the MFA detections, compliant by now): the sweep, and the compliance run it starts for each."""
    from datetime import UTC, datetime

    started = datetime.now(UTC)
    name = f"mfa-sweep-bench-{bench.run}"
    bench.client.sfn.start_execution(stateMachineArn=bench.rt.outputs["MfaSweepStateMachineArn"], name=name, input="{}")
    swept = bench.client.wait_execution("MfaSweepStateMachineArn", name)
    bench.rt.wait_settled()
    bench.client.wait_idle("MfaComplianceStateMachineArn")
    compliance = bench.client.sfn.list_executions(stateMachineArn=bench.rt.outputs["MfaComplianceStateMachineArn"])
    checks = [e["executionArn"] for e in compliance["executions"] if e["startDate"] >= started]
    users = int(json.loads(swept["output"])["users"]["count"])
    days = int(
        bench.rt.lambdas.spec(bench.rt.provisioned.attributes["ListRecentlyActiveUsersFunction"]["Ref"]).environment[
            "MFA_SWEEP_ACTIVE_DAYS"
        ]
    )
    # calls: StartExecution; one Query per day of the window; per user a compliant check (MINIMUM_CALLS above).
    # transitions: the list, the Map, per user its check's start, the end; and each check's own
    bench.named = (
        f"{SWEEP} ({users} active user{'' if users == 1 else 's'})",
        1 + days + users * MINIMUM_CALLS["MFA detection, compliant"],
        3 + users * (1 + MINIMUM_TRANSITIONS["MFA detection, compliant"]),
    )
    return [str(swept["executionArn"]), *checks]


def _onboarding_request(bench: _Flows, label: str, isolation: str = "shared") -> dict[str, Any]:
    return {
        "requestId": f"{bench.run}-{label}",
        "tenantName": f"Bench {label}",
        "isolation": isolation,
        "admin": {"email": f"{label}.{bench.run}@bench.example", "name": "Bench Admin"},
    }


def concurrency_figures(onboardings: int = 5 if SMOKE else 100, registrations: int = 10 if SMOKE else 500) -> None:
    """Requests posted all at once: how many completed, were lost (no ending in time) or doubled (two
    tenants for a request, two profiles for an email), and the throughput."""
    bench = _Flows()
    try:
        ids = [f"{bench.run}-c{i}" for i in range(onboardings)]
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(
                pool.map(
                    lambda rid: bench.client.post("TenantOnboardingRequested", _onboarding_request(bench, rid.split("-")[-1])),
                    ids,
                )
            )
        ended = bench.client.wait_executions("TenantOnboardingStateMachineArn", [f"onboard-{i}" for i in ids], timeout=600)
        wall = time.perf_counter() - began
        tenants = bench.client.tenants(ids)
        per_request = Counter(t["requestId"] for t in tenants)
        succeeded = sum(1 for e in ended.values() if e["status"] == "SUCCEEDED")
        print(
            f"{onboardings} onboardings posted at once: {succeeded} completed, {len(ended) - succeeded} failed, "
            f"{onboardings - len(ended)} lost, "
            f"{sum(1 for c in per_request.values() if c > 1)} doubled; {wall:.1f} s, {onboardings / wall:.2f} per second"
        )
        tenant = bench.client.onboard(_onboarding_request(bench, "regs"))
        bench.rt.wait_settled()
        rids = [f"{bench.run}-r{i}" for i in range(registrations)]
        began = time.perf_counter()

        def register(rid: str) -> None:
            detail = {
                "requestId": rid,
                "tenantId": tenant["tenantId"],
                "email": f"{rid}@bench.example",
                "name": f"Member {rid}",
                "role": "Member",
            }
            bench.client.post("UserRegistrationRequested", detail)

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(register, rids))
        waiting = bench.client.wait_executions(
            "UserRegistrationStateMachineArn",
            [f"register-{r}" for r in rids],
            waiting_in="IssueActivationCodeAndWait",
            timeout=900,
        )
        wall = time.perf_counter() - began
        parked = sum(1 for e in waiting.values() if e.get("state") == "IssueActivationCodeAndWait")
        emails = Counter(p["email"]["S"] for p in _profiles_of(bench, tenant["tenantId"]) if p["role"]["S"] == "Member")
        doubled = sum(1 for c in emails.values() if c > 1)
        print(
            f"{registrations} registrations posted at once: {parked} reached their activation code, "
            f"{len(waiting) - parked} failed, {registrations - len(waiting)} lost, {doubled} doubled; "
            f"{wall:.1f} s, {registrations / wall:.2f} per second"
        )
    finally:
        bench.close()


# A first invocation as a whole process: the handler imported, its clients made, one event handled against the
# local runtime; against `import boto3`, the same clients, and one call of the function's first kind.
_FIRST_INVOCATION = """
import json, sys, time, types
began = time.perf_counter()
import app
context = types.SimpleNamespace(function_name="bench", memory_limit_in_mb=256, aws_request_id="bench",
                                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench")
app.handler(json.loads(sys.argv[1]), context)
print(time.perf_counter() - began)
"""
_BASELINE = """
import json, sys, time
began = time.perf_counter()
import boto3
clients = [boto3.client(service) for service in json.loads(sys.argv[1])]
clients[0].get_item(TableName=sys.argv[2], Key={"PK": {"S": "BENCH"}, "SK": {"S": "BENCH"}})
print(time.perf_counter() - began)
"""


def first_invocation_figures(runs: int = 1 if SMOKE else 5) -> None:
    """Functions on the request and sign-in paths: the first invocation (import, clients, one event against the
    local runtime), as a whole process, against `import boto3` with the same clients and one GetItem."""
    import subprocess
    import sys

    from tenantry_local.lambdas import worker_base_env

    bench = _Flows()
    try:
        tenant = bench.client.onboard(_onboarding_request(bench, "first"))
        admin = next(p for p in _profiles_of(bench, tenant["tenantId"]) if p["role"]["S"] == "Admin")
        sign_up = json.loads((PROJECT / "schemas" / "cognito" / "PreSignUp_AdminCreateUser.json").read_text())
        sign_up["userPoolId"] = tenant["userPoolId"]
        sign_up["request"]["userAttributes"]["custom:tenant_id"] = tenant["tenantId"]
        request = _onboarding_request(bench, "first-again")
        posted = {"version": "0", "id": "bench", "source": "bench.flows", "detail-type": "TenantOnboardingRequested"}
        cases = [  # (function, event, the clients it makes)
            ("PreSignUpFunction", sign_up, ["dynamodb"]),
            ("StartWorkflowFunction", {**posted, "detail": request}, ["dynamodb", "stepfunctions", "events"]),
            ("CheckMfaComplianceFunction", {"userId": admin["userId"]["S"]}, ["dynamodb", "cognito-idp"]),
        ]
        table = bench.rt.outputs["TableName"]

        def seconds(code: str, cwd: Path, env: dict[str, str], *args: str) -> float:
            answers = [
                float(
                    subprocess.run(
                        [sys.executable, "-c", code, *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
                    )
                    .stdout.strip()
                    .splitlines()[-1]
                )  # fmt: skip
                for _ in range(runs)
            ]
            return sorted(answers)[len(answers) // 2]

        print(f"each in a fresh process: from its first line to the end of the invocation (median of {runs})")
        for logical_id, event, services in cases:
            spec = bench.rt.lambdas.spec(bench.rt.provisioned.attributes[logical_id]["Ref"])  # (its deployed name)
            env = {**os.environ, **worker_base_env(bench.rt.endpoint), **spec.environment}
            first = seconds(_FIRST_INVOCATION, spec.code_dir, env, json.dumps(event))
            baseline = seconds(_BASELINE, spec.code_dir, env, json.dumps(services), table)
            print(
                f"  {logical_id:<30} {first * 1000:6.0f} ms; import boto3 + {', '.join(services)} + one GetItem "
                f"{baseline * 1000:6.0f} ms; ratio {first / baseline:.2f}"
            )
    finally:
        bench.close()


def _profiles_of(bench: _Flows, tenant_id: str) -> list[dict[str, Any]]:
    """Every profile of the tenant, read whole (a bench may scan: it wants to see a doubled one)."""
    pages = bench.client.ddb.get_paginator("scan").paginate(
        TableName=bench.rt.outputs["TableName"],
        FilterExpression="entity = :user AND tenantId = :tenant",
        ExpressionAttributeValues={":user": {"S": "User"}, ":tenant": {"S": tenant_id}},
    )
    return [item for page in pages for item in page["Items"]]


def runtime_cost_figures(at_once: int = 3 if SMOKE else 20) -> None:
    """The local runtime's own cost: wall and CPU seconds (its process and its function workers) of one
    onboarding alone, then of `at_once` posted together, as a ratio."""
    bench = _Flows()
    try:
        bench.onboarding("warm-up")  # workers started: what follows measures warm flows

        def one_alone(label: str) -> Callable[[], list[str]]:
            return lambda: [bench.onboarding(label)["executionArn"]]

        alone = [bench.measured(one_alone(f"alone{i}")) for i in range(3)]
        one = sorted(alone, key=lambda measured: measured["wall"])[1]  # (the median of three)

        def together() -> list[str]:
            ids = [f"{bench.run}-t{i}" for i in range(at_once)]
            with ThreadPoolExecutor(max_workers=at_once) as pool:
                list(
                    pool.map(
                        lambda rid: bench.client.post(
                            "TenantOnboardingRequested", _onboarding_request(bench, rid.split("-")[-1])
                        ),
                        ids,
                    )
                )
            ended = bench.client.wait_executions("TenantOnboardingStateMachineArn", [f"onboard-{i}" for i in ids], timeout=600)
            return [e["executionArn"] for e in ended.values()]

        many = bench.measured(together)
        print(f"one onboarding alone (median of 3): {one['wall']:.2f} s wall, {one['cpu']:.2f} CPU-seconds")
        print(
            f"{at_once} onboardings posted at once: {many['wall']:.2f} s wall "
            f"({many['wall'] / one['wall']:.1f} times one alone), "
            f"{many['cpu']:.2f} CPU-seconds ({many['cpu'] / at_once:.2f} per onboarding)"
        )
    finally:
        bench.close()


if __name__ == "__main__":
    for figures in (flow_figures, concurrency_figures, runtime_cost_figures):
        figures()
