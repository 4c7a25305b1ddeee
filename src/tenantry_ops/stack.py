"""Which Tenantry the operator means: the local runtime (its endpoint tells its stack's outputs at
/_tenantry/health), or a deployed stack (CloudFormation's outputs, with an AWS profile and region)."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from typing import Any

LOCAL_ENDPOINT = "http://127.0.0.1:4566"
STATE_MACHINE_OUTPUT = "StateMachineArn"


class NotFound(LookupError):
    """What the operator asked for does not exist (exit code 1)."""


class StackNotFound(Exception):
    """No local runtime answers at the endpoint, or the deployed stack cannot be read (exit code 3)."""


@dataclass
class Stack:
    """A stack's outputs and boto3 clients for its account and region (or the local endpoint)."""

    outputs: dict[str, str]
    region: str
    endpoint_url: str | None = None
    profile: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def local(cls, endpoint_url: str = LOCAL_ENDPOINT) -> Stack:
        try:
            with urllib.request.urlopen(f"{endpoint_url}/_tenantry/health", timeout=10) as answer:  # noqa: S310 - an operator's URL
                health = json.loads(answer.read())
            return cls(dict(health["outputs"]), health["region"], endpoint_url=endpoint_url)
        except OSError as error:
            raise StackNotFound(f"no local runtime answers at {endpoint_url} (start it with `make local`): {error}") from error
        except (ValueError, LookupError, TypeError) as error:  # something else answers there
            raise StackNotFound(f"what answers at {endpoint_url} is not Tenantry's local runtime: {error!r}") from error

    @classmethod
    def deployed(cls, stack_name: str, profile: str | None, region: str | None) -> Stack:
        import boto3

        session = boto3.Session(profile_name=profile, region_name=region)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            described = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
        except ClientError as error:
            missing = error.response.get("Error", {}).get("Code") == "ValidationError"  # (CloudFormation's "does not exist")
            raise StackNotFound(f"no stack {stack_name}" if missing else f"cannot read stack {stack_name}: {error}") from error
        except BotoCoreError as error:  # no credentials, no region, no network
            raise StackNotFound(f"cannot read stack {stack_name}: {error}") from error
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        return cls(outputs, session.region_name or "us-east-1", profile=profile)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            session = boto3.Session(profile_name=self.profile, region_name=self.region)
            credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"} if self.endpoint_url else {}
            self._clients[service] = session.client(service, endpoint_url=self.endpoint_url, **credentials)  # type: ignore[call-overload]
        return self._clients[service]

    @property
    def workflows(self) -> dict[str, str]:
        """Workflow name -> state machine ARN (from the `<Workflow>StateMachineArn` outputs)."""
        return {
            name.removesuffix(STATE_MACHINE_OUTPUT): arn
            for name, arn in sorted(self.outputs.items())
            if name.endswith(STATE_MACHINE_OUTPUT)
        }

    def output(self, name: str) -> str:
        if name not in self.outputs:
            raise StackNotFound(f"the stack has no output {name} (deployed before it existed? `sam deploy` again)")
        return self.outputs[name]
