"""Lambda, locally: every function of the template runs in its own worker processes (its environment
variables, its code directory first on sys.path, a cold start once per worker), never in the runtime's
own process, so that two functions can never see each other's configuration.

Workers are kept warm and reused; a function gets another worker when all of its workers are busy (up
to `max_concurrency`), as Lambda scales out. A worker that exceeds the function's timeout is killed and
the invocation fails with Sandbox.Timedout, as on AWS.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantry_local.inflight import InFlight
from tenantry_local.template import ACCOUNT_ID, REGION

LOG = logging.getLogger("tenantry_local.lambda")


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout_seconds: int = 3
    memory_mb: int = 128
    log_group: str = ""  # LoggingConfig.LogGroup, else /aws/lambda/<name>

    @property
    def log_group_name(self) -> str:
        return self.log_group or f"/aws/lambda/{self.name}"

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"


@dataclass
class InvokeResult:
    payload: Any
    function_error: str | None = None  # "Unhandled" when the handler raised, as Lambda reports it

    @property
    def ok(self) -> bool:
        return self.function_error is None


class FunctionNotFound(LookupError):
    pass


LogSink = Callable[[FunctionSpec, str, str], None]  # (function, log stream, line)


class _Worker:
    def __init__(self, spec: FunctionSpec, base_env: dict[str, str], log_sink: LogSink | None):
        env = {
            **base_env,
            **spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_seconds),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            # No X-Ray daemon offline: Powertools' Tracer stays off (segments would go nowhere, with warnings)
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        self.spec = spec
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tenantry_local.lambda_worker", str(spec.code_dir), spec.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if log_sink else subprocess.DEVNULL,
            env=env,
            text=True,
            bufsize=1,
        )
        if log_sink:
            # One log stream per execution environment, as Lambda names them.
            stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
            threading.Thread(target=self._pump_logs, args=(log_sink, stream), daemon=True).start()
        self._read_line(timeout=60)  # the "ready" line, once the handler module is imported

    def _pump_logs(self, sink: LogSink, stream: str) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            sink(self.spec, stream, line)

    def _read_line(self, timeout: float) -> dict[str, Any] | None:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.process.stdout.readline()
        return json.loads(line) if line else None

    def invoke(self, event: Any, context: dict[str, Any]) -> InvokeResult:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"event": event, "context": context}) + "\n")
        self.process.stdin.flush()
        reply = self._read_line(timeout=self.spec.timeout_seconds)
        if reply is None:
            self.close()
            message = f"Task timed out after {self.spec.timeout_seconds:.2f} seconds"
            return InvokeResult({"errorType": "Sandbox.Timedout", "errorMessage": message}, "Unhandled")
        if reply["ok"]:
            return InvokeResult(reply["result"])
        error = {k: reply[k] for k in ("errorType", "errorMessage", "stackTrace")}
        return InvokeResult(error, "Unhandled")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()


@dataclass
class _Pool:
    spec: FunctionSpec
    idle: list[_Worker] = field(default_factory=list)
    size: int = 0
    condition: threading.Condition = field(default_factory=threading.Condition)


class LambdaService:
    """Invokes the template's functions in worker processes."""

    def __init__(self, base_env: dict[str, str], in_flight: InFlight, log_sink: LogSink | None = None, max_concurrency: int = 4):
        self._base_env = base_env
        self._in_flight = in_flight
        self._closed = False
        self._log_sink = log_sink
        self._max_concurrency = max_concurrency
        self._pools: dict[str, _Pool] = {}
        self._lock = threading.Lock()
        self.invocations: Counter[str] = Counter()
        self.cold_starts: Counter[str] = Counter()

    def register(self, spec: FunctionSpec) -> None:
        with self._lock:
            self._pools[spec.name] = _Pool(spec)

    def resolve(self, name_or_arn: str) -> FunctionSpec | None:
        name = name_or_arn
        if name.startswith("arn:"):
            name = name.split(":function:", 1)[-1]
        name = name.split(":", 1)[0]  # drop a qualifier ($LATEST, alias)
        pool = self._pools.get(name)
        return pool.spec if pool else None

    def specs(self) -> list[FunctionSpec]:
        """Every function the runtime has."""
        with self._lock:
            return [pool.spec for pool in self._pools.values()]

    def spec(self, name_or_arn: str) -> FunctionSpec:
        """The function's spec; FunctionNotFound when the runtime has no such function."""
        spec = self.resolve(name_or_arn)
        if spec is None:
            raise FunctionNotFound(name_or_arn)
        return spec

    def invoke(self, name_or_arn: str, event: Any) -> InvokeResult:
        spec = self.spec(name_or_arn)
        pool = self._pools[spec.name]
        worker = self._acquire(pool)
        self.invocations[spec.name] += 1
        request_id = str(uuid.uuid4())
        context = {
            "function_name": spec.name,
            "function_version": "$LATEST",
            "invoked_function_arn": spec.arn,
            "memory_limit_in_mb": spec.memory_mb,
            "aws_request_id": request_id,
            "log_group_name": f"/aws/lambda/{spec.name}",
            "log_stream_name": f"local/{request_id}",
            "deadline_ms": int((time.time() + spec.timeout_seconds) * 1000),
        }
        try:
            return worker.invoke(event, context)
        finally:
            self._release(pool, worker)

    def invoke_async(self, name_or_arn: str, event: Any, retries: int = 2, on_failure: Any = None) -> None:
        """Invocation type Event: run in the background; a function error is retried (Lambda's default is
        2 retries), then handed to `on_failure`, like an asynchronous invocation's on-failure destination."""

        def run() -> None:
            for attempt in range(retries + 1):
                result = self.invoke(name_or_arn, event)
                if result.ok or self._closed:  # the runtime stopped under it: no retry against a closed endpoint
                    return
                LOG.warning("async invoke of %s failed (attempt %d): %s", name_or_arn, attempt + 1, result.payload)
            if on_failure:
                on_failure(event, result)

        self._in_flight.spawn(run, name=f"invoke-{name_or_arn}")

    def _acquire(self, pool: _Pool) -> _Worker:
        with pool.condition:
            while True:
                while pool.idle:
                    worker = pool.idle.pop()
                    if worker.alive:
                        return worker
                    pool.size -= 1
                if pool.size < self._max_concurrency:
                    pool.size += 1
                    break
                pool.condition.wait()
        try:
            self.cold_starts[pool.spec.name] += 1
            return _Worker(pool.spec, self._base_env, self._log_sink)
        except Exception:
            with pool.condition:
                pool.size -= 1
                pool.condition.notify()
            raise

    def _release(self, pool: _Pool, worker: _Worker) -> None:
        with pool.condition:
            if worker.alive:
                pool.idle.append(worker)
            else:
                pool.size -= 1
            pool.condition.notify()

    def close(self) -> None:
        self._closed = True
        for pool in self._pools.values():
            with pool.condition:
                for worker in pool.idle:
                    worker.close()
                pool.idle.clear()


def worker_base_env(endpoint_url: str) -> dict[str, str]:
    """What every local function environment shares: the endpoint, a region, credentials, the venv."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TZ", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env
