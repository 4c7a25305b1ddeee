"""TokenVerifier on tokens signed here with a throwaway key: every reason to refuse, one at a time."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tenantry.tokens import PoolRegistration, TokenRejected, TokenVerifier

REGION, POOL, TENANT, CLIENT = "us-east-1", "us-east-1_Pool", "tnt-1", "client-1"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWKS = {"keys": [{**json.loads(RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "k1", "alg": "RS256", "use": "sig"}]}


def token(key=KEY, kid="k1", **overrides) -> str:
    now = int(time.time())
    claims = {
        "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}",
        "sub": "user-1",
        "token_use": "access",
        "client_id": CLIENT,
        "iat": now - 10,
        "exp": now + 3600,
        "tenant_id": TENANT,
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256", headers={"kid": kid})


def verifier(revoked_at=None, registered=True, fetched=None):
    fetched = fetched if fetched is not None else []

    def fetch(url):
        fetched.append(url)
        return JWKS

    registrations = {(POOL, TENANT): PoolRegistration(TENANT, frozenset([CLIENT]))} if registered else {}
    return TokenVerifier(
        REGION,
        registration=lambda pool, tenant: registrations.get((pool, tenant)),
        revoked_at=lambda sub: revoked_at,
        fetch_json=fetch,
    )


def test_a_good_token_verifies_and_the_jwks_is_fetched_once():
    fetched = []
    check = verifier(fetched=fetched)
    assert check.verify(token())["sub"] == "user-1"
    assert check.verify(token())["tenant_id"] == TENANT
    assert fetched == [f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}/.well-known/jwks.json"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: token(key=OTHER_KEY), "BAD_SIGNATURE"),
        (lambda: token(kid="unknown"), "BAD_SIGNATURE"),
        (lambda: token(exp=int(time.time()) - 1), "EXPIRED"),
        (lambda: token(token_use="id", aud=CLIENT), "WRONG_TOKEN_USE"),
        (lambda: token(client_id="someone-else"), "UNKNOWN_CLIENT"),
        (lambda: token(iss="https://evil.example/us-east-1_Pool"), "UNKNOWN_ISSUER"),
        (lambda: token(iss=f"https://cognito-idp.{REGION}.amazonaws.com/us-east-1_Other"), "UNKNOWN_ISSUER"),
        (lambda: token(tenant_id="tnt-other"), "UNKNOWN_ISSUER"),
        (lambda: "not.a.jwt", "MALFORMED"),
    ],
)
def test_every_reason_to_refuse(make, reason):
    with pytest.raises(TokenRejected) as refused:
        verifier().verify(make())
    assert refused.value.reason == reason


def test_a_token_issued_before_revocation_is_refused_and_a_later_one_is_not():
    issued = int(time.time()) - 10
    revoked_ms = (issued + 5) * 1000
    with pytest.raises(TokenRejected) as refused:
        verifier(revoked_at=revoked_ms).verify(token(iat=issued))
    assert refused.value.reason == "REVOKED"
    assert verifier(revoked_at=revoked_ms).verify(token(iat=issued + 6))["sub"] == "user-1"


def test_a_revocation_time_is_rounded_up_to_the_next_whole_second():
    # Revoked at S.5: a token carrying S (issued in S.0-S.999) or S+1 (a clock a little ahead of the one that
    # stamped the revocation) is refused; one carrying S+2 is later for sure.
    second = int(time.time()) - 10
    revoked_ms = second * 1000 + 500
    for iat in (second - 1, second, second + 1):
        with pytest.raises(TokenRejected) as refused:
            verifier(revoked_at=revoked_ms).verify(token(iat=iat))
        assert refused.value.reason == "REVOKED"
    assert verifier(revoked_at=revoked_ms).verify(token(iat=second + 2))["sub"] == "user-1"


def test_an_unregistered_pool_is_refused_before_any_key_is_fetched():
    fetched = []
    with pytest.raises(TokenRejected, match="not a user pool registered"):
        verifier(registered=False, fetched=fetched).verify(token())
    assert fetched == []


def test_id_tokens_are_checked_against_their_audience():
    check = verifier()
    assert check.verify(token(token_use="id", aud=CLIENT, client_id=None), token_use="id")["aud"] == CLIENT
    with pytest.raises(TokenRejected, match="app client"):
        check.verify(token(token_use="id", aud="other", client_id=None), token_use="id")


def test_a_token_issued_a_little_ahead_of_this_clock_verifies_and_one_far_ahead_does_not():
    now = int(time.time())
    assert verifier().verify(token(iat=now + 3))["sub"] == "user-1"  # a second or three of skew between machines
    with pytest.raises(TokenRejected) as refused:
        verifier().verify(token(iat=now + 60))
    assert refused.value.reason == "NOT_YET_VALID"


def test_unknown_key_ids_refetch_the_jwks_at_most_once_per_interval():
    fetched, now = [], [time.time()]
    check = verifier(fetched=fetched)
    check._clock = lambda: now[0]  # the verifier's clock only (tokens carry real times)
    check.verify(token())
    for _ in range(20):  # made-up key ids, as fast as they come
        with pytest.raises(TokenRejected):
            check.verify(token(kid=f"made-up-{_}"))
    assert len(fetched) == 1
    now[0] += 31  # a rotated key is picked up once the interval has passed
    with pytest.raises(TokenRejected):
        check.verify(token(kid="rotated"))
    assert len(fetched) == 2


def test_a_jwks_that_cannot_be_fetched_refuses_the_token_instead_of_failing():
    def unreachable(url):
        raise OSError("connection refused")

    check = TokenVerifier(
        REGION,
        registration=lambda pool, tenant: PoolRegistration(TENANT, frozenset([CLIENT])),
        revoked_at=lambda sub: None,
        fetch_json=unreachable,
    )
    with pytest.raises(TokenRejected) as refused:
        check.verify(token())
    assert refused.value.reason == "JWKS_UNAVAILABLE"


def test_an_expected_tenant_refuses_a_good_token_of_another():
    assert verifier().verify(token(), expected_tenant=TENANT)["tenant_id"] == TENANT
    with pytest.raises(TokenRejected) as refused:
        verifier().verify(token(), expected_tenant="tnt-other")
    assert refused.value.reason == "WRONG_TENANT"
