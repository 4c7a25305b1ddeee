"""moto's threaded server, plus the runtime's own routes under /_tenantry/ (readiness, stack outputs,
fault injection, settledness), on the same port as the AWS APIs."""

from __future__ import annotations

import json
import re
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tenantry_local.http_apis import PATH_PREFIX, HttpRequest
from tenantry_local.template import REGION


class QuietRequestHandler(MotoRequestHandler):
    """No access log line per API call: the runtime's output stays readable."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


_CREDENTIAL_REGION = re.compile(r"(Credential=[^/,]+/\d{8}/)([a-z0-9-]+)(/)")


class StackRegion:
    """Every region is served as the stack's: a client configured for eu-west-1 sees the same account as the
    AWS CLI in us-east-1 (moto keeps one backend per region, and reads the region from the signature's
    credential scope). Signatures are not checked offline, so rewriting the scope is safe."""

    def __init__(self, app: Any):
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        authorization = environ.get("HTTP_AUTHORIZATION")
        if authorization:
            environ["HTTP_AUTHORIZATION"] = _CREDENTIAL_REGION.sub(rf"\g<1>{REGION}\g<3>", authorization, count=1)
        return self._app(environ, start_response)


class _TenantryRoutes:
    def __init__(self, app: Any, runtime: Any):
        self._app = app
        self._runtime = runtime

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PATH_PREFIX):
            return self._api(Request(environ))(environ, start_response)
        if not path.startswith("/_tenantry/"):
            return self._app(environ, start_response)
        request = Request(environ)
        response = self._route(request)
        return response(environ, start_response)

    def _api(self, request: Request) -> Response:
        """A request to one of the template's HTTP APIs, at <endpoint>/_apis/<apiId>/<path>."""
        api_id, _, path = request.path.removeprefix(PATH_PREFIX).partition("/")
        answer = self._runtime.http_apis.handle(
            api_id,
            HttpRequest(
                method=request.method,
                path="/" + path,
                query=request.query_string.decode(),
                headers=list(request.headers.items()),
                body=request.get_data(),
                source_ip=request.remote_addr or "127.0.0.1",
            ),
        )
        return Response(answer.body, status=answer.status, headers=answer.headers)

    def _route(self, request: Request) -> Response:  # noqa: PLR0911 - one return per route
        runtime, path = self._runtime, request.path
        if path == "/_tenantry/health":
            return _json(runtime.describe())
        if path == "/_tenantry/schedules/fire" and request.method == "POST":
            from tenantry_local.schedules import fire_all

            return _json({"fired": fire_all(runtime.rules)})
        if path == "/_tenantry/cognito/messages":
            from tenantry_local.cognito_mailbox import messages

            return _json({"messages": messages()})
        if path == "/_tenantry/settled":
            return _json({"settled": runtime.settled()})
        if path == "/_tenantry/faults":
            if request.method == "POST":
                fault = runtime.faults.arm(json.loads(request.get_data(as_text=True) or "{}"))
                return _json({"armed": fault.__dict__}, status=201)
            if request.method == "DELETE":
                runtime.faults.clear()
                return _json({"cleared": True})
            return _json({"pending": runtime.faults.pending()})
        return _json({"error": f"no route {path}"}, status=404)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, mimetype="application/json")


class TenantryMotoServer(ThreadedMotoServer):
    def __init__(self, runtime: Any, host: str, port: int):
        super().__init__(ip_address=host, port=port, verbose=False)
        self._runtime = runtime

    def _server_entry(self) -> None:
        app = StackRegion(_TenantryRoutes(DomainDispatcherApplication(create_backend_app), self._runtime))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=QuietRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()
