"""Fault injection: the next N calls of an AWS operation fail with a chosen error.

Tests and operators arm a fault through POST /_tenantry/faults, for example
`{"service": "cognito-idp", "operation": "CreateGroup", "error": "InternalErrorException", "count": 1}`,
optionally narrowed by `match` (a substring of the request body, or the function name for Lambda Invoke) or
by `caller` (a glob over `<execution name>/<state name>` of the Step Functions task making the call, for
example `register-r-1/SaveProfile` or `offboard-*/DeleteUserPool`), and slowed by `delay_seconds`. It reaches
Step Functions tasks, functions and clients alike, because it sits in the API.

`"applied": true` makes the call and then answers the error instead: a call that timed out after the service
acted, which the caller cannot tell from one that did not (with `"function_error": true`, a Lambda Invoke answers
as a function that failed, `error` its errorType: `Sandbox.Timedout` for a function that ran out of time).

`"partial": true` on EventBridge's PutEvents refuses only the entries that contain `match`, each with `error` as
its ErrorCode, and puts the others: the partial failure EventBridge answers with HTTP 200 and a
FailedEntryCount, which a publisher must notice entry by entry.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any

from tenantry_local.api_calls import ApiCall, Proceed, Response


@dataclass
class Fault:
    service: str
    operation: str
    error: str = "InternalErrorException"
    message: str = "Injected fault"
    status: int = 400
    count: int = 1
    match: str = ""
    caller: str = ""  # only calls made by a task whose "<execution>/<state>" matches this glob ("": any call)
    delay_seconds: float = 0.0  # how long the failing call takes (a slow throttled call)
    partial: bool = False  # PutEvents: refuse the entries containing `match`, put the others
    applied: bool = False  # the call is made, and its answer lost: the caller gets the error (a timeout)
    function_error: bool = False  # Lambda Invoke: answered as a function that failed (`error` is its errorType)
    fired: int = 0

    def response(self) -> tuple[int, dict[str, str], str]:
        if self.function_error:  # as Lambda answers when the function failed or timed out: 200, and the error
            headers = {"Content-Type": "application/json", "X-Amz-Function-Error": "Unhandled"}
            return 200, headers, json.dumps({"errorType": self.error, "errorMessage": self.message})
        body = json.dumps({"__type": self.error, "message": self.message, "Message": self.message})
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "x-amzn-ErrorType": self.error,
            "x-amzn-RequestId": str(uuid.uuid4()),
        }
        return self.status, headers, body


class FaultInjector:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    @property
    def armed(self) -> bool:
        return bool(self._faults)

    def arm(self, spec: dict[str, Any]) -> Fault:
        fault = Fault(**{k: v for k, v in spec.items() if k in Fault.__dataclass_fields__ and k != "fired"})
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, service: str, operation: str, subject: str = "", caller: str = "") -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if (
                    fault.service == service
                    and fault.operation == operation
                    and fault.match in subject
                    and (not fault.caller or fnmatch.fnmatchcase(caller, fault.caller))
                ):
                    fault.fired += 1
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def __call__(self, call: ApiCall, proceed: Proceed) -> Response:
        """Middleware: answer the call with an armed fault instead of moto, when one is due."""
        if self.armed:
            fault = self.take(call.service, call.operation, call.body, call.caller)
            if fault is not None:
                time.sleep(fault.delay_seconds)
                if fault.partial and call.operation == "PutEvents":
                    return self._put_some(fault, call, proceed)
                if fault.applied:
                    proceed(call)
                return fault.response()
        return proceed(call)

    @staticmethod
    def _put_some(fault: Fault, call: ApiCall, proceed: Proceed) -> Response:
        """PutEvents with the entries containing `fault.match` refused and the others put, answered in order."""
        request = json.loads(call.body)
        entries = request.get("Entries") or []
        refused = [fault.match in json.dumps(entry) for entry in entries]
        kept = [entry for entry, no in zip(entries, refused, strict=True) if not no]
        put: list[dict[str, Any]] = []
        status, headers = 200, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4())}
        if kept:
            status, headers, body = proceed(replace(call, body=json.dumps({**request, "Entries": kept})))
            if status != 200:
                return status, headers, body
            put = json.loads(body)["Entries"]
        answers = iter(put)
        results = [{"ErrorCode": fault.error, "ErrorMessage": fault.message} if no else next(answers) for no in refused]
        failed = sum("ErrorCode" in result for result in results)
        return status, headers, json.dumps({"FailedEntryCount": failed, "Entries": results})

    def raise_if_due(self, service: str, operation: str, subject: str = "") -> None:
        fault = self.take(service, operation, subject)
        if fault is not None:
            from moto.core.exceptions import JsonRESTError

            raise JsonRESTError(fault.error, fault.message)

    def disarm(self, fault: Fault) -> None:
        """Take `fault` back, whatever is left of its count."""
        with self._lock:
            self._faults[:] = [armed for armed in self._faults if armed is not fault]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]
