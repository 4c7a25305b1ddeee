"""SAM to plain CloudFormation, by AWS's own SAM translator (aws-sam-translator, the library behind
`sam validate` and CloudFormation's AWS::Serverless transform): Globals, implicit roles, event sources
(rules, schedules, stream mappings), policy templates, all expanded exactly as they are on deploy.

Local artifact paths (CodeUri, DefinitionUri, ContentUri) become S3 locations in a bucket that only
names them (as `sam package` would upload them); `local_path` turns such a location back into the path.
"""

from __future__ import annotations

import copy
from typing import Any

from tenantry_local.template import REGION

ARTIFACTS_BUCKET = "tenantry-local-artifacts"
_ARTIFACT_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def to_cloudformation(template: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    sam = copy.deepcopy(template)
    function_globals = sam.get("Globals", {}).get("Function", {})
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = _artifact(function_globals["CodeUri"])
    for resource in sam.get("Resources", {}).values():
        key = _ARTIFACT_PROPERTIES.get(resource.get("Type"))
        properties = resource.get("Properties") or {}
        if key and isinstance(properties.get(key), str):
            properties[key] = _artifact(properties[key])
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), boto_session=boto3.Session(region_name=REGION))
    # Managed policies are not evaluated offline: no IAM lookup of their ARNs.
    return translator.translate(sam, parameter_values=dict(parameters), get_managed_policy_map=lambda: {})  # type: ignore[no-any-return]


def _artifact(path: str) -> str:
    return path if path.startswith("s3://") else f"s3://{ARTIFACTS_BUCKET}/{path}"


def local_path(location: Any) -> str | None:
    """The project path behind an S3 location the translator wrote ({S3Bucket, S3Key} or {Bucket, Key})."""
    if not isinstance(location, dict):
        return None
    bucket = location.get("S3Bucket", location.get("Bucket"))
    key = location.get("S3Key", location.get("Key"))
    return str(key) if bucket == ARTIFACTS_BUCKET and key is not None else None
