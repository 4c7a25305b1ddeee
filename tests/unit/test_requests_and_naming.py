"""Request validation, execution names and usernames: pure functions, no network."""

from __future__ import annotations

import pytest

from tenantry import schemas
from tenantry.naming import canonical_email, cognito_username, execution_name
from tenantry.requests import check_request


def valid_onboarding():
    return {"requestId": "r-1", "tenantName": "Acme", "isolation": "shared", "admin": {"email": "a@b.example", "name": "Ada"}}


def test_a_valid_request_passes_unchanged():
    result = check_request("TenantOnboardingRequested", valid_onboarding(), "onboard-r-1")
    assert result == {"valid": True, "requestId": "r-1", "request": valid_onboarding(), "failure": None}


def test_a_rejection_names_the_field_and_has_a_deterministic_event_id():
    detail = valid_onboarding() | {"admin": {"email": "nope", "name": "Ada"}}
    first = check_request("TenantOnboardingRequested", detail, "onboard-r-1")
    again = check_request("TenantOnboardingRequested", detail, "onboard-r-1")
    assert first["valid"] is False
    assert first["failure"]["field"] == "admin.email"
    assert first["failure"]["reason"] == "INVALID_FORMAT"
    assert first["failure"]["eventId"] == again["failure"]["eventId"]


def test_every_violation_is_listed_most_specific_first():
    detail = {"requestId": "r-1", "isolation": "moon", "admin": {"email": "x"}}
    failure = check_request("TenantOnboardingRequested", detail, "e")["failure"]
    assert failure["field"] == "admin.email" or failure["field"] == "admin.name"
    for fragment in ("tenantName is required", "isolation", "admin.name is required"):
        assert fragment in failure["message"]


def test_a_non_object_detail_is_rejected():
    assert check_request("TenantOnboardingRequested", ["not", "an", "object"], "e")["failure"]["reason"] == "WRONG_TYPE"


def test_an_unknown_request_type_is_a_programming_error():
    with pytest.raises(ValueError, match="not a request"):
        check_request("TenantOnboarded", {}, "e")


def test_execution_names_are_derived_from_the_request_and_stay_valid():
    assert execution_name("onboard", "crm-42", "ev") == "onboard-crm-42"
    odd = execution_name("onboard", "crm/42 with spaces", "ev")
    assert odd.startswith("onboard-crm_42_with_spaces-") and len(odd) <= 80
    assert odd != execution_name("onboard", "crm 42 with/spaces", "ev")
    long = execution_name("onboard", "x" * 200, "ev")
    assert len(long) == 80
    assert execution_name("onboard", None, "abc-123") == "onboard-invalid-abc-123"


def test_usernames_keep_tenants_apart_in_the_shared_pool():
    assert cognito_username("shared", "tnt-1", "Ada@Example.com") == "tnt-1/ada@example.com"
    assert cognito_username("shared", "tnt-2", "ada@example.com") != cognito_username("shared", "tnt-1", "ada@example.com")
    assert cognito_username("dedicated", "tnt-1", "ada@example.com") == "ada@example.com"


def test_an_email_is_one_address_whatever_its_unicode_form_case_or_width():
    forms = ["Jos\u00e9@Example.com", "Jose\u0301@example.com", " jos\u00e9@EXAMPLE.COM ", "\uff2aos\u00e9@example.com"]
    assert {canonical_email(form) for form in forms} == {"jos\u00e9@example.com"}
    assert cognito_username("shared", "tnt-1", forms[1]) == "tnt-1/jos\u00e9@example.com"


@pytest.mark.parametrize(
    ("isolation", "length", "valid"), [("shared", 107, True), ("shared", 108, False), ("dedicated", 128, True)]
)
def test_an_admin_email_must_make_a_username_cognito_takes(isolation, length, valid):
    detail = valid_onboarding() | {"isolation": isolation}
    detail["admin"] = {"email": "a" * (length - len("@b.example")) + "@b.example", "name": "Ada"}
    result = check_request("TenantOnboardingRequested", detail, "onboard-r-1")
    assert result["valid"] is valid
    if not valid:
        failure = result["failure"]
        assert (failure["reason"], failure["field"]) == ("TOO_LONG", "admin.email")
        assert failure["message"] == "admin.email is too long: a shared-pool tenant takes emails of at most 107 characters"


@pytest.mark.parametrize("request_id", ["r-1\n", "r-1\n\n", "\nr-1"])
def test_a_request_id_with_a_newline_is_refused_naming_the_format(request_id):
    # JSON Schema's `$` is the end of the string; Python's also matched before a final newline, and "r-1\n"
    # then named the execution of "r-1"
    [violation] = schemas.violations("UserActivationRequested", {"requestId": request_id, "code": "abc"})
    assert (violation.reason, violation.field) == ("INVALID_FORMAT", "requestId")
    assert violation.message.endswith("(it must match ^[A-Za-z0-9._:-]+$)")
    assert schemas.violations("UserActivationRequested", {"requestId": "r-1", "code": "abc"}) == []
