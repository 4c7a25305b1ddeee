"""The single-table key design, in one place (docs/data-model.md describes the items and who uses them).

Every key Tenantry writes or reads is built here, or, in a state machine, by `States.Format` with the same
format (tests/static/test_data_model.py checks each definition's keys against `ENTITIES`). Formats use
`str.format` fields; a state machine fills the same fields in order with `{}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The table's secondary indexes: name -> (partition key attribute, sort key attribute).
INDEXES: dict[str, tuple[str, str]] = {
    "ByTenant": ("GSI1PK", "GSI1SK"),
    "ByLastSignInDay": ("GSI2PK", "GSI2SK"),
}


@dataclass(frozen=True)
class Entity:
    """One kind of item: its `entity` attribute, its key formats and the index keys it carries."""

    name: str
    pk: str
    sk: str
    indexes: dict[str, tuple[str, str]] = field(default_factory=dict)  # index name -> (its PK format, its SK format)


TENANT = Entity("Tenant", "TENANT#{tenant_id}", "TENANT")
REQUEST = Entity("Request", "REQUEST#{workflow}#{request_id}", "REQUEST")
USER = Entity(
    "User",
    "USER#{user_id}",
    "PROFILE",
    {"ByTenant": ("TENANT#{tenant_id}", "USER#{user_id}"), "ByLastSignInDay": ("SIGNIN#{day}", "{user_id}")},
)
EMAIL_CLAIM = Entity("EmailClaim", "EMAIL#{tenant_id}#{email}", "EMAIL")
HANDLE_CLAIM = Entity("HandleClaim", "HANDLE#{tenant_id}#{handle}", "HANDLE")
ACTIVATION = Entity("Activation", "ACTIVATION#{code_hash}", "ACTIVATION")
POOL_REGISTRATION = Entity("PoolRegistration", "POOL#{pool_id}", "TENANT#{tenant_id}")
COMPLIANCE_LOCK = Entity("ComplianceLock", "COMPLIANCE#{user_id}", "LOCK")
COMPLIANCE_DETECTION = Entity("ComplianceDetection", "COMPLIANCE#{user_id}", "DETECTION#{detection_id}")
API_KEY = Entity("ApiKey", "APIKEY#{key_id}", "APIKEY", {"ByTenant": ("APIKEYS#{tenant_id}", "{key_id}")})
API_KEY_RATE = Entity("ApiKeyRate", "APIKEY#{key_id}", "RATE#{minute}")
RATE_COUNTER = Entity("RateCounter", "RATE#{subject_hash}", "WINDOW#{window}")
SIGN_IN_CHALLENGE = Entity("SignInChallenge", "CHALLENGE#{session_hash}", "CHALLENGE")
USED_MFA_CODE = Entity("UsedMfaCode", "MFACODE#{pool_id}#{username}", "CODE#{code_hash}")
SOURCE_GRANT = Entity("SourceGrant", "SOURCES", "SOURCE#{source}")  # one partition: an operator lists them all

ENTITIES: tuple[Entity, ...] = (
    TENANT,
    REQUEST,
    USER,
    EMAIL_CLAIM,
    HANDLE_CLAIM,
    ACTIVATION,
    POOL_REGISTRATION,
    COMPLIANCE_LOCK,
    COMPLIANCE_DETECTION,
    API_KEY,
    API_KEY_RATE,
    RATE_COUNTER,
    SIGN_IN_CHALLENGE,
    USED_MFA_CODE,
    SOURCE_GRANT,
)

TENANT_SK = TENANT.sk
REQUEST_SK = REQUEST.sk
PROFILE_SK = USER.sk


def _key(entity: Entity, **fields: str) -> dict[str, str]:
    return {"PK": entity.pk.format(**fields), "SK": entity.sk.format(**fields)}


def tenant_key(tenant_id: str) -> dict[str, str]:
    return _key(TENANT, tenant_id=tenant_id)


def request_key(workflow: str, request_id: str) -> dict[str, str]:
    """The reservation of one request id by one workflow (`TenantOnboarding`, `UserRegistration`)."""
    return _key(REQUEST, workflow=workflow, request_id=request_id)


def profile_key(user_id: str) -> dict[str, str]:
    """A user's profile, keyed by their Cognito `sub`."""
    return _key(USER, user_id=user_id)


def tenant_index_key(tenant_id: str, user_id: str) -> dict[str, str]:
    return {"GSI1PK": tenant_users_partition(tenant_id), "GSI1SK": USER.indexes["ByTenant"][1].format(user_id=user_id)}


def tenant_users_partition(tenant_id: str) -> str:
    """GSI1PK of a tenant's profiles (index ByTenant)."""
    return USER.indexes["ByTenant"][0].format(tenant_id=tenant_id)


def sign_in_day_partition(day: str) -> str:
    """GSI2PK of the profiles whose last sign-in was on `day` (YYYY-MM-DD, index ByLastSignInDay)."""
    return USER.indexes["ByLastSignInDay"][0].format(day=day)


def email_claim_key(tenant_id: str, email: str) -> dict[str, str]:
    """One email per tenant; `email` is already lower-cased (uniqueness is case-insensitive)."""
    return _key(EMAIL_CLAIM, tenant_id=tenant_id, email=email)


def handle_claim_key(tenant_id: str, handle: str) -> dict[str, str]:
    """One handle per tenant, whatever its case."""
    return _key(HANDLE_CLAIM, tenant_id=tenant_id, handle=handle.lower())


def activation_key(code_hash: str) -> dict[str, str]:
    """An activation code, stored under its SHA-256 hash only."""
    return _key(ACTIVATION, code_hash=code_hash)


def pool_registration_key(pool_id: str, tenant_id: str) -> dict[str, str]:
    """Which tenant a user pool serves (read by the token verifier)."""
    return _key(POOL_REGISTRATION, pool_id=pool_id, tenant_id=tenant_id)


def compliance_lock_key(user_id: str) -> dict[str, str]:
    return _key(COMPLIANCE_LOCK, user_id=user_id)


def compliance_detection_key(user_id: str, detection_id: str) -> dict[str, str]:
    return _key(COMPLIANCE_DETECTION, user_id=user_id, detection_id=detection_id)


def api_key_key(key_id: str) -> dict[str, str]:
    """A tenant's API key, under its public id (the secret is stored only as a hash)."""
    return _key(API_KEY, key_id=key_id)


def tenant_api_keys_partition(tenant_id: str) -> str:
    """GSI1PK of a tenant's API keys (index ByTenant; apart from its users' partition)."""
    return API_KEY.indexes["ByTenant"][0].format(tenant_id=tenant_id)


def tenant_api_key_index_key(tenant_id: str, key_id: str) -> dict[str, str]:
    return {"GSI1PK": tenant_api_keys_partition(tenant_id), "GSI1SK": API_KEY.indexes["ByTenant"][1].format(key_id=key_id)}


def api_key_rate_key(key_id: str, minute: int) -> dict[str, str]:
    """The request counter of one key in one minute (epoch minutes)."""
    return _key(API_KEY_RATE, key_id=key_id, minute=str(minute))


def rate_counter_key(subject_hash: str, window: int) -> dict[str, str]:
    """The attempts of one subject (an account, a source address: hashed) in one fixed window (epoch seconds)."""
    return _key(RATE_COUNTER, subject_hash=subject_hash, window=str(window))


def sign_in_challenge_key(session_hash: str) -> dict[str, str]:
    """A sign-in waiting for its MFA code, under the SHA-256 of Cognito's session (never the session itself)."""
    return _key(SIGN_IN_CHALLENGE, session_hash=session_hash)


def used_mfa_code_key(pool_id: str, username: str, code_hash: str) -> dict[str, str]:
    """A TOTP code that already signed this user in (a replay of it is refused while it could still verify)."""
    return _key(USED_MFA_CODE, pool_id=pool_id, username=username, code_hash=code_hash)


def source_grant_key(source: str) -> dict[str, str]:
    """What an upstream source (an event's `Source`) may post, and for which tenants."""
    return _key(SOURCE_GRANT, source=source)
