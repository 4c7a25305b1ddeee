"""Activation codes: issued once per registration, kept only as a hash, single use, expiring.

The code leaves Tenantry in exactly one place: the UserActivationCodeIssued event, meant for a
notification service that emails it. It is never logged, never stored in clear, never part of a
workflow's state (the registration execution waits on a task token, which the code unlocks).

The task token is stored sealed with the code (`seal_task_token`): whoever reads the table or its stream
finds neither the code nor a token to resume the registration with.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from tenantry import keys
from tenantry.adapters.dynamodb import from_item, get_plain, to_item
from tenantry.adapters.eventbridge import EventPublisher, OutboundEvent
from tenantry.authentication import PasswordRejected, TooManyAttempts
from tenantry.events import event_id
from tenantry.rate_limits import Limit, RateCounter

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_stepfunctions import SFNClient

CODE_BYTES = 32  # 256 bits of randomness, more than the 128 required


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


TASK_TOKEN_KEYSTREAM = b"tenantry/activation/task-token\0"


def _keystream(code: str, length: int) -> bytes:
    # SHAKE-256 of the code under its own label: unrelated to code_hash, the code's only other trace. Each
    # code seals exactly one token and has 256 random bits, so XOR with this stream is a one-time pad.
    return hashlib.shake_256(TASK_TOKEN_KEYSTREAM + code.encode()).digest(length)


def seal_task_token(code: str, task_token: str) -> str:
    """The workflow's task token, readable only with the activation code."""
    plain = task_token.encode()
    return base64.b64encode(bytes(a ^ b for a, b in zip(plain, _keystream(code, len(plain)), strict=True))).decode()


def unseal_task_token(code: str, sealed: str) -> str:
    """`seal_task_token` undone; a wrong code gives a token Step Functions refuses (InvalidToken), not an error
    here, and only the right code finds the record in the first place."""
    data = base64.b64decode(sealed)
    return bytes(a ^ b for a, b in zip(data, _keystream(code, len(data)), strict=True)).decode(errors="replace")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class ActivationStore:
    def __init__(self, table_name: str, dynamodb_client: DynamoDBClient):
        self._table = table_name
        self._ddb = dynamodb_client

    def save(self, hashed: str, record: dict[str, Any]) -> None:
        self._ddb.put_item(
            TableName=self._table,
            Item=to_item({**keys.activation_key(hashed), **record}),
            ConditionExpression="attribute_not_exists(PK)",
        )

    def consume(self, hashed: str, request_id: str, now: datetime) -> dict[str, Any] | None:
        """Mark the code used, if it is issued and unexpired: the record, or None when it is not."""
        try:
            response = self._ddb.update_item(
                TableName=self._table,
                Key=to_item(keys.activation_key(hashed)),
                UpdateExpression="SET #s = :used, usedBy = :request, usedAt = :now",
                ConditionExpression="#s = :issued AND expiresAtEpoch > :epoch",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":used": "USED",
                        ":issued": "ISSUED",
                        ":request": request_id,
                        ":now": _iso(now),
                        ":epoch": int(now.timestamp()),
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return None
        return from_item(response["Attributes"])

    def get(self, hashed: str) -> dict[str, Any] | None:
        return get_plain(self._ddb, self._table, keys.activation_key(hashed))

    def give_back(self, hashed: str, request_id: str) -> None:
        """Undo `consume` by `request_id` (the activation could not go on): the code is ISSUED again."""
        with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
            self._ddb.update_item(
                TableName=self._table,
                Key=to_item(keys.activation_key(hashed)),
                UpdateExpression="SET #s = :issued REMOVE usedBy, usedAt",
                ConditionExpression="#s = :used AND usedBy = :request",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_item({":issued": "ISSUED", ":used": "USED", ":request": request_id}),
            )


@dataclass(frozen=True)
class IssuedCode:
    expiresAt: str  # noqa: N815


def issue_code(
    store: ActivationStore,
    publisher: EventPublisher,
    registration: dict[str, Any],
    task_token: str,
    ttl_seconds: int,
    now: datetime | None = None,
) -> IssuedCode:
    """Create a code for `registration` ({tenantId, userId, email, requestId}), remember its hash with the
    workflow's task token sealed by it, and hand the code to the notification service through its event."""
    now = now or datetime.now(UTC)
    code = secrets.token_urlsafe(CODE_BYTES)
    hashed = code_hash(code)
    expires = now + timedelta(seconds=ttl_seconds)
    store.save(
        hashed,
        {
            "entity": "Activation",
            "status": "ISSUED",
            "sealedTaskToken": seal_task_token(code, task_token),
            "tenantId": registration["tenantId"],
            "userId": registration["userId"],
            "registrationRequestId": registration["requestId"],
            "expiresAt": _iso(expires),
            "expiresAtEpoch": int(expires.timestamp()),
            "ttl": int(expires.timestamp()) + 86400,
        },
    )
    event = OutboundEvent(
        "UserActivationCodeIssued",
        {
            "eventId": event_id(hashed, "UserActivationCodeIssued"),
            "tenantId": registration["tenantId"],
            "userId": registration["userId"],
            "email": registration["email"],
            "code": code,
            "expiresAt": _iso(expires),
        },
    )
    if publisher.publish([event]):
        raise RuntimeError("EventBridge did not accept UserActivationCodeIssued")
    return IssuedCode(_iso(expires))


@dataclass(frozen=True)
class Activated:
    """The code was good: the registration waiting on it resumes."""

    userId: str  # noqa: N815
    tenantId: str  # noqa: N815
    activated: Literal[True] = True


@dataclass(frozen=True)
class Refused:
    """A wrong, used or expired code: nothing changed."""

    reason: str
    message: str
    activated: Literal[False] = False


ActivationOutcome = Activated | Refused


def activate(
    store: ActivationStore, sfn_client: SFNClient, code: str, request_id: str, now: datetime | None = None
) -> ActivationOutcome:
    """Use `code`: resume the registration waiting on it. A wrong, used or expired code changes nothing."""
    now = now or datetime.now(UTC)
    taken = take_code(store, code, request_id, now)
    if isinstance(taken, Refused):
        return taken
    record, redelivered = taken
    return resume(sfn_client, record, code, request_id, now, redelivered)


def take_code(store: ActivationStore, code: str, request_id: str, now: datetime) -> tuple[dict[str, Any], bool] | Refused:
    """Mark the code used by `request_id` (one conditional write): its record, and whether this request had
    used it already (a retried delivery); Refused for a wrong, used or expired code."""
    hashed = code_hash(code)
    record = store.consume(hashed, request_id, now)
    if record is not None:
        return record, False
    record = store.get(hashed)
    if record is None:
        return Refused("INVALID_CODE", "the activation code is not valid")
    if record["status"] != "USED":
        return Refused("CODE_EXPIRED", f"the activation code expired at {record['expiresAt']}")
    if record.get("usedBy") != request_id:
        return Refused("CODE_ALREADY_USED", "the activation code was already used")
    # The same request again (a retried delivery): resume the workflow again, in case the first try consumed
    # the code but could not reach Step Functions.
    return record, True


def resume(
    sfn_client: SFNClient, record: dict[str, Any], code: str, request_id: str, now: datetime, redelivered: bool = False
) -> ActivationOutcome:
    """Resume the registration waiting on the code's task token (unsealed with the code)."""
    try:
        sfn_client.send_task_success(
            taskToken=unseal_task_token(code, record["sealedTaskToken"]),
            output=json.dumps({"activationRequestId": request_id, "activatedAt": _iso(now)}),
        )
    except (sfn_client.exceptions.TaskTimedOut, sfn_client.exceptions.TaskDoesNotExist, sfn_client.exceptions.InvalidToken):
        if redelivered:  # the first delivery resumed it
            return Activated(record["userId"], record["tenantId"])
        return Refused("CODE_EXPIRED", "the registration this code belongs to has expired")
    return Activated(record["userId"], record["tenantId"])


WRONG_CODES_PER_SOURCE = Limit("activation-wrong-code", attempts=10, window_seconds=15 * 60)


class AccountActivation:
    """`POST /auth/activate {code, password}`, the activation page's call. The code is taken first, exactly as
    UserActivationRequested takes it (one conditional write: of two requests with one code, one wins), then the
    chosen password is set, then the waiting registration resumes. A password the pool's policy refuses gives
    the code back, unused, to try again. Wrong codes are limited per source address."""

    def __init__(
        self,
        table_name: str,
        dynamodb_client: DynamoDBClient,
        cognito_client: CognitoIdentityProviderClient,
        sfn_client: SFNClient,
        rates: RateCounter,
    ):
        self._table = table_name
        self._ddb = dynamodb_client
        self._cognito = cognito_client
        self._sfn = sfn_client
        self._store = ActivationStore(table_name, dynamodb_client)
        self._rates = rates

    def activate(
        self, code: str, password: str, request_id: str, source_ip: str, now: datetime | None = None
    ) -> ActivationOutcome:
        """Activated, or Refused with the event path's reasons; TooManyAttempts, PasswordRejected."""
        now = now or datetime.now(UTC)
        if not self._rates.take(WRONG_CODES_PER_SOURCE, source_ip):
            raise TooManyAttempts(source_ip)
        taken = take_code(self._store, code, request_id, now)
        if isinstance(taken, Refused):
            return taken
        self._rates.refund(WRONG_CODES_PER_SOURCE, source_ip)  # a good code: not a wrong one
        record, redelivered = taken
        try:
            refused = self._set_password(record, password)
        except Exception:
            self._store.give_back(code_hash(code), request_id)
            raise
        if refused is not None:
            self._store.give_back(code_hash(code), request_id)
            return refused
        return resume(self._sfn, record, code, request_id, now, redelivered)

    def _set_password(self, record: dict[str, Any], password: str) -> Refused | None:
        profile = get_plain(self._ddb, self._table, keys.profile_key(record["userId"]))
        tenant = get_plain(self._ddb, self._table, keys.tenant_key(record["tenantId"]))
        if profile is None or not tenant or tenant.get("status") != "ACTIVE":  # undone, expired, or offboarded
            return Refused("CODE_EXPIRED", "the registration this code belongs to has ended")
        errors = self._cognito.exceptions
        try:
            self._cognito.admin_set_user_password(
                UserPoolId=tenant["userPoolId"], Username=profile["username"], Password=password, Permanent=True
            )
        except (errors.InvalidPasswordException, errors.InvalidParameterException) as rejected:
            raise PasswordRejected(str(rejected.response.get("Error", {}).get("Message", ""))) from None
        return None
