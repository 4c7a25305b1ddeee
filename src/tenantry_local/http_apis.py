"""API Gateway HTTP APIs, as API Gateway runs them: routes, Lambda proxy integrations (payload format 2.0),
Lambda request authorizers (simple or IAM-policy responses, identity sources) and CORS, all read from the
API's OpenAPI body as the SAM transform writes it (`AWS::ApiGatewayV2::Api` `Body`), so that an API added
to the template is served with no change here.

The runtime serves an API at `<endpoint>/_apis/<apiId>` (its `$default` stage); `local_url` maps the
execute-api URL a template builds (`https://<apiId>.execute-api.<region>.amazonaws.com`) to it.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tenantry_local.lambdas import LambdaService
from tenantry_local.template import ACCOUNT_ID, REGION

LOG = logging.getLogger("tenantry_local.http_apis")
PATH_PREFIX = "/_apis/"
_FUNCTION_IN_URI = re.compile(r"functions/(arn:[^/]+)/invocations")
_EXECUTE_API_URL = re.compile(r"https://([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com")
_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+json)")


@dataclass(frozen=True)
class Authorizer:
    name: str
    function_arn: str
    payload_version: str
    simple_responses: bool
    identity_sources: tuple[str, ...]  # "$request.header.Authorization", "$request.querystring.key", ...


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, ..., ANY
    path: str  # /users/{id}, /files/{proxy+}, or $default
    function_arn: str
    authorizer: str | None

    @property
    def key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route serves `method path`, else None."""
        if self.path == "$default":
            return {}
        if self.method not in ("ANY", method):
            return None
        pattern = "".join(_segment_pattern(part) for part in re.split(r"(\{[^}]+\})", self.path) if part)
        found = re.fullmatch(pattern, path)
        return None if found is None else {_variable(name): value for name, value in found.groupdict().items()}

    @property
    def specificity(self) -> tuple[int, int, int]:
        """API Gateway prefers the most specific route: no greedy variable, then more literal segments, then
        a named method over ANY; `$default` only when nothing else matches."""
        if self.path == "$default":
            return (2, 0, 1)
        literal = sum(1 for part in self.path.split("/") if part and not part.startswith("{"))
        return (int("+}" in self.path), -literal, int(self.method == "ANY"))


def _segment_pattern(part: str) -> str:
    """`{name}` matches one path segment, `{name+}` (greedy) the rest of the path, anything else itself."""
    if not part.startswith("{"):
        return re.escape(part)
    name = part.strip("{}").rstrip("+")
    return f"(?P<v_{name.encode().hex()}>{'.+' if part.endswith('+}') else '[^/]+'})"


def _variable(group: str) -> str:
    return bytes.fromhex(group.removeprefix("v_")).decode()


@dataclass
class HttpApi:
    api_id: str
    routes: list[Route] = field(default_factory=list)
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    cors: dict[str, Any] | None = None

    @classmethod
    def from_openapi(cls, api_id: str, body: dict[str, Any]) -> HttpApi:
        api = cls(api_id, cors=body.get("x-amazon-apigateway-cors"))
        for name, scheme in ((body.get("components") or {}).get("securitySchemes") or {}).items():
            config = scheme.get("x-amazon-apigateway-authorizer")
            if config and config.get("type") == "request":
                api.authorizers[name] = Authorizer(
                    name=name,
                    function_arn=_function_arn(config["authorizerUri"]),
                    payload_version=str(config.get("authorizerPayloadFormatVersion", "2.0")),
                    simple_responses=bool(config.get("enableSimpleResponses", False)),
                    identity_sources=tuple(_as_list(config.get("identitySource"))),
                )
        for path, operations in (body.get("paths") or {}).items():
            for method, operation in operations.items():
                integration = operation.get("x-amazon-apigateway-integration") or {}
                if integration.get("type") != "aws_proxy":
                    continue
                security = [name for requirement in operation.get("security") or [] for name in requirement]
                authorizer = next((name for name in security if name in api.authorizers), None)
                route_method = "ANY" if method in ("x-amazon-apigateway-any-method", "any") else method.upper()
                api.routes.append(Route(route_method, path, _function_arn(integration["uri"]), authorizer))
        api.routes.sort(key=lambda r: r.specificity)
        return api

    def route_for(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            parameters = route.match(method, path)
            if parameters is not None:
                return route, parameters
        return None


def _function_arn(uri: str) -> str:
    found = _FUNCTION_IN_URI.search(uri)
    if not found:
        raise ValueError(f"not a Lambda integration URI: {uri}")
    return found.group(1)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # below the API's base URL, starting with /
    query: str  # the raw query string
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class HttpApiGateway:
    def __init__(self, lambdas: LambdaService, endpoint: str):
        self._lambdas = lambdas
        self._endpoint = endpoint
        self.apis: dict[str, HttpApi] = {}

    def add(self, api: HttpApi) -> None:
        self.apis[api.api_id] = api

    def base_url(self, api_id: str) -> str:
        return f"{self._endpoint}{PATH_PREFIX}{api_id}"

    def local_url(self, value: Any) -> Any:
        """An output naming one of the APIs served here by its execute-api URL, pointing at this endpoint."""
        if not isinstance(value, str):
            return value
        return _EXECUTE_API_URL.sub(lambda m: self.base_url(m.group(1)) if m.group(1) in self.apis else m.group(0), value)

    def handle(self, api_id: str, request: HttpRequest) -> HttpResponse:
        api = self.apis.get(api_id)
        if api is None:
            return _message(404, "Not Found")
        headers = _header_map(request.headers)
        if request.method == "OPTIONS" and api.cors is not None and "access-control-request-method" in headers:
            return self._preflight(api, headers)
        found = api.route_for(request.method, request.path)
        if found is None:
            return self._with_cors(api, headers, _message(404, "Not Found"))
        route, path_parameters = found
        event = _event(api, route, request, headers, path_parameters)
        if route.authorizer is not None:
            refused, context = self._authorize(api.authorizers[route.authorizer], route, event)
            if refused is not None:
                return self._with_cors(api, headers, refused)
            event["requestContext"]["authorizer"] = context
        return self._with_cors(api, headers, self._integrate(route, event))

    # ------------------------------------------------------------------ authorizers
    def _authorize(self, authorizer: Authorizer, route: Route, event: dict[str, Any]) -> tuple[HttpResponse | None, Any]:
        identity = [_identity_value(source, event) for source in authorizer.identity_sources]
        if any(value is None or value == "" for value in identity):
            return _message(401, "Unauthorized"), None  # as API Gateway: no call when an identity source is missing
        request = {
            **{k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")},
            "type": "REQUEST",
            "routeArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{event['requestContext']['apiId']}/$default/"
            f"{event['requestContext']['http']['method']}{event['rawPath']}",
            "identitySource": identity,
        }
        result = self._lambdas.invoke(authorizer.function_arn, request)
        if not result.ok or not isinstance(result.payload, dict):
            LOG.warning("authorizer %s failed: %s", authorizer.name, result.payload)
            return _message(500, "Internal Server Error"), None
        answer = result.payload
        if authorizer.simple_responses:
            if answer.get("isAuthorized") is not True:
                return _message(403, "Forbidden"), None
            return None, {"lambda": answer.get("context") or {}}
        if not _policy_allows(answer.get("policyDocument") or {}, request["routeArn"]):
            return _message(403, "Forbidden"), None
        return None, {"lambda": answer.get("context") or {}, "principalId": answer.get("principalId")}

    # ------------------------------------------------------------------ integrations
    def _integrate(self, route: Route, event: dict[str, Any]) -> HttpResponse:
        if self._lambdas.resolve(route.function_arn) is None:
            return _message(500, "Internal Server Error")
        result = self._lambdas.invoke(route.function_arn, event)
        if not result.ok:
            LOG.warning("%s failed: %s", route.key, result.payload)
            return _message(500, "Internal Server Error")
        return _proxy_response(result.payload)

    # ------------------------------------------------------------------ CORS
    def _preflight(self, api: HttpApi, headers: dict[str, str]) -> HttpResponse:
        cors = api.cors or {}
        origin = headers.get("origin", "")
        allowed = _as_list(cors.get("allowOrigins"))
        response_headers = []
        if origin and ("*" in allowed or origin in allowed):
            response_headers += [("Access-Control-Allow-Origin", "*" if "*" in allowed else origin)]
            response_headers += [("Access-Control-Allow-Methods", ",".join(_as_list(cors.get("allowMethods"))))]
            response_headers += [("Access-Control-Allow-Headers", ",".join(_as_list(cors.get("allowHeaders"))).lower())]
            if cors.get("maxAge") is not None:
                response_headers += [("Access-Control-Max-Age", str(cors["maxAge"]))]
            if cors.get("allowCredentials"):
                response_headers += [("Access-Control-Allow-Credentials", "true")]
        return HttpResponse(204, response_headers, b"")

    @staticmethod
    def _with_cors(api: HttpApi, headers: dict[str, str], response: HttpResponse) -> HttpResponse:
        origin = headers.get("origin")
        allowed = _as_list((api.cors or {}).get("allowOrigins"))
        if api.cors is None or not origin or not ("*" in allowed or origin in allowed):
            return response
        extra = [("Access-Control-Allow-Origin", "*" if "*" in allowed else origin)]
        exposed = _as_list(api.cors.get("exposeHeaders"))
        if exposed:
            extra.append(("Access-Control-Expose-Headers", ",".join(exposed)))
        if api.cors.get("allowCredentials"):
            extra.append(("Access-Control-Allow-Credentials", "true"))
        return HttpResponse(response.status, response.headers + extra, response.body)


def _header_map(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Header names lower-cased; repeated headers joined with commas (payload format 2.0)."""
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    return merged


def _event(
    api: HttpApi, route: Route, request: HttpRequest, headers: dict[str, str], path_parameters: dict[str, str]
) -> dict[str, Any]:
    """The Lambda event of payload format 2.0."""
    from urllib.parse import parse_qsl

    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = datetime.now(UTC)
    content_type = headers.get("content-type", "")
    # The event's body is a string: one that is not UTF-8 can only travel base64-encoded, whatever its declared type
    text = not request.body or (bool(_TEXT_TYPES.match(content_type)) and _is_utf8(request.body))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": {k: v for k, v in headers.items() if k != "cookie"},
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": api.api_id,
            "domainName": f"{api.api_id}.execute-api.{REGION}.amazonaws.com",
            "domainPrefix": api.api_id,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": route.key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": not text,
    }
    if "cookie" in headers:
        event["cookies"] = [c.strip() for c in headers["cookie"].replace(",", ";").split(";") if c.strip()]
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if request.body:
        event["body"] = request.body.decode() if text else base64.b64encode(request.body).decode()
    return event


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def _identity_value(source: str, event: dict[str, Any]) -> str | None:
    kind, _, name = source.removeprefix("$").partition(".")
    if kind == "request":
        where, _, name = name.partition(".")
        if where == "header":
            value = event["headers"].get(name.lower())
            return str(value) if value is not None else None
        if where == "querystring":
            value = (event.get("queryStringParameters") or {}).get(name)
            return str(value) if value is not None else None
    if kind == "context":
        return str(event["requestContext"].get(name, "")) or None
    return None


def _policy_allows(policy: dict[str, Any], route_arn: str) -> bool:
    allowed = False
    for statement in policy.get("Statement") or []:
        resources = statement.get("Resource")
        resources = resources if isinstance(resources, list) else [resources]
        if any(re.fullmatch(re.escape(str(r)).replace(r"\*", ".*"), route_arn) for r in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _proxy_response(payload: Any) -> HttpResponse:
    """A function's answer, read as API Gateway reads payload format 2.0: a dict with statusCode is the
    response; anything else is a 200 with the answer as its JSON body."""
    if not (isinstance(payload, dict) and "statusCode" in payload):
        return HttpResponse(200, [("Content-Type", "application/json")], json.dumps(payload).encode())
    headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers += [(str(name), str(v)) for v in values]
    headers += [("Set-Cookie", str(cookie)) for cookie in payload.get("cookies") or []]
    body = payload.get("body") or ""
    raw = base64.b64decode(body) if payload.get("isBase64Encoded") else str(body).encode()
    return HttpResponse(int(payload["statusCode"]), headers, raw)


def _message(status: int, message: str) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json")], json.dumps({"message": message}).encode())
