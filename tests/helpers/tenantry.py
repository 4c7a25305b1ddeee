"""Tenantry driven by the tests through the same client as the demo and the bench
(tenantry_local.client), with what only the tests need: a watcher that also checks no event but
UserActivationCodeIssued carries a secret, and test-sized helpers that read the table and the pools."""

from __future__ import annotations

import json
import re
from typing import Any

from helpers import onboarding_request, registration_request
from tenantry.adapters.dynamodb import from_item
from tenantry_local.client import OutboundEvents, TenantryClient

SECRET_BEARING_EVENT = "UserActivationCodeIssued"
SECRET_FIELD = re.compile(r"(?i)code|token|password|secret")


class CheckedOutboundEvents(OutboundEvents):
    """Every event Tenantry published on its bus while the session ran, each checked for its schema and
    source (as the client does) and for secrets."""

    def __init__(self, runtime: Any):
        super().__init__(runtime.client, runtime.outputs["EventBusName"], name="test-outbound-watch", settle=runtime.wait_settled)
        self.codes: set[str] = set()

    def check(self, event: dict[str, Any]) -> list[str]:
        found = super().check(event)
        if event["detail-type"] == SECRET_BEARING_EVENT:
            self.codes.add(event["detail"]["code"])
        else:
            found += self._secrets_in(event)
        return found

    def _secrets_in(self, event: dict[str, Any]) -> list[str]:
        """No event but UserActivationCodeIssued carries a secret: no code, token or password field, and
        none of the activation codes issued so far anywhere in it."""
        text = json.dumps(event["detail"])
        found = [f"{event['detail-type']}: field {k}" for k in event["detail"] if SECRET_FIELD.search(k)]
        found += [f"{event['detail-type']}: carries an activation code" for code in self.codes if code in text]
        return found


class Tenantry(TenantryClient):
    """What an upstream system and an operator do, in test-sized helpers."""

    def __init__(self, runtime: Any, outbound: CheckedOutboundEvents):
        super().__init__(runtime.client, runtime.outputs, settle=runtime.wait_settled, source="test.crm", outbound=outbound)
        self.rt = runtime
        self.register_source()  # the tests' upstream system may ask for anything (tests of grants use other sources)

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.ddb.get_item(
            TableName=self.outputs["TableName"], Key={"PK": {"S": pk}, "SK": {"S": sk}}, ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def tenants_for_request(self, request_id: str) -> list[dict[str, Any]]:
        return self.tenants([request_id])

    def pools_named(self, name: str) -> list[dict[str, Any]]:
        pages = self.cognito.get_paginator("list_user_pools").paginate(MaxResults=60)  # every pool, every page
        return [p for page in pages for p in page["UserPools"] if p["Name"] == name]

    def users_of_pool(self, pool_id: str) -> list[dict[str, Any]]:
        """Every user of the pool, every page (the shared pool holds every test's users)."""
        pages = self.cognito.get_paginator("list_users").paginate(UserPoolId=pool_id)
        return [user for page in pages for user in page["Users"]]

    def shared_users_of(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's users in the shared pool (ListUsers' username prefix, as offboarding finds them)."""
        pages = self.cognito.get_paginator("list_users").paginate(
            UserPoolId=self.outputs["SharedUserPoolId"], Filter=f'username ^= "{tenant_id}/"'
        )
        return [user for page in pages for user in page["Users"]]

    def profiles_of(self, tenant_id: str) -> list[dict[str, Any]]:
        return self.ddb.query(
            TableName=self.outputs["TableName"],
            IndexName="ByTenant",
            KeyConditionExpression="GSI1PK = :t",
            ExpressionAttributeValues={":t": {"S": f"TENANT#{tenant_id}"}},
        )["Items"]

    def tokens(self, user: dict[str, Any]) -> dict[str, Any]:
        """A fresh sign-in of `user` (as `active_user` returns them): Cognito's AuthenticationResult."""
        return dict(self.sign_in(user["clientId"], user["username"], user["password"])["AuthenticationResult"])

    def bearer(self, user: dict[str, Any]) -> dict[str, str]:
        """The Authorization header of a fresh sign-in of `user`, for the Identity API."""
        return {"Authorization": f"Bearer {self.tokens(user)['AccessToken']}"}

    def stranger_token(self) -> str:
        """An access token of a user pool registered for no tenant (same region, same signing key offline)."""
        pool = self.cognito.create_user_pool(PoolName=self.request_id("stranger-pool"))["UserPool"]["Id"]
        client = self.cognito.create_user_pool_client(
            UserPoolId=pool, ClientName="stranger", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        )["UserPoolClient"]["ClientId"]
        self.cognito.admin_create_user(UserPoolId=pool, Username="mallory@example.com", MessageAction="SUPPRESS")
        self.cognito.admin_set_user_password(
            UserPoolId=pool, Username="mallory@example.com", Password="Correct-Horse-9", Permanent=True
        )
        return str(self.sign_in(client, "mallory@example.com", "Correct-Horse-9")["AuthenticationResult"]["AccessToken"])

    def arm_fault(self, **spec: Any) -> None:
        self.rt.faults.arm(spec)

    def onboarded(self, isolation: str) -> dict[str, Any]:
        return self.onboard(onboarding_request(self.request_id(f"t-{isolation}"), isolation))

    def active_user(
        self, tenant: dict[str, Any], role: str = "Member", password: str = "Correct-Horse-9", **request: Any
    ) -> dict[str, Any]:
        """Register and activate a user (as the registration workflow does), give them a password. `request`
        overrides fields of the registration request (a `name`: a tenant has at most 50 users of one name)."""
        request_id = self.request_id(f"u-{role.lower()}")
        profile = self.register_and_activate(registration_request(request_id, tenant["tenantId"], role, **request))
        self.cognito.admin_set_user_password(
            UserPoolId=tenant["userPoolId"], Username=profile["username"], Password=password, Permanent=True
        )
        return {**profile, "userPoolId": tenant["userPoolId"], "clientId": tenant["appClientId"], "password": password}
