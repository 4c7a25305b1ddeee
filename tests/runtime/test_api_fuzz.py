"""A property-based fuzz of docs/openapi.json (schemathesis) against the Identity API on the local runtime:
for every operation, cases generated from the document, sent at the stack output `ApiUrl` as a signed-in
Admin of a fresh tenant, answer no 5xx, only statuses the document lists for that operation, and bodies of
the documented content type and schema. Path ids are generated (most answer 404) and, as often, real ids of
the tenant, so the routes' success answers are fuzzed too. Derandomized: the same cases on every run."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from helpers import ROOT
from tenantry_local.client import totp_code

SCHEMA = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json")
# The credential is the test's (a Bearer header on every call); the document's security schemes are not
# generated, else a random X-Api-Key beside the token turns every case into the same 401.
SCHEMA.config.generation.update(with_security_parameters=False)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 20
# A valid request of each operation that takes input (on a real id where it has one): it must succeed
EXAMPLES: dict[str, dict[str, Any]] = {
    "POST /api-keys": {"body": {"name": "fuzz example", "scopes": ["users:read"], "expiresInDays": 1}},
    "POST /users": {"body": {"email": "fuzz-example@example.com", "name": "Fuzz Example", "role": "Member"}},
    "GET /users": {"query": {"name": "Fuzz"}},
    "PATCH /users/{id}/status": {"body": {"status": "ACTIVE"}},
    "PUT /users/{id}/role": {"body": {"role": "ReadOnly"}},
    "PUT /users/{id}/mfa": {"body": {"required": False}},
    "PATCH /me/data": {"body": {"theme": "dark"}},
    "PUT /users/{id}/data": {"body": {"plan": "gold"}},
    "PATCH /users/{id}/data": {"body": {"seats": 3}},
    "POST /me/avatar": {"body": {"contentType": "image/png"}},
}
# Operations with no valid request to make here: answering an MFA challenge needs a live challenge and the
# code of the user's authenticator (tests/runtime/test_auth_http.py makes it)
# code of the user's authenticator (tests/runtime/test_auth_http.py makes it); resetting a password and activating
# an account need a code from an email; verifying a token is a key's call (tests/runtime/test_accounts_http.py)
NO_VALID_EXAMPLE = ("POST /auth/login/mfa", "POST /auth/password/reset", "POST /auth/activate", "POST /auth/token/verify")
# Operations that end the fuzzing Admin's sessions run last, so that every other one still has them
ENDS_THE_SESSION = ("POST /auth/logout",)


def _operations() -> list[str]:
    """Every operation's label; those that destroy their target (DELETE) last, so the others still find it, and
    signing out after them."""
    labels = [result.ok().label for result in SCHEMA.get_all_operations()]
    deletes_the_user = "DELETE /users/{id}"
    return sorted(labels, key=lambda label: (label in ENDS_THE_SESSION, label == deletes_the_user, label.startswith("DELETE ")))


@pytest.fixture(scope="module")
def fuzz_tenant(tenantry):
    return tenantry.onboarded("shared")


@pytest.fixture(scope="module")
def fuzz_admin(tenantry, fuzz_tenant) -> dict[str, Any]:
    return tenantry.active_user(fuzz_tenant, "Admin")


@pytest.fixture(scope="module")
def admin_tokens(tenantry, fuzz_admin) -> dict[str, str]:
    """The fuzzing Admin's sign-in (before a fuzzed TOTP set-up makes later sign-ins ask for a code)."""
    return tenantry.tokens(fuzz_admin)


@pytest.fixture(scope="module")
def admin_headers(admin_tokens) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_tokens['AccessToken']}"}


def _signed_in_examples(api: str, admin: dict[str, Any], tokens: dict[str, str]) -> dict[str, Any]:
    """Valid requests of the sign-in operations, as the fuzzing Admin (made when their test runs)."""
    credentials = {"tenantId": admin["tenantId"], "username": admin["email"], "password": admin["password"]}
    headers = {"Authorization": f"Bearer {tokens['AccessToken']}"}
    secret = requests.post(f"{api}/me/mfa/totp", headers=headers, timeout=15).json()["secretCode"]
    refresh_token = tokens["RefreshToken"]
    return {
        "POST /auth/login": lambda: {"body": credentials},
        "POST /auth/refresh": lambda: {"body": {"tenantId": admin["tenantId"], "refreshToken": refresh_token}},
        "POST /auth/password/forgot": lambda: {"body": {"tenantId": admin["tenantId"], "username": admin["email"]}},
        "POST /me/mfa/totp/verify": lambda: {"body": {"code": totp_code(secret)}},
    }


@pytest.fixture(scope="module")
def real_ids(tenantry, api, fuzz_tenant, admin_headers) -> dict[str, list[str]]:
    """Ids that exist in the fuzzed tenant, per path: users other than the Admin (whose sessions a fuzzed
    revoke would end) and an API key."""
    users = [tenantry.active_user(fuzz_tenant, role)["userId"] for role in ("Member", "SuperUser")]
    created = requests.post(
        f"{api}/api-keys",
        json={"name": "fuzzed", "scopes": ["users:read"], "expiresInDays": 30},
        headers=admin_headers,
        timeout=15,
    )
    assert created.status_code == 201, created.text
    return {"/users/": users, "/api-keys/": [created.json()["apiKey"]["keyId"]]}


def _operation(label: str) -> Any:
    method, path = label.split(" ", 1)
    return SCHEMA[path][method]


def _ids_for(path: str, real_ids: dict[str, list[str]]) -> list[str]:
    return [id_ for prefix, ids in real_ids.items() if path.startswith(prefix) and "{id}" in path for id_ in ids]


def _cases(label: str, real_ids: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    operation = _operation(label)
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    ids = _ids_for(operation.path, real_ids)
    strategies += [operation.as_strategy(mode, path_parameters={"id": id_}) for mode in modes for id_ in ids]
    return st.one_of(strategies)


@pytest.mark.parametrize("label", _operations())
def test_every_generated_case_answers_as_the_document_says(api, fuzz_admin, admin_tokens, admin_headers, real_ids, label):
    session = requests.Session()

    def send(case: schemathesis.Case) -> int:
        response = case.call_and_validate(base_url=api, session=session, headers=admin_headers, checks=CHECKS, timeout=15)
        return int(response.status_code)

    # The route's work, not only its refusals: a valid request (on a real id) answers its documented success
    operation = _operation(label)
    ids = _ids_for(operation.path, real_ids)
    needs_a_session = label.startswith("POST /auth/") or "totp" in label
    signed_in = _signed_in_examples(api, fuzz_admin, admin_tokens) if needs_a_session else {}
    example = signed_in[label]() if label in signed_in else EXAMPLES.get(label, {})
    path_parameters = ({"id": ids[0]} if ids else {}) | ({"name": "EARLY_ADOPTER"} if "{name}" in operation.path else {})
    case = operation.Case(path_parameters=path_parameters or None, **example)
    if label not in NO_VALID_EXAMPLE:
        assert 200 <= send(case) < 300, (label, example)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(label, real_ids))
    def fuzz(case: schemathesis.Case) -> None:
        send(case)

    fuzz()


def test_a_body_that_is_not_utf8_answers_400_naming_the_body(api, admin_headers):
    # Found by the fuzz: the local runtime failed to decode it (500), then Powertools did (500)
    answer = requests.post(
        f"{api}/api-keys", data=b"\xab\xff{", headers=admin_headers | {"Content-Type": "application/json"}, timeout=15
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == {
        "code": "INVALID_REQUEST",
        "message": "the request body must be JSON in UTF-8",
        "field": "body",
    }
