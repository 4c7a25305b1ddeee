"""SAM to plain CloudFormation, by AWS's own SAM translator (aws-sam-translator, the library behind
`sam validate` and CloudFormation's AWS::Serverless transform): Globals, implicit roles, event sources
(rules, schedules, stream mappings), policy templates, all expanded exactly as they are on deploy.

Local artifact paths (CodeUri, DefinitionUri, ContentUri) become S3 locations in a bucket that only
names them (as `sam package` would upload them); `local_path` turns such a location back into the path.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from tenantry_local.template import REGION

ARTIFACTS_BUCKET = "tenantry-local-artifacts"
_ARTIFACT_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def to_cloudformation(template: dict[str, Any], parameters: dict[str, Any], cache_dir: Path | None = None) -> dict[str, Any]:
    """The CloudFormation the AWS::Serverless transform makes of `template`. With `cache_dir`, a translation
    is kept under the hash of everything it depends on (template, parameters, translator version), so that a
    runtime started on an unchanged template skips importing the translator (a quarter of a second)."""
    if cache_dir is None:
        return _translate(template, parameters)
    from importlib.metadata import version

    key = json.dumps([template, parameters, version("aws-sam-translator")], sort_keys=True, default=str)
    cached = cache_dir / f"cloudformation-{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"
    if cached.is_file():
        return dict(json.loads(cached.read_text()))
    translated = _translate(template, parameters)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(translated))
    partial.replace(cached)  # whole or not at all, if two runtimes start at once
    return translated


def _translate(template: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
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
    return dict(translator.translate(sam, parameter_values=dict(parameters), get_managed_policy_map=lambda: {}))


def _artifact(path: str) -> str:
    return path if path.startswith("s3://") else f"s3://{ARTIFACTS_BUCKET}/{path}"


def local_path(location: Any) -> str | None:
    """The project path behind an S3 location the translator wrote ({S3Bucket, S3Key} or {Bucket, Key})."""
    if not isinstance(location, dict):
        return None
    bucket = location.get("S3Bucket", location.get("Bucket"))
    key = location.get("S3Key", location.get("Key"))
    return str(key) if bucket == ARTIFACTS_BUCKET and key is not None else None
