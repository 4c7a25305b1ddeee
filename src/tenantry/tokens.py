"""Verifying Cognito tokens so that revocation bites at once.

Cognito keeps accepting a revoked access token's signature until it expires (an hour by default), so an
API that only checks signatures lets a signed-out user in. `TokenVerifier` checks, in order: that the
issuer is a user pool registered for a tenant (and the token's tenant is that registration's tenant),
the RS256 signature against that pool's JWKS, expiry, `token_use`, the app client, and that the token was
issued after the user's `sessionsRevokedAt`, and, when the caller expects one, that the token is of that tenant.
Used by the Identity API's authorizer (functions/api_authorizer) and `POST /auth/token/verify`; every lookup is
injected.

A token issued a little ahead of this machine's clock (`iat` up to CLOCK_SKEW_SECONDS in the future) is
accepted; expiry allows no skew. A pool's JWKS is cached; a `kid` it does not hold refetches it at most once per
JWKS_REFETCH_SECONDS (a stream of tokens with made-up key ids cannot make every request fetch), and a JWKS that
cannot be fetched refuses the token (`JWKS_UNAVAILABLE`) instead of failing the request.
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class TokenRejected(Exception):
    """The token must not be honoured; `reason` says why (machine-readable)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PoolRegistration:
    """A user pool registered for a tenant, and the app client(s) that may issue its tokens."""

    tenant_id: str
    client_ids: frozenset[str]


CLOCK_SKEW_SECONDS = 5
JWKS_REFETCH_SECONDS = 30
RegistrationLookup = Callable[[str, str], PoolRegistration | None]  # (pool id, tenant id) -> registration
RevocationLookup = Callable[[str], int | None]  # user id (sub) -> sessionsRevokedAt, epoch milliseconds


def jwks_url_under(base_url: str) -> Callable[[str], str]:
    """Where a pool's JWKS is, below the base URL of Cognito's endpoint (`<base>/<pool id>/.well-known/jwks.json`)."""
    base = base_url.rstrip("/")
    return lambda pool_id: f"{base}/{pool_id}/.well-known/jwks.json"


def cognito_jwks_url(region: str) -> Callable[[str], str]:
    return jwks_url_under(f"https://cognito-idp.{region}.amazonaws.com")


def _fetch_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the URL is built from a registered pool id
        document: dict[str, Any] = json.loads(response.read())
        return document


class TokenVerifier:
    def __init__(
        self,
        region: str,
        registration: RegistrationLookup,
        revoked_at: RevocationLookup,
        jwks_url: Callable[[str], str] | None = None,
        fetch_json: Callable[[str], dict[str, Any]] = _fetch_json,
        clock: Callable[[], float] = time.time,
        jwks_ttl_seconds: float = 3600,
    ):
        self._region = region
        self._registration = registration
        self._revoked_at = revoked_at
        self._jwks_url = jwks_url or cognito_jwks_url(region)
        self._fetch_json = fetch_json
        self._clock = clock
        self._jwks_ttl = jwks_ttl_seconds
        self._jwks: dict[str, tuple[float, dict[str, Any]]] = {}

    def verify(self, token: str, token_use: str = "access", expected_tenant: str | None = None) -> dict[str, Any]:  # noqa: S107
        """The token's claims, or TokenRejected (`WRONG_TENANT` for a good token of a tenant other than
        `expected_tenant`, when one is given)."""
        import jwt  # PyJWT, loaded only when a token is verified

        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenRejected("MALFORMED", f"not a JWT: {error}") from error
        pool_id = self._pool_of(unverified.get("iss", ""))
        registration = self._registration(pool_id, str(unverified.get("tenant_id", "")))
        if registration is None:
            raise TokenRejected("UNKNOWN_ISSUER", f"{pool_id} is not a user pool registered for the token's tenant")
        key = self._signing_key(pool_id, header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                # iat is checked below, with the clock skew allowed; expiry allows none
                options={"require": ["exp", "iat", "sub", "token_use"], "verify_aud": False, "verify_iat": False},
                leeway=0,
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenRejected("EXPIRED", "the token has expired") from error
        except jwt.PyJWTError as error:
            raise TokenRejected("BAD_SIGNATURE", f"the token does not verify: {error}") from error
        if not isinstance(claims["iat"], int | float) or claims["iat"] > self._clock() + CLOCK_SKEW_SECONDS:
            raise TokenRejected("NOT_YET_VALID", "the token was issued in the future")
        if claims["token_use"] != token_use:
            raise TokenRejected("WRONG_TOKEN_USE", f"expected an {token_use} token")
        client = claims.get("client_id") if token_use == "access" else claims.get("aud")
        if client not in registration.client_ids:
            raise TokenRejected("UNKNOWN_CLIENT", "the token was issued to an app client not registered for the tenant")
        revoked = self._revoked_at(claims["sub"])
        # iat is in whole seconds, stamped by Cognito's clock; the revocation time (stamped by Step Functions'
        # or this API's clock once the sign-out succeeded) is rounded up to the next whole second, so a token
        # refreshed while the sign-out was being retried is refused even across that clock difference.
        if revoked is not None and claims["iat"] <= math.ceil(revoked / 1000):
            raise TokenRejected("REVOKED", "the user's sessions were revoked after this token was issued")
        if expected_tenant is not None and claims.get("tenant_id") != expected_tenant:
            raise TokenRejected("WRONG_TENANT", "the token is not of this tenant")
        return claims

    def _pool_of(self, issuer: str) -> str:
        prefix = f"https://cognito-idp.{self._region}.amazonaws.com/"
        if not issuer.startswith(prefix) or "/" in issuer[len(prefix) :]:
            raise TokenRejected("UNKNOWN_ISSUER", "the token was not issued by a Cognito user pool of this region")
        return issuer[len(prefix) :]

    def _signing_key(self, pool_id: str, kid: str | None) -> Any:
        from jwt import PyJWK

        now = self._clock()
        cached = self._jwks.get(pool_id)
        stale = cached is None or now - cached[0] > self._jwks_ttl
        # a kid the cached JWKS lacks may be a rotated key: refetch, but not more often than JWKS_REFETCH_SECONDS
        unknown_kid = cached is not None and not _key(cached[1], kid) and now - cached[0] > JWKS_REFETCH_SECONDS
        if stale or unknown_kid:
            try:
                self._jwks[pool_id] = cached = (now, self._fetch_json(self._jwks_url(pool_id)))
            except Exception as error:  # unreachable, slow, not JSON: the token cannot be verified now
                if cached is None:
                    raise TokenRejected(
                        "JWKS_UNAVAILABLE", f"the pool's keys could not be fetched: {type(error).__name__}"
                    ) from error
        assert cached is not None
        found = _key(cached[1], kid)
        if found is None:
            raise TokenRejected("BAD_SIGNATURE", "no key of the pool's JWKS matches the token")
        return PyJWK(found).key


def _key(jwks: dict[str, Any], kid: str | None) -> dict[str, Any] | None:
    return next((k for k in jwks.get("keys", []) if k.get("kid") == kid), None)
