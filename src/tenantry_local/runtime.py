"""The local runtime: the whole application from template.yaml, on moto, on one port, with no Docker
and no AWS account.

    runtime = LocalRuntime(project_dir).start()     # moto server + patches + every template resource
    runtime.client("events").put_events(...)         # any boto3 client, or the AWS CLI, on runtime.endpoint
    runtime.stop()

moto keeps its state per process, so a process holds at most one running LocalRuntime.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tenantry_local.template import REGION, Resolver, load_template, parameter_values

LOG = logging.getLogger("tenantry_local")
DEFAULT_TIME_SCALE = 0.01


class LocalRuntime:
    def __init__(
        self,
        project_dir: Path,
        port: int = 4566,
        host: str = "127.0.0.1",
        stack_name: str | None = None,
        time_scale: float = DEFAULT_TIME_SCALE,
        parameters: dict[str, str] | None = None,
        log_dir: Path | None = None,
        run_schedules: bool = True,
    ):
        self.project_dir = Path(project_dir).resolve()
        self.host = host
        self.port = port
        self.stack_name = stack_name or stack_name_from_samconfig(self.project_dir)
        self.time_scale = time_scale
        self.parameters = parameters or {}
        self.log_dir = log_dir or self.project_dir / ".local" / "logs"
        self.run_schedules = run_schedules
        self.scheduler: Any = None
        self.endpoint = f"http://{host}:{port}"
        self.provisioned: Any = None
        self.lambdas: Any = None
        self.faults: Any = None
        self.streams: Any = None
        self.logs: Any = None
        self.rules: Any = None
        self.http_apis: Any = None  # tenantry_local.http_apis.HttpApiGateway
        self.calls: Any = None  # tenantry_local.accounting.CallAccounting
        self.cloudtrail: Any = None  # tenantry_local.cloudtrail.CloudTrail (.enabled)
        self.in_flight: Any = None
        self._bound = ExitStack()
        self._server: Any = None
        self._clients: dict[tuple[str, bool], Any] = {}
        self._clients_lock = threading.Lock()
        self.started_in: float | None = None
        self.last_unsettled = ""  # what wait_settled found when it gave up last
        # One look at a time, shared by every waiter for a moment: each look reads the stream through the
        # endpoint, and eight test threads waiting at once made enough of them to starve the runtime itself
        # (events a minute late in a load test).
        self._settled_lock = threading.Lock()
        self._settled_seen: tuple[float, bool] = (0.0, False)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalRuntime:
        began = time.perf_counter()
        self._prepare_process_environment()
        from tenantry_local import binding, moto_patches
        from tenantry_local.accounting import CallAccounting
        from tenantry_local.cloudtrail import CloudTrail
        from tenantry_local.faults import FaultInjector
        from tenantry_local.http_apis import HttpApiGateway
        from tenantry_local.inflight import InFlight
        from tenantry_local.lambdas import LambdaService, worker_base_env
        from tenantry_local.logs import LogRouter
        from tenantry_local.provisioner import LOCAL_ROLE_ARN
        from tenantry_local.rule_delivery import RuleDelivery

        # Before any state machine exists: moto keeps executing and non-executing machines apart.
        moto_patches.install()
        self.in_flight = InFlight()
        self.lambdas = LambdaService(worker_base_env(self.endpoint), self.in_flight, log_sink=self._function_output)
        # Subscription filters deliver like CloudWatch Logs: asynchronously, to the destination function.
        self.logs = LogRouter(self.log_dir, deliver=self.lambdas.invoke_async, window_seconds=0.2)
        self.rules = RuleDelivery(self.lambdas, self.in_flight, self.endpoint)
        self.http_apis = HttpApiGateway(self.lambdas, self.endpoint)
        self.calls = CallAccounting()
        self.faults = FaultInjector()
        self.cloudtrail = CloudTrail(LOCAL_ROLE_ARN)
        services = binding.Services(
            lambdas=self.lambdas,
            rules=self.rules,
            middleware=(self.calls, self.faults, self.cloudtrail),
            faults=self.faults,
            time_scale=self.time_scale,
        )
        self._bound = ExitStack()
        self._bound.enter_context(binding.bound(services))
        self._start_server()
        self._provision()
        self.started_in = time.perf_counter() - began
        return self

    def stop(self) -> None:
        if self.scheduler:
            self.scheduler.stop()
        if self.streams:
            self.streams.stop()
        if self.lambdas:
            self.lambdas.close()
        if self.logs:
            self.logs.close()
        if self._server:
            self._server.stop()
            self._server = None
        self._bound.close()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _function_output(self, spec: Any, stream: str, line: str) -> None:
        self.logs.write(spec.log_group_name, stream, line)

    def _prepare_process_environment(self) -> None:
        # moto's interpreter logs every caught task error at ERROR; the execution history already says it.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        # moto's Step Functions interpreter calls the server on localhost:$MOTO_PORT; clients made in
        # this process (provisioning, the demo) need a region and some credentials.
        os.environ["MOTO_PORT"] = str(self.port)
        # As Cognito does: a TOTP code must be the authenticator's current one (moto accepts any code without it).
        os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = "true"
        for key, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": REGION}.items():
            os.environ.setdefault(key, value)

    def _start_server(self) -> None:
        from tenantry_local.server import TenantryMotoServer

        self._server = TenantryMotoServer(self, self.host, self.port)
        self._server.start()

    def _provision(self) -> None:
        from tenantry_local.provisioner import Provisioner
        from tenantry_local.streams import StreamPoller

        template = load_template(self.project_dir / "template.yaml")
        resolver = Resolver(self.stack_name, parameter_values(template, self.parameters))
        self.provisioned = Provisioner(
            self.project_dir, self.stack_name, resolver, self.client, self.lambdas, self.logs, self.http_apis
        ).provision(template)
        # The poller's own calls are the runtime's, not the application's: not counted, not faulted.
        self.streams = StreamPoller(
            self.lambdas, self.client("dynamodbstreams", internal=True), self.client("sqs", internal=True), self.time_scale
        )
        for mapping in self.provisioned.stream_mappings:
            self.streams.add(mapping)
        self.streams.start_positions()
        self.streams.start()
        if self.run_schedules:
            from tenantry_local.schedules import Scheduler

            self.scheduler = Scheduler(self.rules, self.time_scale)
            self.scheduler.start()

    # ------------------------------------------------------------------ use
    def client(self, service: str, internal: bool = False) -> Any:
        """A boto3 client for the local endpoint (cached; boto3 clients are thread-safe). An internal
        client signs with the runtime's own key, which accounting, fault injection and CloudTrail skip."""
        from tenantry_local.api_calls import INTERNAL_ACCESS_KEY

        key = (service, internal)
        with self._clients_lock:
            if key not in self._clients:
                import boto3
                from botocore.config import Config

                self._clients[key] = boto3.client(
                    service,  # type: ignore[call-overload]  # any service, by name
                    endpoint_url=self.endpoint,
                    region_name=REGION,
                    aws_access_key_id=INTERNAL_ACCESS_KEY if internal else "local",
                    aws_secret_access_key="local",
                    config=Config(retries={"max_attempts": 2}, max_pool_connections=32),
                )
            return self._clients[key]

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.provisioned.outputs) if self.provisioned else {}

    def describe(self) -> dict[str, Any]:
        """What /_tenantry/health reports: readiness, the stack's outputs, resources by type."""
        counts: dict[str, int] = {}
        for kind in self.provisioned.types.values() if self.provisioned else []:
            counts[kind] = counts.get(kind, 0) + 1
        return {
            "ready": self.provisioned is not None,
            "endpoint": self.endpoint,
            "region": REGION,
            "stackName": self.stack_name,
            "timeScale": self.time_scale,
            "startedInSeconds": self.started_in,
            "outputs": self.outputs,
            "resources": counts,
        }

    def settled(self) -> bool:
        """Nothing waits for delivery: no stream record, no subscribed log line, no asynchronous invocation or
        rule delivery still running. (Another waiter's look that found work, taken within the last 50 ms, is
        the answer: only a "no", since a "yes" may be older than the caller's last change.)"""
        with self._settled_lock:
            looked_at, answer = self._settled_seen
            if not answer and time.monotonic() - looked_at < SETTLED_LOOK_SECONDS:
                return False
            # In-flight work is checked before and after the queues: work finishing in between may enqueue more.
            answer = (
                (self.in_flight.idle if self.in_flight else True)
                and (self.logs.idle() if self.logs else True)
                and (self.streams.idle() if self.streams else True)
                and (self.in_flight.idle if self.in_flight else True)
            )
            self._settled_seen = (time.monotonic(), answer)
            return answer

    def wait_settled(self, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.settled():
                return True
            time.sleep(0.05)
        self.last_unsettled = self.unsettled()
        LOG.warning("not settled after %.0fs: %s", timeout, self.last_unsettled)
        return False

    def unsettled(self) -> str:
        """What keeps the runtime from settling, for whoever waited in vain: each piece of work in flight
        (its age and stack), and whether stream records or log lines wait for delivery."""
        now = time.monotonic()
        found = [work.describe(now) for work in (self.in_flight.running() if self.in_flight else [])]
        if self.logs and not self.logs.idle():
            found.append("log lines wait for their subscription")
        if self.streams and not self.streams.idle():
            found.append("stream records wait for delivery; the poller " + self.streams.where())
        return "\n".join(found) or "nothing (it settled just now)"


SETTLED_LOOK_SECONDS = 0.05


def stack_name_from_samconfig(project_dir: Path) -> str:
    """The default environment's stack name in samconfig.toml, as `sam deploy` would use it."""
    import tomllib

    path = project_dir / "samconfig.toml"
    if path.is_file():
        config = tomllib.loads(path.read_text())
        for section in ("global", "deploy"):
            name = config.get("default", {}).get(section, {}).get("parameters", {}).get("stack_name")
            if name:
                return name
    return project_dir.name


def ready_line(runtime: LocalRuntime) -> str:
    info = runtime.describe()
    total = sum(info["resources"].values())
    return (
        f"Tenantry local runtime ready on {runtime.endpoint} (region {REGION}, {total} resources from template.yaml, "
        f"time scale {runtime.time_scale}) in {runtime.started_in:.2f}s"
    )
