"""Creating a template's resources on the local endpoint, through the AWS APIs, in dependency order.

One creator per resource type; each returns the resource's attributes ("Ref" and its GetAtt names) for
later intrinsics. A type without a creator (IAM roles, Lambda permissions, log groups) is accepted and
only recorded: IAM is not enforced offline, which the static policy tests cover instead.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantry_local.lambdas import FunctionSpec, LambdaService
from tenantry_local.logs import LogRouter
from tenantry_local.streams import StreamMapping
from tenantry_local.template import ACCOUNT_ID, REGION, Resolver, apply_globals, creation_order

LOG = logging.getLogger("tenantry_local.provisioner")
LOCAL_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/local-runtime"  # every function and state machine runs as it offline
_SAM_IMPLICIT_ROLES = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")

_USER_POOL_API_PARAMS = {
    "Policies",
    "DeletionProtection",
    "LambdaConfig",
    "AutoVerifiedAttributes",
    "AliasAttributes",
    "UsernameAttributes",
    "SmsVerificationMessage",
    "EmailVerificationMessage",
    "EmailVerificationSubject",
    "VerificationMessageTemplate",
    "SmsAuthenticationMessage",
    "DeviceConfiguration",
    "EmailConfiguration",
    "SmsConfiguration",
    "UserPoolTags",
    "AdminCreateUserConfig",
    "Schema",
    "UserPoolAddOns",
    "UsernameConfiguration",
    "AccountRecoverySetting",
    "UserPoolTier",
    "UserAttributeUpdateSettings",
}
_CLIENT_API_PARAMS = {
    "ClientName",
    "GenerateSecret",
    "RefreshTokenValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "TokenValidityUnits",
    "ReadAttributes",
    "WriteAttributes",
    "ExplicitAuthFlows",
    "SupportedIdentityProviders",
    "CallbackURLs",
    "LogoutURLs",
    "DefaultRedirectURI",
    "AllowedOAuthFlows",
    "AllowedOAuthScopes",
    "AllowedOAuthFlowsUserPoolClient",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "EnablePropagateAdditionalUserContextData",
    "AuthSessionValidity",
}


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
    ):
        self.project_dir = project_dir
        self.stack_name = stack_name
        self.resolver = resolver
        self.client = clients
        self.lambdas = lambdas
        self.logs = logs
        self.result = Provisioned()
        self._creators: dict[str, Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::Rule": self._rule,
            "AWS::Cognito::UserPool": self._user_pool,
            "AWS::Cognito::UserPoolClient": self._user_pool_client,
            "AWS::Cognito::UserPoolGroup": self._user_pool_group,
            "AWS::Serverless::LayerVersion": self._layer,
            "AWS::Serverless::Function": self._function,
            "AWS::Serverless::StateMachine": self._state_machine,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Logs::SubscriptionFilter": self._subscription_filter,
        }

    def provision(self, template: dict[str, Any]) -> Provisioned:
        resources = apply_globals(template)
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
            if resource["Type"] in _SAM_IMPLICIT_ROLES and "Role" not in resource.get("Properties", {}):
                # SAM generates <LogicalId>Role; offline every function and state machine uses the local role.
                self.resolver.attributes[f"{logical_id}Role"] = {"Ref": LOCAL_ROLE_ARN.rsplit("/", 1)[-1], "Arn": LOCAL_ROLE_ARN}
        self.result.outputs = {
            name: self.resolver.resolve(output["Value"]) for name, output in template.get("Outputs", {}).items()
        }
        return self.result

    def _create_local_role(self) -> None:
        """One role that functions and state machines name: moto checks that it exists; IAM policies are
        not evaluated offline (tests/test_template_static.py checks them against every call instead)."""
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
        self.client("iam").create_role(RoleName=LOCAL_ROLE_ARN.rsplit("/", 1)[-1], AssumeRolePolicyDocument=json.dumps(trust))

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

    def _put_rule(
        self,
        name: str,
        bus: str | None,
        pattern: Any,
        schedule: str | None,
        targets: list[dict[str, Any]],
        state: str = "ENABLED",
    ) -> str:
        events = self.client("events")
        request: dict[str, Any] = {"Name": name[:64], "State": state}
        if bus:
            request["EventBusName"] = bus
        if pattern:
            request["EventPattern"] = json.dumps(pattern)
        if schedule:
            request["ScheduleExpression"] = schedule
        arn = events.put_rule(**request)["RuleArn"]
        if targets:
            events.put_targets(Rule=name[:64], EventBusName=bus or "default", Targets=targets)
        return arn

    def _rule(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("Name"))
        bus = p.get("EventBusName")
        bus = bus.rsplit("/", 1)[-1] if bus else None
        arn = self._put_rule(
            name, bus, p.get("EventPattern"), p.get("ScheduleExpression"), p.get("Targets", []), p.get("State", "ENABLED")
        )
        return {"Ref": name, "Arn": arn}

    def _log_group(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("LogGroupName"))
        self.client("logs").create_log_group(logGroupName=name)
        return {"Ref": name, "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*"}

    def _subscription_filter(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("FilterName"))
        self.logs.subscribe(name, p["LogGroupName"], p.get("FilterPattern", ""), p["DestinationArn"])
        return {"Ref": name}

    # ------------------------------------------------------------------ Cognito
    def _user_pool(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        cognito = self.client("cognito-idp")
        request = {k: v for k, v in p.items() if k in _USER_POOL_API_PARAMS}
        request["PoolName"] = self._name(logical_id, p.get("UserPoolName"))
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
        request = {k: v for k, v in p.items() if k in _CLIENT_API_PARAMS}
        request["ClientName"] = p.get("ClientName") or self._name(logical_id)
        client = self.client("cognito-idp").create_user_pool_client(UserPoolId=p["UserPoolId"], **request)["UserPoolClient"]
        return {
            "Ref": client["ClientId"],
            "ClientId": client["ClientId"],
            "Name": client["ClientName"],
            "ClientSecret": client.get("ClientSecret", ""),
        }

    def _user_pool_group(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        request = {k: v for k, v in p.items() if k in ("Description", "Precedence", "RoleArn")}
        name = self._name(logical_id, p.get("GroupName"))
        self.client("cognito-idp").create_group(GroupName=name, UserPoolId=p["UserPoolId"], **request)
        return {"Ref": name}

    # ------------------------------------------------------------------ compute
    def _layer(self, logical_id: str, p: dict[str, Any], _: dict[str, Any]) -> dict[str, Any]:
        # The layer's package is installed in the runtime's virtual environment (pip install -e .), which
        # every worker uses: the same code the layer ships, without a build step.
        name = p.get("LayerName") or self._name(logical_id)
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{name}:1"
        return {"Ref": arn, "Arn": arn}

    def _function(self, logical_id: str, p: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("FunctionName"))
        spec = FunctionSpec(
            name=name,
            code_dir=(self.project_dir / p["CodeUri"]).resolve(),
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
        attrs = {"Ref": name, "Arn": spec.arn}
        self.resolver.attributes[logical_id] = attrs  # events may refer to the function itself
        for event_name, event in (resource.get("Properties", {}).get("Events") or {}).items():
            self._function_event(logical_id, spec, event_name, event["Type"], self.resolver.resolve(event.get("Properties", {})))
        return attrs

    def _function_event(self, logical_id: str, spec: FunctionSpec, event_name: str, kind: str, p: dict[str, Any]) -> None:
        if self._rule_event(logical_id, event_name, kind, p, {"Arn": spec.arn}, "LambdaTarget"):
            return
        if kind == "DynamoDB":
            destination = ((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            self.result.stream_mappings.append(
                StreamMapping(
                    function_name=spec.name,
                    stream_arn=p["Stream"],
                    batch_size=int(p.get("BatchSize", 100)),
                    batching_window_seconds=float(p.get("MaximumBatchingWindowInSeconds", 0)),
                    maximum_retry_attempts=int(p.get("MaximumRetryAttempts", -1)),
                    bisect_on_error=bool(p.get("BisectBatchOnFunctionError", False)),
                    report_batch_item_failures="ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or []),
                    on_failure_arn=destination,
                    starting_position=p.get("StartingPosition", "LATEST"),
                )
            )
        else:
            LOG.warning("%s: event source %s (%s) is not driven by the local runtime", logical_id, event_name, kind)

    def _rule_event(
        self, logical_id: str, event_name: str, kind: str, p: dict[str, Any], target: dict[str, Any], target_suffix: str
    ) -> bool:
        """SAM's EventBridgeRule and Schedule events (of a function or a state machine) as a rule and its
        target, named as SAM names them; False for any other kind of event."""
        if kind in ("EventBridgeRule", "CloudWatchEvent"):
            bus, pattern, schedule = p.get("EventBusName"), p.get("Pattern"), None
            state = p.get("State", "ENABLED")
        elif kind in ("Schedule", "ScheduleV2"):
            bus, pattern, schedule = None, None, p.get("Schedule") or p.get("ScheduleExpression")
            state = "ENABLED" if p.get("Enabled", True) and p.get("State", "ENABLED") == "ENABLED" else "DISABLED"
        else:
            return False
        target_id = (p.get("Target") or {}).get("Id", f"{logical_id}{event_name}{target_suffix}")[:64]
        self._put_rule(
            f"{self.stack_name}-{logical_id}{event_name}",
            bus,
            pattern,
            schedule,
            [{"Id": target_id, **target, **_target_options(p)}],
            state,
        )
        return True

    def _state_machine(self, logical_id: str, p: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
        name = self._name(logical_id, p.get("Name"))
        text = (
            json.dumps(definition_document(self.project_dir / p["DefinitionUri"]))
            if "DefinitionUri" in p
            else json.dumps(p["Definition"])
        )
        definition = substitute(text, p.get("DefinitionSubstitutions") or {})
        arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=LOCAL_ROLE_ARN, type=p.get("Type", "STANDARD")
        )["stateMachineArn"]
        attrs = {"Ref": arn, "Arn": arn, "Name": name}
        self.resolver.attributes[logical_id] = attrs
        for event_name, event in (resource.get("Properties", {}).get("Events") or {}).items():
            ep = self.resolver.resolve(event.get("Properties", {}))
            target = {"Arn": arn, "RoleArn": LOCAL_ROLE_ARN}
            if not self._rule_event(logical_id, event_name, event["Type"], ep, target, "StepFunctionsTarget"):
                LOG.warning("%s: event source %s (%s) is not driven by the local runtime", logical_id, event_name, event["Type"])
        return attrs


def _target_options(p: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key in ("Input", "InputPath", "InputTransformer", "RetryPolicy"):
        if key in p:
            options[key] = p[key]
    dead_letter = p.get("DeadLetterConfig") or {}
    if dead_letter.get("Arn"):
        options["DeadLetterConfig"] = {"Arn": dead_letter["Arn"]}
    return options


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
    """A DefinitionUri file as SAM reads it: JSON or YAML (YAML anchors let a definition name a retry policy once)."""
    import yaml

    return yaml.safe_load(path.read_text())


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "The local runtime runs this function from its CodeUri, not from this archive.")
    return buffer.getvalue()
