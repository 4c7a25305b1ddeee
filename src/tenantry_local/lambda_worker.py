"""One Lambda execution environment: a process that imports a handler once (the cold start) and then
serves invocations, one at a time, over a pipe, as the Lambda runtime interface does.

Protocol: one JSON line per invocation on stdin ({"event", "context"}), one JSON line per result on the
original stdout ({"ok", "result"} or {"ok": false, "errorType", "errorMessage", "stackTrace"}). The
handler's own prints and logs go to stderr, like a function's logs to CloudWatch.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def load_handler(code_dir: str, handler: str) -> Any:
    module_name, function_name = handler.rsplit(".", 1)
    sys.path.insert(0, code_dir)  # /var/task comes first on Lambda too
    path = os.path.join(code_dir, *module_name.split(".")) + ".py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {handler} from {code_dir}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return getattr(module, function_name)


def serve(code_dir: str, handler_name: str) -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the handler's stdout joins its logs
    sys.stdout = sys.stderr
    try:
        handler = load_handler(code_dir, handler_name)
        init_error = None
    except Exception as error:  # noqa: BLE001 - reported on every invocation, as Lambda's Runtime.ImportModuleError
        handler, init_error = None, error
    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(**request["context"])
        try:
            if init_error is not None:
                raise init_error
            result = handler(request["event"], context)
            reply = {"ok": True, "result": result}
        except Exception as error:  # noqa: BLE001 - the invoker reports it as a function error
            reply = {
                "ok": False,
                "errorType": type(error).__name__,
                "errorMessage": str(error),
                "stackTrace": traceback.format_exception(error),
            }
        try:
            encoded = json.dumps(reply)
        except (TypeError, ValueError) as error:  # as Lambda: a result that is not JSON fails the invocation
            encoded = json.dumps(
                {
                    "ok": False,
                    "errorType": "Runtime.MarshalError",
                    "errorMessage": f"Unable to marshal response: {error}",
                    "stackTrace": [],
                }
            )
        protocol.write(encoded + "\n")


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
