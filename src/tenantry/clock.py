"""The creation time of the records Tenantry writes: ISO 8601 in UTC, to the millisecond.

`now_iso()` stamps `createdAt` and `updatedAt` on tenants, request reservations and email and handle
claims. Not every time is in this format: activation records (`expiresAt`, and the `activatedAt` handed
back to the registration) and sign-ins (`lastSignInAt`) are ISO 8601 to the second, beside epoch seconds
that conditions compare (`expiresAtEpoch`, `lastSignInEpoch`); tenantry.activation and tenantry.sign_ins
write those.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """`moment` (aware, UTC) as ISO 8601 to the millisecond, `Z` for UTC."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(UTC))
