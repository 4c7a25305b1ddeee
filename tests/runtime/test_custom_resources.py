"""S3 buckets and Lambda-backed custom resources, provisioned by the local runtime as CloudFormation makes them:
small stacks (tests/fixtures/custom_resources) beside Tenantry's, and the Custom::BucketSeed provider
(functions/seed_bucket) seeding a bucket the way the deployed stack does."""

from __future__ import annotations

import copy
import json
import re
import uuid

import pytest

from helpers import ROOT
from tenantry.badges import CATALOGUE_KEY, BadgeCatalogue
from tenantry_local.provisioner import (
    CUSTOM_RESOURCE_RESPONSES_BUCKET,
    CustomResourceFailed,
    bucket_name,
    cloudformation_strings,
    custom_resource_attributes,
    lifecycle_configuration,
    valid_bucket_name,
)
from tenantry_local.template import load_template

FIXTURE = ROOT / "tests" / "fixtures" / "custom_resources"
STACK = "test-custom"
ACCOUNT_ID = "123456789012"


def provision(runtime, stack_name, template, **options):
    from tenantry_local.provisioner import Provisioner
    from tenantry_local.template import Resolver, parameter_values

    resolver = Resolver(stack_name, parameter_values(template))
    return Provisioner(
        FIXTURE, stack_name, resolver, runtime.client, runtime.lambdas, runtime.logs, runtime.http_apis, **options
    ).provision(template)


def provider_stack(**custom_properties):
    """A stack of the provider function and one custom resource with these properties."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "ProviderFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "functions/provider", "Handler": "app.handler", "Runtime": "python3.11", "Timeout": 10},
            },
            "Thing": {
                "Type": "Custom::Thing",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["ProviderFunction", "Arn"]}, **custom_properties},
            },
        },
    }


@pytest.fixture(scope="module")
def stack(runtime):
    return provision(runtime, STACK, load_template(FIXTURE / "template.yaml"))


@pytest.fixture(scope="module")
def s3(runtime):
    return runtime.client("s3")


def recorded_request(s3, stack, logical_id):
    bucket = stack.attributes["Catalogue"]["Ref"]
    return json.loads(s3.get_object(Bucket=bucket, Key=f"requests/{logical_id}.json")["Body"].read())


# ------------------------------------------------------------------------------------------- buckets
def test_a_bucket_gets_a_valid_name_of_its_stack_and_logical_id_and_its_attributes(stack, s3):
    name = "test-custom-catalogue"
    assert stack.attributes["Catalogue"] == {
        "Ref": name,
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.us-east-1.amazonaws.com",
        "DualStackDomainName": f"{name}.s3.dualstack.us-east-1.amazonaws.com",
        "WebsiteURL": f"http://{name}.s3-website-us-east-1.amazonaws.com",
    }
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_the_bucket_has_its_public_access_block_encryption_and_tags(stack, s3):
    name = stack.attributes["Catalogue"]["Ref"]
    assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"] == [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}
    ]
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "purpose", "Value": "runtime-tests"}]


def test_the_bucket_has_its_cors_rules_and_lifecycle_rules_in_the_apis_shapes(stack, s3):
    name = stack.attributes["Catalogue"]["Ref"]
    assert s3.get_bucket_cors(Bucket=name)["CORSRules"] == [
        {
            "ID": "browsers",
            "AllowedMethods": ["GET", "PUT"],
            "AllowedOrigins": ["https://app.example.com"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        }
    ]
    rules = {rule["ID"]: rule for rule in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
    assert rules["scratch"]["Filter"] == {"Prefix": "scratch/"}
    assert rules["scratch"]["Expiration"] == {"Days": 7}  # from a string parameter
    assert rules["scratch"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rules["archive"]["Filter"] == {"And": {"Prefix": "archive/", "Tags": [{"Key": "keep", "Value": "yes"}]}}
    assert rules["archive"]["Transitions"] == [{"Days": 30, "StorageClass": "GLACIER"}]


def test_cloudformations_lifecycle_rules_become_the_apis():
    rules = lifecycle_configuration(
        {
            "Rules": [
                {"Status": "Enabled", "ExpirationInDays": "3"},
                {"Status": "Enabled", "TagFilters": [{"Key": "k", "Value": "v"}], "NoncurrentVersionExpirationInDays": 5},
                {
                    "Id": "sized",
                    "Status": "Disabled",
                    "Prefix": "p/",
                    "ObjectSizeGreaterThan": "100",
                    "ExpiredObjectDeleteMarker": "true",
                    "NoncurrentVersionTransitions": [{"StorageClass": "GLACIER", "TransitionInDays": 10}],
                    "Transition": {"StorageClass": "STANDARD_IA", "TransitionDate": "2030-01-01T00:00:00Z"},
                },
            ]
        }
    )["Rules"]
    assert rules[0] == {"Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 3}}
    assert rules[1] == {
        "Status": "Enabled",
        "Filter": {"Tag": {"Key": "k", "Value": "v"}},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 5},
    }
    assert rules[2] == {
        "ID": "sized",
        "Status": "Disabled",
        "Filter": {"And": {"Prefix": "p/", "ObjectSizeGreaterThan": 100}},
        "Expiration": {"ExpiredObjectDeleteMarker": True},
        "Transitions": [{"StorageClass": "STANDARD_IA", "Date": "2030-01-01T00:00:00Z"}],
        "NoncurrentVersionTransitions": [{"StorageClass": "GLACIER", "NoncurrentDays": 10}],
    }


@pytest.mark.parametrize(
    ("stack_name", "logical_id", "expected"),
    [
        ("tenantry", "BadgeBucket", "tenantry-badgebucket"),
        ("My--Stack", "Bucket1", "my-stack-bucket1"),
        ("s" * 60, "LongLogicalId", "s" * 60 + "-lo"),
    ],
)
def test_a_generated_bucket_name_is_valid(stack_name, logical_id, expected):
    assert bucket_name(stack_name, logical_id) == expected
    assert valid_bucket_name(expected)


@pytest.mark.parametrize("name", ["Bad_Name", "ab", "a..b", "-ab", "ab-", "192.168.0.1", "xn--ab", "a" * 64, "a.-b"])
def test_a_bucket_name_s3_refuses_is_refused(runtime, name):
    assert not valid_bucket_name(name)
    template = {"Resources": {"Named": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}}}}
    with pytest.raises(ValueError, match=r"Named: .* is not a valid bucket name"):
        provision(runtime, "test-bad-bucket", template)


# ------------------------------------------------------------------------------------------- custom resources
def test_the_function_gets_the_create_request_cloudformation_sends(runtime, stack, s3):
    request = recorded_request(s3, stack, "Greeting")
    function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:test-custom-ProviderFunction"
    assert request["RequestType"] == "Create"
    assert request["ServiceToken"] == function_arn
    assert request["StackId"] == f"arn:aws:cloudformation:us-east-1:{ACCOUNT_ID}:stack/test-custom/local"
    assert uuid.UUID(request["RequestId"])
    assert request["LogicalResourceId"] == "Greeting"
    assert request["ResourceType"] == "Custom::Greeting"
    # Every property, the ServiceToken too; numbers and booleans as strings, as CloudFormation sends them.
    assert request["ResourceProperties"] == {
        "ServiceToken": function_arn,
        "Bucket": "test-custom-catalogue",
        "Name": "world",
        "Count": "3",
        "Enabled": "true",
        "Nested": {"List": ["1", "false", "text"]},
    }
    assert "OldResourceProperties" not in request and "PhysicalResourceId" not in request


def test_the_response_url_is_a_presigned_put_on_the_runtimes_endpoint(runtime, stack, s3):
    url = recorded_request(s3, stack, "Greeting")["ResponseURL"]
    assert url.startswith(f"{runtime.endpoint}/{CUSTOM_RESOURCE_RESPONSES_BUCKET}/arn%3Aaws%3Acloudformation%3A")
    assert "%7CGreeting%7C" in url  # <StackId>|<LogicalResourceId>|<RequestId>, as CloudFormation names them
    assert re.search(r"[?&]X-Amz-Algorithm=AWS4-HMAC-SHA256&", url) and "X-Amz-Expires=7200" in url
    # Read and removed: no response object is left behind.
    assert s3.list_objects_v2(Bucket=CUSTOM_RESOURCE_RESPONSES_BUCKET).get("KeyCount") == 0


def test_ref_is_the_physical_resource_id_and_getatt_reads_data(runtime, stack):
    assert stack.attributes["Greeting"] == {"Ref": "greeting-world", "Message": "hello world", "Slug": "world-3"}
    assert stack.attributes["Plain"]["Ref"] == "greeting-plain"
    assert stack.types["Plain"] == "AWS::CloudFormation::CustomResource"
    assert stack.outputs == {"Message": "hello world", "PlainId": "greeting-plain"}
    # A later resource made with a custom resource's attribute.
    groups = runtime.client("logs").describe_log_groups(logGroupNamePrefix="/custom-resources/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/custom-resources/world-3"]


def test_a_failed_response_fails_provisioning_with_its_reason(runtime):
    template = provider_stack(Answer="FAILED", Reason="the widget is broken")
    with pytest.raises(CustomResourceFailed) as failed:
        provision(runtime, "test-custom-failed", template)
    message = str(failed.value)
    assert message.startswith("Thing (Custom::Thing): Received response status [FAILED] from custom resource.")
    assert "Message returned: the widget is broken (RequestId: " in message
    assert runtime.lambdas.invocations["test-custom-failed-ProviderFunction"] == 1  # an answer is not retried


def test_a_function_that_raises_without_answering_is_retried_as_an_asynchronous_invocation(runtime):
    expected = (
        r"Thing \(Custom::Thing\): the function failed 3 times without sending a response \(last: RuntimeError: the provider"
    )
    with pytest.raises(CustomResourceFailed, match=expected):
        provision(runtime, "test-custom-raises", provider_stack(Answer="RAISE"))
    assert runtime.lambdas.invocations["test-custom-raises-ProviderFunction"] == 3


def test_no_response_within_the_service_timeout_fails_provisioning(runtime):
    with pytest.raises(CustomResourceFailed, match=r"did not receive a response from your Custom Resource within 1 seconds"):
        provision(runtime, "test-custom-silent", provider_stack(Answer="NOTHING", ServiceTimeout=1))


def test_a_service_token_that_is_no_function_of_the_runtime_is_refused(runtime):
    template = copy.deepcopy(provider_stack())
    template["Resources"]["Thing"]["Properties"]["ServiceToken"] = f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:provider"
    with pytest.raises(ValueError, match=r"Thing \(Custom::Thing\): ServiceToken arn:aws:sns:.* is not a function"):
        provision(runtime, "test-custom-sns", template)


def test_properties_become_strings_as_cloudformation_sends_them():
    assert cloudformation_strings({"a": 1, "b": 2.5, "c": True, "d": [False, {"e": 0}], "f": "x"}) == {
        "a": "1",
        "b": "2.5",
        "c": "true",
        "d": ["false", {"e": "0"}],
        "f": "x",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "the response is not a JSON object"),
        (json.dumps({"Status": "DONE", "PhysicalResourceId": "p"}).encode(), "the response's Status is 'DONE'"),
        (json.dumps({"Status": "SUCCESS"}).encode(), "Invalid PhysicalResourceId None"),
        (json.dumps({"Status": "SUCCESS", "PhysicalResourceId": ""}).encode(), "Invalid PhysicalResourceId ''"),
        (
            json.dumps({"Status": "SUCCESS", "PhysicalResourceId": "p", "Data": {"x": "y" * 4096}}).encode(),
            "Response object is too long",
        ),
        (json.dumps({"Status": "SUCCESS", "PhysicalResourceId": "p", "Data": ["x"]}).encode(), "Data is not an object"),
    ],
)
def test_a_response_cloudformation_would_refuse_fails(body, message):
    with pytest.raises(CustomResourceFailed, match=re.escape(message)):
        custom_resource_attributes("R (Custom::R)", "request-1", body)


# ------------------------------------------------------------------------------------------- the bucket seed
def test_the_bucket_seed_provider_seeds_a_private_bucket_offline(runtime, s3):
    """The Custom::BucketSeed function as the stack deploys it (functions/seed_bucket), run by the runtime."""
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Badges": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "PublicAccessBlockConfiguration": dict.fromkeys(
                        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
                    ),
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                    },
                },
            },
            "SeedFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "../../../functions/seed_bucket/",
                    "Handler": "app.handler",
                    "Runtime": "python3.11",
                    "Timeout": 30,
                },
            },
            "Catalogue": {
                "Type": "Custom::BucketSeed",
                "Properties": {
                    "ServiceToken": {"Fn::GetAtt": ["SeedFunction", "Arn"]},
                    "Bucket": {"Ref": "Badges"},
                    "Source": "badges",
                    "Version": "1",
                },
            },
        },
    }
    provisioned = provision(runtime, "test-seed", template)
    bucket = provisioned.attributes["Badges"]["Ref"]
    seeded = provisioned.attributes["Catalogue"]
    assert seeded["Ref"] == f"{bucket}/badges"
    source = ROOT / "functions" / "seed_bucket" / "badges"
    files = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    assert seeded["ObjectCount"] == str(len(files))
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == sorted([*files, ".bucket-seed/badges.json"])
    assert s3.head_object(Bucket=bucket, Key=CATALOGUE_KEY)["ContentType"] == "application/json"
    assert s3.head_object(Bucket=bucket, Key="icons/new-member.svg")["ContentType"] == "image/svg+xml"
    assert (
        s3.get_object(Bucket=bucket, Key="icons/new-member.svg")["Body"].read()
        == (source / "icons" / "new-member.svg").read_bytes()
    )
    # The catalogue as the Identity API reads it, and every icon it names is there.
    badges = BadgeCatalogue(bucket, s3).badges()
    assert badges and {badge.icon for badge in badges} <= set(keys)
