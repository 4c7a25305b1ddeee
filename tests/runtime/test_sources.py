"""Who may ask for what on the bus (PRODUCT.md, "Who may ask for what"): the source registry, on the local
runtime. A request from an unregistered source, or outside its grant, ends in its *Failed event with
UNTRUSTED_SOURCE and changes nothing."""

from __future__ import annotations

import pytest

from helpers import onboarding_request, registration_request
from tenantry.sources import REQUEST_TYPES, SourceRegistry

ONBOARDING, REGISTRATION = "TenantOnboardingStateMachineArn", "UserRegistrationStateMachineArn"


@pytest.fixture(scope="module")
def registry(tenantry):
    return SourceRegistry(tenantry.outputs["TableName"], tenantry.ddb)


def a_source(tenantry):
    """A source name no other test uses (grants are cached per source by the functions that read them)."""
    return f"crm.{tenantry.request_id('src')}"


def no_execution(tenantry, machine, name):
    executions = tenantry.sfn.list_executions(stateMachineArn=tenantry.outputs[machine])["executions"]
    return all(e["name"] != name for e in executions)


def refused(outbound, failed_event, request_id):
    [event] = outbound.wait_for(failed_event, requestId=request_id)
    assert event["detail"]["reason"] == "UNTRUSTED_SOURCE", event["detail"]
    return event["detail"]["message"]


def test_an_unregistered_source_is_refused_and_cannot_take_a_request_id(tenantry, outbound):
    # Given a source no operator registered
    stranger, request_id = a_source(tenantry), tenantry.request_id("untrusted")
    # When it asks for a tenant
    tenantry.post("TenantOnboardingRequested", onboarding_request(request_id, "shared"), source=stranger)
    # Then it gets TenantOnboardingFailed (UNTRUSTED_SOURCE), and nothing was started or written
    assert refused(outbound, "TenantOnboardingFailed", request_id) == f"source {stranger} is not registered"
    tenantry.rt.wait_settled()
    assert no_execution(tenantry, ONBOARDING, f"onboard-{request_id}")
    assert tenantry.tenants_for_request(request_id) == []
    # and the request id is still free for the trusted system that owns it
    assert tenantry.onboard(onboarding_request(request_id, "shared"))["status"] == "ACTIVE"


def test_a_source_granted_some_tenants_acts_for_those_only(tenantry, outbound, registry):
    mine, theirs = tenantry.onboarded("shared"), tenantry.onboarded("shared")
    source = a_source(tenantry)
    registry.grant(source, REQUEST_TYPES, [mine["tenantId"]], "test")
    # A registration in its tenant goes ahead
    allowed = tenantry.request_id("mine")
    tenantry.post("UserRegistrationRequested", registration_request(allowed, mine["tenantId"]), source=source)
    assert tenantry.wait_execution_state(REGISTRATION, f"register-{allowed}")["state"] == "IssueActivationCodeAndWait"
    # One in another tenant is refused, and writes nothing there
    denied = tenantry.request_id("theirs")
    tenantry.post("UserRegistrationRequested", registration_request(denied, theirs["tenantId"]), source=source)
    message = refused(outbound, "UserRegistrationFailed", denied)
    assert message == f"source {source} may not act for tenant {theirs['tenantId']}"
    tenantry.rt.wait_settled()
    assert no_execution(tenantry, REGISTRATION, f"register-{denied}")
    assert tenantry.item(f"EMAIL#{theirs['tenantId']}#{denied}@example.com", "EMAIL") is None
    assert not [u for u in tenantry.shared_users_of(theirs["tenantId"]) if denied in u["Username"]]
    # and it may not onboard new tenants, nor offboard another's
    onboarding, offboarding = tenantry.request_id("new"), tenantry.request_id("off")
    tenantry.post("TenantOnboardingRequested", onboarding_request(onboarding, "shared"), source=source)
    tenantry.post("TenantOffboardingRequested", {"requestId": offboarding, "tenantId": theirs["tenantId"]}, source=source)
    assert "may not onboard new ones" in refused(outbound, "TenantOnboardingFailed", onboarding)
    refused(outbound, "TenantOffboardingFailed", offboarding)
    assert tenantry.item(f"TENANT#{theirs['tenantId']}", "TENANT")["status"] == "ACTIVE"


def test_a_source_may_post_only_the_request_types_of_its_grant(tenantry, outbound, registry, tenant):
    source = a_source(tenantry)
    registry.grant(source, ["UserRegistrationRequested"], ["*"], "test")
    user = tenantry.active_user(tenant, "Member")
    request_id = tenantry.request_id("mfa")
    detail = {"requestId": request_id, "tenantId": tenant["tenantId"], "userId": user["userId"], "required": True}
    tenantry.post("MfaRequirementChangeRequested", detail, source=source)
    assert (
        refused(outbound, "MfaRequirementChangeFailed", request_id)
        == f"source {source} may not post MfaRequirementChangeRequested"
    )
    tenantry.rt.wait_settled()
    assert no_execution(tenantry, "MfaRequirementChangeStateMachineArn", f"mfa-change-{request_id}")
    assert not tenantry.item(f"USER#{user['userId']}", "PROFILE").get("mfaRequired")


def test_an_activation_from_a_source_not_trusted_with_the_codes_tenant_leaves_the_code_unused(tenantry, outbound, registry):
    mine, theirs = tenantry.onboarded("shared"), tenantry.onboarded("shared")
    source = a_source(tenantry)
    registry.grant(source, ["UserActivationRequested"], [mine["tenantId"]], "test")
    request_id = tenantry.register(registration_request(tenantry.request_id("act"), theirs["tenantId"]))
    [registered] = outbound.wait_for("UserRegistered", requestId=request_id)
    [issued] = outbound.wait_for("UserActivationCodeIssued", userId=registered["detail"]["userId"])
    # The code is of a tenant the source may not act for: refused, the code not used
    attempt = tenantry.request_id("attempt")
    tenantry.post("UserActivationRequested", {"requestId": attempt, "code": issued["detail"]["code"]}, source=source)
    assert refused(outbound, "UserActivationFailed", attempt) == f"source {source} may not act for tenant {theirs['tenantId']}"
    # so the trusted source still activates the user with it
    tenantry.post("UserActivationRequested", {"requestId": tenantry.request_id("ok"), "code": issued["detail"]["code"]})
    assert tenantry.wait_execution(REGISTRATION, f"register-{request_id}")["status"] == "SUCCEEDED"
    assert outbound.wait_for("UserActivated", userId=registered["detail"]["userId"])


def test_the_operator_command_grants_lists_and_revokes(tenantry, capsys):
    from tenantry.sources import main

    source, table = a_source(tenantry), tenantry.outputs["TableName"]
    endpoint = ["--table", table, "--endpoint-url", tenantry.rt.endpoint]
    assert main([*endpoint, "grant", source, "--requests", "UserRegistrationRequested", "--tenants", "tnt-a,tnt-b"]) == 0
    assert main([*endpoint, "list"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if source in line]
    assert len(listed) == 2 and '"tenants": ["tnt-a", "tnt-b"]' in listed[1]  # the grant's echo, then its line in the list
    assert main([*endpoint, "revoke", source]) == 0
    assert main([*endpoint, "revoke", source]) == 1  # no longer registered
    with pytest.raises(SystemExit):  # an unknown request type is refused by name
        main([*endpoint, "grant", source, "--requests", "TenantDeleteEverything", "--tenants", "*"])
    assert "TenantDeleteEverything" in capsys.readouterr().err
