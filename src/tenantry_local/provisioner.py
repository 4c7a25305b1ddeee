"""Creating a template's resources on the local endpoint, through the AWS APIs, in dependency order.

The SAM template is first expanded to plain CloudFormation by AWS's SAM translator (tenantry_local.sam);
then one creator per CloudFormation type creates each resource and returns its attributes ("Ref" and its
GetAtt names) for later intrinsics. A type without a creator (Lambda permissions, queue policies) is
accepted and only recorded; every IAM role is the one local role: IAM is not enforced offline, which the
static policy tests cover instead.

Custom resources (`AWS::CloudFormation::CustomResource`, `Custom::*`) backed by a function run as CloudFormation
runs them: the function gets a Create request whose ResponseURL is a presigned S3 PUT URL (of a bucket the
runtime keeps for that), and the resource's attributes are what the function PUT there (Ref: the
PhysicalResourceId; GetAtt: each key of Data). The runtime only creates: no Update or Delete request is sent.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import time
import uuid
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

# Custom resources: where their functions PUT their responses (CloudFormation's own response URLs are presigned
# S3 URLs too, valid for two hours), and what CloudFormation accepts.
CUSTOM_RESOURCE_RESPONSES_BUCKET = "tenantry-local-custom-resource-responses"
RESPONSE_URL_SECONDS = 7200
CUSTOM_RESOURCE_ATTEMPTS = 3  # an asynchronous invocation (CloudFormation's) is tried once and retried twice on error
MAX_RESPONSE_BYTES = 4096
MAX_PHYSICAL_ID_BYTES = 1024
DEFAULT_SERVICE_TIMEOUT_SECONDS = 3600
LOCAL_CUSTOM_RESOURCE_TIMEOUT_SECONDS = 60.0  # offline cap on the wait for a response (ServiceTimeout caps it on AWS)
# Bucket properties the runtime applies; any other is reported as not applied offline.
_BUCKET_PROPERTIES = frozenset(
    {
        "BucketName",
        "NotificationConfiguration",
        "PublicAccessBlockConfiguration",
        "BucketEncryption",
        "CorsConfiguration",
        "LifecycleConfiguration",
        "VersioningConfiguration",
        "OwnershipControls",
        "Tags",
    }
)


class CustomResourceFailed(RuntimeError):
    """A custom resource was not created: its function answered FAILED, answered what CloudFormation refuses, or
    did not answer."""


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
        custom_resource_timeout: float = LOCAL_CUSTOM_RESOURCE_TIMEOUT_SECONDS,
    ):
        self.project_dir = project_dir
        self.stack_name = stack_name
        self.resolver = resolver
        self.client = clients
        self.lambdas = lambdas
        self.logs = logs
        self.http_apis = http_apis
        self.custom_resource_timeout = custom_resource_timeout
        self.result = Provisioned()
        self._response_presigner: Any = None
        self._creators: dict[str, Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::Rule": self._rule,
            "AWS::Events::Archive": self._archive,
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
            "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::CloudWatch::Dashboard": self._dashboard,
            "AWS::Logs::SubscriptionFilter": self._subscription_filter,
            "AWS::S3::Bucket": self._bucket,
        }

    def provision(self, template: dict[str, Any]) -> Provisioned:
        cloudformation = to_cloudformation(template, self.resolver.parameters, cache_dir=self.project_dir / ".local")
        resources = cloudformation["Resources"]
        self._create_local_role()
        for logical_id in creation_order(resources):
            resource = resources[logical_id]
            properties = self.resolver.resolve(resource.get("Properties", {}))
            creator = self._creators.get(resource["Type"])
            if creator is None and is_custom_resource(resource["Type"]):
                creator = self._custom_resource
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

    def _archive(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("ArchiveName"))
        request = api_request(
            self.client("events"),
            "CreateArchive",
            p,
            ArchiveName=name,
            EventSourceArn=p["SourceArn"],
            RetentionDays=int(p.get("RetentionDays", 0)),
        )
        if "EventPattern" in request:
            request["EventPattern"] = json.dumps(request["EventPattern"])
        arn = self.client("events").create_archive(**request)["ArchiveArn"]
        return {"Ref": name, "Arn": arn}

    def _bucket(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = str(p["BucketName"]) if p.get("BucketName") else bucket_name(self.stack_name, logical_id)
        if not valid_bucket_name(name):  # moto creates any name (measured: docs/moto-offline-findings.md); S3 does not
            raise ValueError(f"{logical_id}: {name!r} is not a valid bucket name")
        s3 = self.client("s3")
        location = {} if REGION == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": REGION}}
        s3.create_bucket(Bucket=name, **location)
        # CloudFormation's shapes are the API's where api_request fits; encryption, CORS, lifecycle and tags differ.
        if p.get("PublicAccessBlockConfiguration"):
            block = {k: _boolean(v) for k, v in p["PublicAccessBlockConfiguration"].items()}
            s3.put_public_access_block(
                **api_request(s3, "PutPublicAccessBlock", p, Bucket=name, PublicAccessBlockConfiguration=block)
            )
        if p.get("OwnershipControls"):
            s3.put_bucket_ownership_controls(**api_request(s3, "PutBucketOwnershipControls", p, Bucket=name))
        if p.get("VersioningConfiguration"):
            s3.put_bucket_versioning(**api_request(s3, "PutBucketVersioning", p, Bucket=name))
        if p.get("BucketEncryption"):
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=bucket_encryption(p["BucketEncryption"]))
        if p.get("CorsConfiguration"):
            s3.put_bucket_cors(Bucket=name, CORSConfiguration=cors_configuration(p["CorsConfiguration"]))
        if p.get("LifecycleConfiguration"):
            lifecycle = p["LifecycleConfiguration"]
            # TransitionDefaultMinimumObjectSize has the API's name; the rules do not have the API's shape.
            rules = lifecycle_configuration(lifecycle)
            s3.put_bucket_lifecycle_configuration(
                **api_request(s3, "PutBucketLifecycleConfiguration", lifecycle, Bucket=name, LifecycleConfiguration=rules)
            )
        if p.get("Tags"):
            tags = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in p["Tags"]]
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
        if p.get("NotificationConfiguration"):
            # moto then delivers ObjectCreated/ObjectRemoved events to the functions, queues and topics named
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration=notification_configuration(p["NotificationConfiguration"])
            )
        ignored = sorted(set(p) - _BUCKET_PROPERTIES)
        if ignored:
            LOG.warning("%s (AWS::S3::Bucket): not applied offline: %s", logical_id, ", ".join(ignored))
        return {
            "Ref": name,
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
            "DualStackDomainName": f"{name}.s3.dualstack.{REGION}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{REGION}.amazonaws.com",
        }

    def _log_group(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("LogGroupName"))
        self.client("logs").create_log_group(logGroupName=name)
        return {"Ref": name, "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*"}

    def _subscription_filter(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("FilterName"))
        self.logs.subscribe(name, p["LogGroupName"], p.get("FilterPattern", ""), p["DestinationArn"])
        return {"Ref": name}

    # ------------------------------------------------------------------ monitoring
    def _alarm(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        """Stored as CloudWatch stores it (offline, no metric ever breaches it): an operator can list it."""
        name = self._name(logical_id, p.get("AlarmName"))
        request = {key: value for key, value in p.items() if key != "AlarmName"}
        self.client("cloudwatch").put_metric_alarm(AlarmName=name, **request)
        return {"Ref": name, "Arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{name}"}

    def _dashboard(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("DashboardName"))
        self.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=p["DashboardBody"])
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
        settings = {  # CloudFormation's PascalCase, the API's camelCase
            api: _camel_keys(p[property])
            for property, api in (
                ("LoggingConfiguration", "loggingConfiguration"),
                ("TracingConfiguration", "tracingConfiguration"),
            )
            if property in p
        }
        arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=text, roleArn=LOCAL_ROLE_ARN, type=p.get("StateMachineType", "STANDARD"), **settings
        )["stateMachineArn"]
        return {"Ref": arn, "Arn": arn, "Name": name}

    # ------------------------------------------------------------------ custom resources
    def _custom_resource(self, logical_id: str, p: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
        """A Create request to the ServiceToken's function, as CloudFormation sends it (ResourceProperties with
        every scalar as a string), then the response the function PUT to the ResponseURL."""
        resource_type = resource["Type"]
        label = f"{logical_id} ({resource_type})"
        token = p.get("ServiceToken")
        if not isinstance(token, str) or not token:
            raise ValueError(f"{label}: a custom resource needs a ServiceToken")
        if self.lambdas.resolve(token) is None:
            raise ValueError(
                f"{label}: ServiceToken {token} is not a function of the local runtime (SNS-backed custom resources do not run)"
            )
        timeout = min(service_timeout(p.get("ServiceTimeout"), label), self.custom_resource_timeout)
        stack_id = self.resolver.pseudo()["AWS::StackId"]
        request_id = str(uuid.uuid4())
        key = f"{stack_id}|{logical_id}|{request_id}"  # as CloudFormation names its response objects
        event = {
            "RequestType": "Create",
            "ServiceToken": token,
            "ResponseURL": self._response_url(key),
            "StackId": stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": cloudformation_strings(p),
        }
        body = self._await_response(label, token, event, key, timeout)
        attributes = custom_resource_attributes(label, request_id, body)
        LOG.debug("%s: created by %s, physical id %s", label, token, attributes["Ref"])
        return attributes

    def _response_url(self, key: str) -> str:
        """A presigned PUT URL (Signature Version 4, as CloudFormation's) for `key` in the responses bucket, on the
        endpoint the runtime's clients use: the one every function's AWS_ENDPOINT_URL names."""
        if self._response_presigner is None:
            import boto3
            from botocore.config import Config

            from tenantry_local.api_calls import INTERNAL_ACCESS_KEY

            s3 = self.client("s3")
            with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):  # a second stack in the same runtime
                s3.create_bucket(Bucket=CUSTOM_RESOURCE_RESPONSES_BUCKET)
            self._response_presigner = boto3.client(
                "s3",
                endpoint_url=s3.meta.endpoint_url,
                region_name=REGION,
                aws_access_key_id=INTERNAL_ACCESS_KEY,
                aws_secret_access_key="local",  # noqa: S106 - the runtime's own secret
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
            )
        return str(
            self._response_presigner.generate_presigned_url(
                "put_object", Params={"Bucket": CUSTOM_RESOURCE_RESPONSES_BUCKET, "Key": key}, ExpiresIn=RESPONSE_URL_SECONDS
            )
        )

    def _await_response(self, label: str, token: str, event: dict[str, Any], key: str, timeout: float) -> bytes:
        """The response object's body. The function is invoked as an asynchronous invocation is (retried twice when
        it fails); CloudFormation then waits out ServiceTimeout for a response. Offline nothing else could still
        answer once every attempt failed without responding, so that fails at once, with the function's error."""
        deadline = time.monotonic() + timeout
        errors: list[str] = []
        for _ in range(CUSTOM_RESOURCE_ATTEMPTS):
            result = self.lambdas.invoke(token, event)
            body = self._response_object(key)
            if body is not None:
                return body
            if result.ok:
                break
            errors.append(_function_error(result.payload))
            LOG.warning("%s: %s failed without responding: %s", label, token, errors[-1])
        else:
            raise CustomResourceFailed(
                f"{label}: the function failed {len(errors)} times without sending a response (last: {errors[-1]})"
            )
        while time.monotonic() < deadline:  # the function returned without responding: something else may yet
            time.sleep(0.1)
            body = self._response_object(key)
            if body is not None:
                return body
        raise CustomResourceFailed(
            f"{label}: CloudFormation did not receive a response from your Custom Resource within {timeout:g} seconds "
            f"(the function {token} returned without PUTting one to the ResponseURL)"
        )

    def _response_object(self, key: str) -> bytes | None:
        s3 = self.client("s3")
        try:
            body = s3.get_object(Bucket=CUSTOM_RESOURCE_RESPONSES_BUCKET, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        s3.delete_object(Bucket=CUSTOM_RESOURCE_RESPONSES_BUCKET, Key=key)
        return bytes(body)


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


def is_custom_resource(resource_type: str) -> bool:
    return resource_type == "AWS::CloudFormation::CustomResource" or resource_type.startswith("Custom::")


def cloudformation_strings(value: Any) -> Any:
    """Properties as CloudFormation sends them to a custom resource: every number and boolean becomes a string
    ("42", "true"), in lists and objects too."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [cloudformation_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: cloudformation_strings(v) for k, v in value.items()}
    return value


def _function_error(payload: Any) -> str:
    error = payload if isinstance(payload, dict) else {}
    return f"{error.get('errorType')}: {error.get('errorMessage')}"


def service_timeout(value: Any, label: str) -> int:
    """A custom resource's ServiceTimeout: whole seconds from 1 to 3600, an hour when not given."""
    if value is None:
        return DEFAULT_SERVICE_TIMEOUT_SECONDS
    try:
        seconds = int(str(value))
    except ValueError:
        seconds = 0
    if not 1 <= seconds <= DEFAULT_SERVICE_TIMEOUT_SECONDS:
        raise ValueError(f"{label}: ServiceTimeout must be a whole number of seconds from 1 to 3600, not {value!r}")
    return seconds


def custom_resource_attributes(label: str, request_id: str, body: bytes) -> dict[str, Any]:
    """Ref (the PhysicalResourceId) and each key of Data, from a response CloudFormation accepts as SUCCESS; else
    CustomResourceFailed with what CloudFormation reports."""
    if len(body) > MAX_RESPONSE_BYTES:
        raise CustomResourceFailed(f"{label}: Response object is too long ({len(body)} bytes; at most {MAX_RESPONSE_BYTES})")
    try:
        response = json.loads(body)
    except ValueError:
        response = None
    if not isinstance(response, dict):
        raise CustomResourceFailed(f"{label}: the response is not a JSON object: {body[:200]!r}")
    status = response.get("Status")
    if status == "FAILED":
        raise CustomResourceFailed(
            f"{label}: Received response status [FAILED] from custom resource. "
            f"Message returned: {response.get('Reason', '')} (RequestId: {request_id})"
        )
    if status != "SUCCESS":
        raise CustomResourceFailed(f"{label}: the response's Status is {status!r}: it must be SUCCESS or FAILED")
    physical_id = response.get("PhysicalResourceId")
    if not isinstance(physical_id, str) or not physical_id or len(physical_id.encode()) > MAX_PHYSICAL_ID_BYTES:
        raise CustomResourceFailed(f"{label}: Invalid PhysicalResourceId {physical_id!r} (a non-empty string of at most 1 KB)")
    data = response.get("Data") or {}
    if not isinstance(data, dict):
        raise CustomResourceFailed(f"{label}: the response's Data is not an object")
    return {**data, "Ref": physical_id}


# ---------------------------------------------------------------------- S3 buckets: CloudFormation's shapes, the API's
_GENERATED_NAME_INVALID = re.compile(r"[^a-z0-9-]+")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")


def bucket_name(stack_name: str, logical_id: str) -> str:
    """The name of a bucket the template does not name: `<stack>-<logicalid>`, lower-cased, of letters, digits and
    hyphens, at most 63 characters (CloudFormation also appends a random suffix; the runtime's names are stable)."""
    name = re.sub("-{2,}", "-", _GENERATED_NAME_INVALID.sub("-", f"{stack_name}-{logical_id}".lower()))[:63].strip("-")
    return name if len(name) >= 3 else f"{name}-bucket".lstrip("-")


def valid_bucket_name(name: str) -> bool:
    """S3's rules for a general purpose bucket's name."""
    return (
        _BUCKET_NAME.fullmatch(name) is not None
        and ".." not in name
        and ".-" not in name
        and "-." not in name
        and _IP_ADDRESS.fullmatch(name) is None
        and not name.startswith(("xn--", "sthree-"))
        and not name.endswith(("-s3alias", "--ol-s3"))
    )


def _boolean(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def bucket_encryption(encryption: dict[str, Any]) -> dict[str, Any]:
    """BucketEncryption as PutBucketEncryption's ServerSideEncryptionConfiguration."""
    rules = []
    for rule in encryption.get("ServerSideEncryptionConfiguration") or []:
        api_rule: dict[str, Any] = {}
        if rule.get("ServerSideEncryptionByDefault"):
            api_rule["ApplyServerSideEncryptionByDefault"] = rule["ServerSideEncryptionByDefault"]  # SSEAlgorithm, KMSMasterKeyID
        if "BucketKeyEnabled" in rule:
            api_rule["BucketKeyEnabled"] = _boolean(rule["BucketKeyEnabled"])
        rules.append(api_rule)
    return {"Rules": rules}


_CORS_NAMES = {"Id": "ID", "ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds"}
_CORS_LISTS = frozenset({"AllowedHeaders", "AllowedMethods", "AllowedOrigins", "ExposedHeaders"})


def notification_configuration(notifications: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's NotificationConfiguration in the API's shape (PutBucketNotificationConfiguration)."""

    def key_filter(config: dict[str, Any]) -> dict[str, Any]:
        rules = ((config.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
        return {"Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}} if rules else {}

    shapes = (
        ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
        ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
    )
    result: dict[str, Any] = {}
    for cfn_name, api_name, target, api_target in shapes:
        configs = notifications.get(cfn_name) or []
        if configs:
            result[api_name] = [{api_target: c[target], "Events": [c["Event"]], **key_filter(c)} for c in configs]
    if "EventBridgeConfiguration" in notifications:
        result["EventBridgeConfiguration"] = {}
    return result


def cors_configuration(cors: dict[str, Any]) -> dict[str, Any]:
    """CorsConfiguration as PutBucketCors's CORSConfiguration."""
    return {
        "CORSRules": [{_CORS_NAMES.get(k, k): _cors_value(k, v) for k, v in rule.items()} for rule in cors.get("CorsRules") or []]
    }


def _cors_value(name: str, value: Any) -> Any:
    if name == "MaxAge":
        return int(value)
    if name in _CORS_LISTS and isinstance(value, str):
        # `!Ref` of a CommaDelimitedList parameter: the resolver keeps a parameter's text, CloudFormation gives a list.
        return [item.strip() for item in value.split(",")]
    return value


def lifecycle_configuration(lifecycle: dict[str, Any]) -> dict[str, Any]:
    """LifecycleConfiguration's rules as PutBucketLifecycleConfiguration's LifecycleConfiguration."""
    return {"Rules": [_lifecycle_rule(rule) for rule in lifecycle.get("Rules") or []]}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    api: dict[str, Any] = {"Status": rule["Status"], "Filter": _lifecycle_filter(rule)}
    if rule.get("Id"):
        api["ID"] = rule["Id"]
    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if "ExpirationDate" in rule:
        expiration["Date"] = rule["ExpirationDate"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = _boolean(rule["ExpiredObjectDeleteMarker"])
    if expiration:
        api["Expiration"] = expiration
    transitions = [*(rule.get("Transitions") or []), *([rule["Transition"]] if rule.get("Transition") else [])]
    if transitions:
        api["Transitions"] = [
            {
                "StorageClass": t["StorageClass"],
                **({"Days": int(t["TransitionInDays"])} if "TransitionInDays" in t else {}),
                **({"Date": t["TransitionDate"]} if "TransitionDate" in t else {}),
            }
            for t in transitions
        ]
    noncurrent = [
        *(rule.get("NoncurrentVersionTransitions") or []),
        *([rule["NoncurrentVersionTransition"]] if rule.get("NoncurrentVersionTransition") else []),
    ]
    if noncurrent:
        api["NoncurrentVersionTransitions"] = [
            {
                "StorageClass": t["StorageClass"],
                "NoncurrentDays": int(t["TransitionInDays"]),
                **({"NewerNoncurrentVersions": int(t["NewerNoncurrentVersions"])} if "NewerNoncurrentVersions" in t else {}),
            }
            for t in noncurrent
        ]
    if rule.get("NoncurrentVersionExpiration"):
        api["NoncurrentVersionExpiration"] = {k: int(v) for k, v in rule["NoncurrentVersionExpiration"].items()}
    elif "NoncurrentVersionExpirationInDays" in rule:
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    if rule.get("AbortIncompleteMultipartUpload"):
        api["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }
    return api


def _lifecycle_filter(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule's Prefix, TagFilters and object sizes as one Filter (several conditions: an And)."""
    conditions: dict[str, Any] = {}
    if "Prefix" in rule:
        conditions["Prefix"] = rule["Prefix"]
    for size in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        if size in rule:
            conditions[size] = int(rule[size])
    tags = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in rule.get("TagFilters") or []]
    if len(conditions) + len(tags) > 1:
        return {"And": {**conditions, **({"Tags": tags} if tags else {})}}
    if tags:
        return {"Tag": tags[0]}
    return conditions or {"Prefix": ""}


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "The local runtime runs this function from its CodeUri, not from this archive.")
    return buffer.getvalue()


def _camel_keys(value: Any) -> Any:
    """{"Level": ..., "Destinations": [{"CloudWatchLogsLogGroup": ...}]} -> {"level": ..., "destinations": [...]}."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel_keys(item) for item in value]
    return value
