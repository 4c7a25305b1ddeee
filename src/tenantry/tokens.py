"""Verifying Cognito tokens so that revocation bites at once.

Cognito keeps accepting a revoked access token's signature until it expires (an hour by default), so an
API that only checks signatures lets a signed-out user in. `TokenVerifier` checks, in order: that the
issuer is a user pool registered for a tenant (and the token's tenant is that registration's tenant),
the RS256 signature against that pool's JWKS, expiry, `token_use`, the app client, and that the token was
issued after the user's `sessionsRevokedAt`. Used by the Identity API's authorizer (functions/api_authorizer);
every lookup is injected.
"""

from __future__ import annotations

import json
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

    def verify(self, token: str, token_use: str = "access") -> dict[str, Any]:  # noqa: S107 - a claim value
        """The token's claims, or TokenRejected."""
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
                options={"require": ["exp", "iat", "sub", "token_use"], "verify_aud": False},
                leeway=0,
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenRejected("EXPIRED", "the token has expired") from error
        except jwt.PyJWTError as error:
            raise TokenRejected("BAD_SIGNATURE", f"the token does not verify: {error}") from error
        if claims["token_use"] != token_use:
            raise TokenRejected("WRONG_TOKEN_USE", f"expected an {token_use} token")
        client = claims.get("client_id") if token_use == "access" else claims.get("aud")
        if client not in registration.client_ids:
            raise TokenRejected("UNKNOWN_CLIENT", "the token was issued to an app client not registered for the tenant")
        revoked = self._revoked_at(claims["sub"])
        if revoked is not None and claims["iat"] * 1000 <= revoked:
            raise TokenRejected("REVOKED", "the user's sessions were revoked after this token was issued")
        return claims

    def _pool_of(self, issuer: str) -> str:
        prefix = f"https://cognito-idp.{self._region}.amazonaws.com/"
        if not issuer.startswith(prefix) or "/" in issuer[len(prefix) :]:
            raise TokenRejected("UNKNOWN_ISSUER", "the token was not issued by a Cognito user pool of this region")
        return issuer[len(prefix) :]

    def _signing_key(self, pool_id: str, kid: str | None) -> Any:
        from jwt import PyJWK

        cached = self._jwks.get(pool_id)
        if cached is None or self._clock() - cached[0] > self._jwks_ttl or not _key(cached[1], kid):
            self._jwks[pool_id] = cached = (self._clock(), self._fetch_json(self._jwks_url(pool_id)))
        found = _key(cached[1], kid)
        if found is None:
            raise TokenRejected("BAD_SIGNATURE", "no key of the pool's JWKS matches the token")
        return PyJWK(found).key


def _key(jwks: dict[str, Any], kid: str | None) -> dict[str, Any] | None:
    return next((k for k in jwks.get("keys", []) if k.get("kid") == kid), None)


def verify_for_tenant(verifier: TokenVerifier, token: str, tenant_id: str) -> dict[str, Any]:
    """An access token's claims when it is good and of `tenant_id` (a key's tenant verifying a token it was
    handed); TokenRejected otherwise, `WRONG_TENANT` for a good token of another tenant."""
    claims = verifier.verify(token)
    if claims.get("tenant_id") != tenant_id:
        raise TokenRejected("WRONG_TENANT", "the token is not of this tenant")
    return claims
