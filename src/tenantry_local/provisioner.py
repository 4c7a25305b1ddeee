"""Creating a template's resources on the local endpoint, through the AWS APIs, in dependency order.

The SAM template is first expanded to plain CloudFormation by AWS's SAM translator (tenantry_local.sam);
then one creator per CloudFormation type creates each resource and returns its attributes ("Ref" and its
GetAtt names) for later intrinsics. A type without a creator (Lambda permissions, queue policies) is
accepted and only recorded; every IAM role is the one local role: IAM is not enforced offline, which the
static policy tests cover instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantry_local.http_apis import HttpApi, HttpApiGateway
from tenantry_local.lambdas import FunctionSpec, LambdaService
from tenantry_local.logs import LogRouter
from tenantry_local.sam import local_path, to_cloudformation
from tenantry_local.streams import StreamMapping
from tenantry_local.template import ACCOUNT_ID, REGION, Resolver, creation_order

LOG = logging.getLogger("tenantry_local.provisioner")
LOCAL_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/local-runtime"  # every function and state machine runs as it offline


@dataclass
class Provisioned:
    """What was created, by logical id, and the wiring the runtime must drive itself."""

    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    stream_mappings: list[StreamMapping] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)


class Provisioner:
    def __init__(
        self,
        project_dir: Path,
        stack_name: str,
        resolver: Resolver,
        clients: Callable[[str], Any],
        lambdas: LambdaService,
        logs: LogRouter,
        http_apis: HttpApiGateway,
    ):
        self.project_dir = project_dir
        self.stack_name = stack_name
        self.resolver = resolver
        self.client = clients
        self.lambdas = lambdas
        self.logs = logs
        self.http_apis = http_apis
        self.result = Provisioned()
        self._creators: dict[str, Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::Rule": self._rule,
            "AWS::ApiGatewayV2::Api": self._http_api,
            "AWS::Cognito::UserPool": self._user_pool,
            "AWS::Cognito::UserPoolClient": self._user_pool_client,
            "AWS::Cognito::UserPoolGroup": self._user_pool_group,
            "AWS::IAM::Role": self._role,
            "AWS::Lambda::LayerVersion": self._layer,
            "AWS::Lambda::Function": self._function,
            "AWS::Lambda::EventSourceMapping": self._event_source_mapping,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Logs::SubscriptionFilter": self._subscription_filter,
        }

    def provision(self, template: dict[str, Any]) -> Provisioned:
        cloudformation = to_cloudformation(template, self.resolver.parameters, cache_dir=self.project_dir / ".local")
        resources = cloudformation["Resources"]
        self._create_local_role()
        for logical_id in creation_order(resources):
            resource = resources[logical_id]
            properties = self.resolver.resolve(resource.get("Properties", {}))
            creator = self._creators.get(resource["Type"])
            if creator is None:
                attrs = {"Ref": f"{self.stack_name}-{logical_id}"}
                LOG.debug("%s (%s): nothing to create offline", logical_id, resource["Type"])
            else:
                attrs = creator(logical_id, properties, resource)
            self.result.attributes[logical_id] = attrs
            self.result.types[logical_id] = resource["Type"]
            self.resolver.attributes[logical_id] = attrs
        self.result.outputs = {
            name: self.http_apis.local_url(self.resolver.resolve(output["Value"]))
            for name, output in cloudformation.get("Outputs", {}).items()
        }
        return self.result

    def _create_local_role(self) -> None:
        """One role that functions and state machines name: moto checks that it exists; IAM policies are
        not evaluated offline (tests/static/test_template_static.py checks them against every call instead)."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com"]},
                }
            ],
        }
        iam = self.client("iam")
        # A second stack in the same runtime finds it there (tests provision small stacks beside Tenantry's).
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_role(RoleName=LOCAL_ROLE_ARN.rsplit("/", 1)[-1], AssumeRolePolicyDocument=json.dumps(trust))

    def _name(self, logical_id: str, explicit: Any = None) -> str:
        return str(explicit) if explicit else f"{self.stack_name}-{logical_id}"

    # ------------------------------------------------------------------ storage and messaging
    def _table(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("TableName"))
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": p["KeySchema"],
            "AttributeDefinitions": p["AttributeDefinitions"],
            "BillingMode": p.get("BillingMode", "PROVISIONED"),
        }
        if request["BillingMode"] == "PROVISIONED":
            request["ProvisionedThroughput"] = p.get("ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if p.get(key):
                request[key] = p[key]
        if p.get("StreamSpecification"):
            request["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        table = self.client("dynamodb").create_table(**request)["TableDescription"]
        if p.get("TimeToLiveSpecification"):
            self.client("dynamodb").update_time_to_live(TableName=name, TimeToLiveSpecification=p["TimeToLiveSpecification"])
        return {"Ref": name, "Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn")}

    def _queue(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("QueueName"))
        attributes = {k: str(v) for k, v in p.items() if k in ("MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds")}
        if p.get("FifoQueue"):
            attributes["FifoQueue"] = "true"
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
        return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    def _event_bus(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("Name"))
        arn = self.client("events").create_event_bus(Name=name)["EventBusArn"]
        return {"Ref": name, "Arn": arn, "Name": name}

    def _rule(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("Name"))[:64]
        bus = p.get("EventBusName")
        bus = bus.rsplit("/", 1)[-1] if bus else "default"
        events = self.client("events")
        request = api_request(events, "PutRule", p, Name=name, EventBusName=bus)
        if "EventPattern" in request:
            request["EventPattern"] = json.dumps(request["EventPattern"])
        arn = events.put_rule(**request)["RuleArn"]
        if p.get("Targets"):
            events.put_targets(Rule=name, EventBusName=bus, Targets=p["Targets"])
        return {"Ref": name, "Arn": arn}

    def _log_group(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("LogGroupName"))
        self.client("logs").create_log_group(logGroupName=name)
        return {"Ref": name, "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*"}

    def _subscription_filter(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("FilterName"))
        self.logs.subscribe(name, p["LogGroupName"], p.get("FilterPattern", ""), p["DestinationArn"])
        return {"Ref": name}

    # ------------------------------------------------------------------ APIs
    def _http_api(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        body = p.get("Body")
        if not isinstance(body, dict) or p.get("ProtocolType", "HTTP") != "HTTP":
            raise ValueError(f"{logical_id}: the local runtime serves HTTP APIs defined by an OpenAPI Body")
        name = self._name(logical_id, p.get("Name") or (body.get("info") or {}).get("title"))
        api_id = self.client("apigatewayv2").create_api(Name=name, ProtocolType="HTTP")["ApiId"]
        self.http_apis.add(HttpApi.from_openapi(api_id, body))
        return {"Ref": api_id, "ApiId": api_id, "ApiEndpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com"}

    # ------------------------------------------------------------------ Cognito
    def _user_pool(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        cognito = self.client("cognito-idp")
        request = api_request(cognito, "CreateUserPool", p, PoolName=self._name(logical_id, p.get("UserPoolName")))
        pool = cognito.create_user_pool(**request)["UserPool"]
        mfa = p.get("MfaConfiguration", "OFF")
        if mfa != "OFF":
            cognito.set_user_pool_mfa_config(
                UserPoolId=pool["Id"],
                MfaConfiguration=mfa,
                SoftwareTokenMfaConfiguration={"Enabled": "SOFTWARE_TOKEN_MFA" in p.get("EnabledMfas", [])},
            )
        return {
            "Ref": pool["Id"],
            "Arn": pool["Arn"],
            "UserPoolId": pool["Id"],
            "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{pool['Id']}",
            "ProviderURL": f"https://cognito-idp.{REGION}.amazonaws.com/{pool['Id']}",
        }

    def _user_pool_client(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        cognito = self.client("cognito-idp")
        request = api_request(cognito, "CreateUserPoolClient", p, ClientName=p.get("ClientName") or self._name(logical_id))
        client = cognito.create_user_pool_client(**request)["UserPoolClient"]
        return {
            "Ref": client["ClientId"],
            "ClientId": client["ClientId"],
            "Name": client["ClientName"],
            "ClientSecret": client.get("ClientSecret", ""),
        }

    def _user_pool_group(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        cognito = self.client("cognito-idp")
        name = self._name(logical_id, p.get("GroupName"))
        cognito.create_group(**api_request(cognito, "CreateGroup", p, GroupName=name))
        return {"Ref": name}

    # ------------------------------------------------------------------ compute
    def _role(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        return {"Ref": LOCAL_ROLE_ARN.rsplit("/", 1)[-1], "Arn": LOCAL_ROLE_ARN, "RoleId": "AROALOCALRUNTIME"}

    def _layer(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        # The layer's package is installed in the runtime's virtual environment (pip install -e .), which
        # every worker uses: the same code the layer ships, without a build step.
        name = p.get("LayerName") or self._name(logical_id)
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{name}:1"
        return {"Ref": arn, "Arn": arn}

    def _function(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("FunctionName"))
        code = local_path(p.get("Code"))
        if code is None:
            raise ValueError(f"{logical_id}: the local runtime runs functions from a local CodeUri only")
        spec = FunctionSpec(
            name=name,
            code_dir=(self.project_dir / code).resolve(),
            handler=p["Handler"],
            environment={k: str(v) for k, v in (p.get("Environment", {}).get("Variables") or {}).items()},
            timeout_seconds=int(p.get("Timeout", 3)),
            memory_mb=int(p.get("MemorySize", 128)),
            log_group=(p.get("LoggingConfig") or {}).get("LogGroup", ""),
        )
        self.lambdas.register(spec)
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime=p.get("Runtime", "python3.11"),
            Role=LOCAL_ROLE_ARN,
            Handler=spec.handler,
            Code={"ZipFile": _placeholder_zip()},
            Timeout=spec.timeout_seconds,
            MemorySize=spec.memory_mb,
            Environment={"Variables": spec.environment},
            Architectures=p.get("Architectures", ["x86_64"]),
        )
        return {"Ref": name, "Arn": spec.arn}

    def _event_source_mapping(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        source = str(p["EventSourceArn"])
        if ":dynamodb:" not in source:
            LOG.warning("%s: event source %s is not driven by the local runtime", logical_id, source)
            return {"Ref": logical_id}
        self.result.stream_mappings.append(
            StreamMapping(
                function_name=self.lambdas.spec(str(p["FunctionName"])).name,
                stream_arn=source,
                batch_size=int(p.get("BatchSize", 100)),
                batching_window_seconds=float(p.get("MaximumBatchingWindowInSeconds", 0)),
                maximum_retry_attempts=int(p.get("MaximumRetryAttempts", -1)),
                bisect_on_error=bool(p.get("BisectBatchOnFunctionError", False)),
                report_batch_item_failures="ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or []),
                on_failure_arn=((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"),
                starting_position=p.get("StartingPosition", "LATEST"),
            )
        )
        return {"Ref": logical_id}

    def _state_machine(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("StateMachineName"))
        if "DefinitionS3Location" in p:
            path = local_path(p["DefinitionS3Location"])
            if path is None:
                raise ValueError(f"{logical_id}: the local runtime reads definitions from a local DefinitionUri only")
            definition: Any = definition_document(self.project_dir / path)
        else:
            definition = p.get("Definition") or json.loads(p["DefinitionString"])
        text = substitute(json.dumps(definition), p.get("DefinitionSubstitutions") or {})
        arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=text, roleArn=LOCAL_ROLE_ARN, type=p.get("StateMachineType", "STANDARD")
        )["stateMachineArn"]
        return {"Ref": arn, "Arn": arn, "Name": name}


def api_request(client: Any, operation: str, properties: dict[str, Any], **named: Any) -> dict[str, Any]:
    """The request for `operation` from a resource's properties: those the API takes under the same name
    (read from the API's own model, so no parameter list is kept here), plus the ones `named`."""
    members = client.meta.service_model.operation_model(operation).input_shape.members
    return {**{k: v for k, v in properties.items() if k in members}, **named}


_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def substitute(definition: str, substitutions: dict[str, Any]) -> str:
    """Apply DefinitionSubstitutions as SAM does; an unknown `${Name}` is an error, not a silent leftover."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in substitutions:
            raise KeyError(f"definition uses ${{{key}}} but DefinitionSubstitutions has no {key}")
        return str(substitutions[key])

    return _SUBSTITUTION.sub(replace, definition)


def definition_document(path: Path) -> Any:
    """A DefinitionUri file as SAM reads it: JSON or YAML."""
    import yaml

    return yaml.safe_load(path.read_text())


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "The local runtime runs this function from its CodeUri, not from this archive.")
    return buffer.getvalue()
