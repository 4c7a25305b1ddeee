"""UserRegistration and activation, executed for real on the local runtime."""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest

from helpers import ACTIVATION_TTL_SECONDS, onboarding_request, registration_request
from tenantry import schemas

ONBOARDING = "TenantOnboardingStateMachineArn"
REGISTRATION = "UserRegistrationStateMachineArn"


@pytest.fixture(scope="module")
def tenants(tenantry):
    """One shared and one dedicated tenant, each with its admin's profile."""
    found = {}
    for isolation in ("shared", "dedicated"):
        request_id = tenantry.request_id(f"reg-{isolation}")
        tenantry.post("TenantOnboardingRequested", onboarding_request(request_id, isolation))
        assert tenantry.wait_execution(ONBOARDING, f"onboard-{request_id}")["status"] == "SUCCEEDED"
        [tenant] = tenantry.tenants_for_request(request_id)
        found[isolation] = tenant
    return found


def register(tenantry, detail):
    tenantry.post("UserRegistrationRequested", detail)
    return tenantry.wait_execution_state(REGISTRATION, f"register-{detail['requestId']}")


def code_for(outbound, user_id):
    [event] = outbound.wait_for("UserActivationCodeIssued", userId=user_id)
    return event["detail"]["code"]


def registered_user(tenantry, outbound, request_id):
    [event] = outbound.wait_for("UserRegistered", requestId=request_id)
    return event["detail"]["userId"]


def activate(tenantry, code):
    request_id = tenantry.request_id("act")
    tenantry.post("UserActivationRequested", {"requestId": request_id, "code": code})
    return request_id


def make_user(tenantry, outbound, tenant, role, activate_it=True):
    request_id = tenantry.request_id(f"mk-{role.lower()}")
    execution = register(tenantry, registration_request(request_id, tenant["tenantId"], role))
    assert execution["state"] == "IssueActivationCodeAndWait", execution
    user_id = registered_user(tenantry, outbound, request_id)
    if activate_it:
        activate(tenantry, code_for(outbound, user_id))
        assert tenantry.wait_execution(REGISTRATION, f"register-{request_id}")["status"] == "SUCCEEDED"
    return user_id


def waiting_task_token(tenantry, name):
    """The task token Step Functions handed to the execution's IssueActivationCodeAndWait (in its history)."""
    history = tenantry.history(tenantry.execution_arn(REGISTRATION, name))
    parameters = [json.loads(e["taskScheduledEventDetails"]["parameters"]) for e in history if e["type"] == "TaskScheduled"]
    [token] = [p["Payload"]["taskToken"] for p in parameters if "taskToken" in p.get("Payload", {})]
    assert len(token) > 16
    return token


def stream_images(tenantry):
    """Every record of the table's stream, as a consumer reads them."""
    streams = tenantry.aws("dynamodbstreams")
    arn = tenantry.ddb.describe_table(TableName=tenantry.outputs["TableName"])["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        page = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
        while page["Records"]:
            records += page["Records"]
            page = streams.get_records(ShardIterator=page["NextShardIterator"], Limit=1000)
    return records


# ------------------------------------------------------------------------------------- to ACTIVE
@pytest.mark.parametrize("isolation", ["shared", "dedicated"])
def test_registration_then_activation_makes_an_active_user(tenantry, outbound, tenants, isolation):
    tenant = tenants[isolation]
    request_id = tenantry.request_id("reg")
    # Given a registration request
    detail = registration_request(request_id, tenant["tenantId"], "Member", name="grace  hopper-smith")
    # When it is posted, the execution waits for activation, visible as RUNNING
    pending = register(tenantry, detail)
    assert pending["status"] == "RUNNING" and pending["state"] == "IssueActivationCodeAndWait"
    user_id = registered_user(tenantry, outbound, request_id)
    profile = tenantry.item(f"USER#{user_id}", "PROFILE")
    assert profile["status"] == "PENDING" and profile["handle"] == "@GraceHopperSmith"
    assert profile["badges"] == ["NEW_MEMBER"] and profile["data"] == {} and profile["role"] == "Member"
    assert profile["tenantId"] == tenant["tenantId"]
    user = tenantry.cognito.admin_get_user(UserPoolId=tenant["userPoolId"], Username=profile["username"])
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["sub"] == user_id and attributes["custom:tenant_id"] == tenant["tenantId"]
    groups = tenantry.cognito.admin_list_groups_for_user(UserPoolId=tenant["userPoolId"], Username=profile["username"])["Groups"]
    assert [g["GroupName"] for g in groups] == ["Member"]
    # The code is stored only as a hash
    code = code_for(outbound, user_id)
    assert len(code) >= 43  # 256 bits, url-safe base64
    assert code not in json.dumps(tenantry.ddb.scan(TableName=tenantry.outputs["TableName"])["Items"])
    # and the task token the registration waits on is in neither the table nor its stream: reading them is
    # not enough to resume the registration
    token = waiting_task_token(tenantry, f"register-{request_id}")
    assert token not in json.dumps(tenantry.ddb.scan(TableName=tenantry.outputs["TableName"])["Items"])
    assert token not in json.dumps(stream_images(tenantry), default=str)
    # When the user activates
    activate(tenantry, code)
    done = tenantry.wait_execution(REGISTRATION, f"register-{request_id}")
    # Then the profile is ACTIVE, the email verified, UserActivated published
    assert done["status"] == "SUCCEEDED" and tenantry.states(done["executionArn"])[-1] == "UserActivated"
    assert tenantry.item(f"USER#{user_id}", "PROFILE")["status"] == "ACTIVE"
    user = tenantry.cognito.admin_get_user(UserPoolId=tenant["userPoolId"], Username=profile["username"])
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["email_verified"] == "true"
    assert outbound.wait_for("UserActivated", userId=user_id)
    # The code never reached a log
    tenantry.rt.wait_settled()
    for log in tenantry.rt.log_dir.glob("*.log"):
        assert code not in log.read_text(), log.name


def test_signing_in_records_the_sign_in_and_tokens_carry_the_tenant(tenantry, outbound, tenants):
    tenant = tenants["dedicated"]
    user_id = make_user(tenantry, outbound, tenant, "SuperUser")
    profile = tenantry.item(f"USER#{user_id}", "PROFILE")
    assert "lastSignInAt" not in profile
    tenantry.cognito.admin_set_user_password(
        UserPoolId=tenant["userPoolId"], Username=profile["username"], Password="Correct-Horse-9", Permanent=True
    )
    tokens = tenantry.cognito.initiate_auth(
        ClientId=tenant["appClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": profile["username"], "PASSWORD": "Correct-Horse-9"},
    )["AuthenticationResult"]
    for token in (tokens["IdToken"], tokens["AccessToken"]):
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        assert (claims["tenant_id"], claims["role"], claims["isolation"]) == (tenant["tenantId"], "SuperUser", "dedicated")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "lastSignInAt" not in tenantry.item(f"USER#{user_id}", "PROFILE"):
        time.sleep(0.1)
    assert "lastSignInAt" in tenantry.item(f"USER#{user_id}", "PROFILE")


def test_an_unused_code_expires_disables_the_user_and_marks_the_profile(tenantry, outbound, tenants):
    tenant = tenants["shared"]
    request_id = tenantry.request_id("exp")
    register(tenantry, registration_request(request_id, tenant["tenantId"]))
    user_id = registered_user(tenantry, outbound, request_id)
    code = code_for(outbound, user_id)
    done = tenantry.wait_execution(REGISTRATION, f"register-{request_id}", timeout=ACTIVATION_TTL_SECONDS + 20)
    assert done["status"] == "SUCCEEDED" and tenantry.states(done["executionArn"])[-1] == "ActivationExpired"
    profile = tenantry.item(f"USER#{user_id}", "PROFILE")
    assert profile["status"] == "EXPIRED"
    assert tenantry.cognito.admin_get_user(UserPoolId=tenant["userPoolId"], Username=profile["username"])["Enabled"] is False
    assert outbound.wait_for("UserActivationExpired", userId=user_id)
    # The expired code changes nothing and says why
    refused = activate(tenantry, code)
    [event] = outbound.wait_for("UserActivationFailed", requestId=refused)
    assert event["detail"]["reason"] == "CODE_EXPIRED"
    assert tenantry.item(f"USER#{user_id}", "PROFILE")["status"] == "EXPIRED"


def test_wrong_and_used_codes_change_nothing_and_say_why(tenantry, outbound, tenants):
    tenant = tenants["dedicated"]
    request_id = tenantry.request_id("codes")
    register(tenantry, registration_request(request_id, tenant["tenantId"]))
    user_id = registered_user(tenantry, outbound, request_id)
    code = code_for(outbound, user_id)
    wrong = activate(tenantry, code[:-4] + "AAAA")
    [event] = outbound.wait_for("UserActivationFailed", requestId=wrong)
    assert (event["detail"]["reason"], event["detail"]["field"]) == ("INVALID_CODE", "code")
    assert tenantry.item(f"USER#{user_id}", "PROFILE")["status"] == "PENDING"
    first = activate(tenantry, code)
    assert tenantry.wait_execution(REGISTRATION, f"register-{request_id}")["status"] == "SUCCEEDED"
    # The same activation request delivered again is not a second use
    tenantry.post("UserActivationRequested", {"requestId": first, "code": code})
    again = activate(tenantry, code)
    [event] = outbound.wait_for("UserActivationFailed", requestId=again)
    assert event["detail"]["reason"] == "CODE_ALREADY_USED"
    assert outbound.matching("UserActivationFailed", requestId=first) == []
    assert len(outbound.matching("UserActivated", userId=user_id)) == 1
    # A malformed activation request names its field
    tenantry.post("UserActivationRequested", {"requestId": "act-no-code"})
    [event] = outbound.wait_for("UserActivationFailed", requestId="act-no-code")
    assert (event["detail"]["reason"], event["detail"]["field"]) == ("MISSING_FIELD", "code")


# ------------------------------------------------------------------------------------- duplicates, emails
def test_the_same_request_twice_and_at_once_gives_one_user(tenantry, outbound, tenants):
    tenant = tenants["shared"]
    request_id = tenantry.request_id("dup")
    detail = registration_request(request_id, tenant["tenantId"])
    barrier = threading.Barrier(3)

    def post_copy():
        barrier.wait()
        tenantry.post("UserRegistrationRequested", detail)

    def start_under_another_name():
        barrier.wait()
        tenantry.sfn.start_execution(
            stateMachineArn=tenantry.outputs[REGISTRATION],
            name=f"manual-{request_id}",
            input=json.dumps({"detailType": "UserRegistrationRequested", "detail": detail}),
        )

    threads = [
        threading.Thread(target=post_copy),
        threading.Thread(target=post_copy),
        threading.Thread(target=start_under_another_name),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    endings = sorted(
        tenantry.wait_execution_state(REGISTRATION, name)["state"] for name in (f"manual-{request_id}", f"register-{request_id}")
    )
    assert endings == ["DuplicateRequestIgnored", "IssueActivationCodeAndWait"]
    users = [u for u in tenantry.users_of_pool(tenant["userPoolId"]) if u["Username"].endswith(f"/{request_id}@example.com")]
    assert len(users) == 1
    assert len(outbound.wait_for("UserRegistered", requestId=request_id)) == 1


def test_the_same_email_twice_in_a_tenant_is_refused(tenantry, outbound, tenants):
    tenant = tenants["shared"]
    first_id, second_id = tenantry.request_id("em1"), tenantry.request_id("em2")
    register(tenantry, registration_request(first_id, tenant["tenantId"], email="same.person@example.com"))
    refused = register(tenantry, registration_request(second_id, tenant["tenantId"], email="Same.Person@example.com"))
    assert refused["status"] == "FAILED" and refused["error"] == "EMAIL_TAKEN"
    [event] = outbound.wait_for("UserRegistrationFailed", requestId=second_id)
    assert (event["detail"]["reason"], event["detail"]["field"]) == ("EMAIL_TAKEN", "email")
    assert outbound.matching("UserRegistered", requestId=second_id) == []


def test_one_address_written_in_two_unicode_forms_is_one_email(tenantry, outbound, tenants):
    tenant, local = tenants["dedicated"], tenantry.request_id("jose")
    first_id, second_id = tenantry.request_id("nfc"), tenantry.request_id("nfd")
    composed, decomposed = f"{local}-jos\u00e9@example.com", f"{local}-jose\u0301@EXAMPLE.com"  # é, and e + combining acute
    assert register(tenantry, registration_request(first_id, tenant["tenantId"], email=composed))["status"] == "RUNNING"
    refused = register(tenantry, registration_request(second_id, tenant["tenantId"], email=decomposed))
    assert refused["status"] == "FAILED" and refused["error"] == "EMAIL_TAKEN"
    user_id = registered_user(tenantry, outbound, first_id)
    assert tenantry.item(f"USER#{user_id}", "PROFILE")["email"] == composed  # kept in its composed (NFKC) form


def test_an_email_too_long_for_a_shared_pool_username_is_refused_before_anything_is_reserved(tenantry, outbound, tenants):
    # <tenantId>/<email> must fit Cognito's 128 characters: a shared-pool tenant's emails have at most 107
    request_id = tenantry.request_id("long")
    email = f"{request_id}-{'x' * (107 - len(request_id) - len('-@example.com') + 1)}@example.com"
    assert len(email) == 108
    refused = register(tenantry, registration_request(request_id, tenants["shared"]["tenantId"], email=email))
    assert refused["status"] == "FAILED" and refused["error"] == "TOO_LONG"
    [event] = outbound.wait_for("UserRegistrationFailed", requestId=request_id)
    assert (event["detail"]["reason"], event["detail"]["field"]) == ("TOO_LONG", "email")
    assert "at most 107 characters" in event["detail"]["message"]
    assert tenantry.item(f"EMAIL#{tenants['shared']['tenantId']}#{email}", "EMAIL") is None
    assert not [u for u in tenantry.users_of_pool(tenants["shared"]["userPoolId"]) if request_id in u["Username"]]
    # A dedicated pool's username is the email alone: the same length is fine there
    accepted = tenantry.request_id("long")
    email = f"{accepted}-{'x' * (107 - len(accepted) - len('-@example.com') + 1)}@example.com"
    assert (
        register(tenantry, registration_request(accepted, tenants["dedicated"]["tenantId"], email=email))["status"] == "RUNNING"
    )


def test_the_same_email_in_two_tenants_is_two_users(tenantry, outbound, tenants, tenantry_shared_second):
    email = f"{tenantry.request_id('both')}@example.com"
    created = []
    for tenant in (tenants["shared"], tenantry_shared_second):
        request_id = tenantry.request_id("two")
        execution = register(tenantry, registration_request(request_id, tenant["tenantId"], email=email))
        assert execution["state"] == "IssueActivationCodeAndWait"
        created.append(registered_user(tenantry, outbound, request_id))
    assert len(set(created)) == 2
    usernames = [
        u["Username"] for u in tenantry.users_of_pool(tenants["shared"]["userPoolId"]) if u["Username"].endswith(f"/{email}")
    ]
    assert sorted(usernames) == sorted(f"{t['tenantId']}/{email}" for t in (tenants["shared"], tenantry_shared_second))


@pytest.fixture(scope="module")
def tenantry_shared_second(tenantry):
    request_id = tenantry.request_id("reg-shared-2")
    tenantry.post("TenantOnboardingRequested", onboarding_request(request_id, "shared"))
    assert tenantry.wait_execution(ONBOARDING, f"onboard-{request_id}")["status"] == "SUCCEEDED"
    return tenantry.tenants_for_request(request_id)[0]


def test_handles_stay_unique_within_a_tenant(tenantry, outbound, tenants):
    tenant = tenants["dedicated"]
    handles = []
    for _ in range(2):
        request_id = tenantry.request_id("handle")
        register(tenantry, registration_request(request_id, tenant["tenantId"], name="Alan Turing"))
        handles.append(tenantry.item(f"USER#{registered_user(tenantry, outbound, request_id)}", "PROFILE")["handle"])
    assert handles[0] != handles[1] and {h.rstrip("0123456789") for h in handles} == {"@AlanTuring"}


# ------------------------------------------------------------------------------------- rejections
@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({"email": "nope"}, "INVALID_FORMAT", "email"),
        ({"role": "Owner"}, "VALUE_NOT_ALLOWED", "role"),
        ({"tenantId": "tnt-unknown"}, "TENANT_NOT_ACTIVE", "tenantId"),
    ],
)
def test_invalid_registrations_create_nothing(tenantry, outbound, tenants, change, reason, field):
    request_id = tenantry.request_id("badreg")
    detail = registration_request(request_id, tenants["shared"]["tenantId"], **change)
    execution = register(tenantry, detail)
    assert execution["status"] == "FAILED" and execution["error"] == reason
    [event] = outbound.wait_for("UserRegistrationFailed", requestId=request_id)
    assert (event["detail"]["reason"], event["detail"]["field"]) == (reason, field)
    assert outbound.matching("UserRegistered", requestId=request_id) == []
    assert not [
        u for u in tenantry.users_of_pool(tenants["shared"]["userPoolId"]) if u["Username"].endswith(f"/{request_id}@example.com")
    ]


ESCALATIONS = [
    pytest.param("SuperUser", "Admin", "same", "ROLE_NOT_ALLOWED", id="superuser-creates-admin"),
    pytest.param("Member", "ReadOnly", "same", "ROLE_NOT_ALLOWED", id="member-registers-anyone"),
    pytest.param("ReadOnly", "ReadOnly", "same", "ROLE_NOT_ALLOWED", id="readonly-registers-anyone"),
    pytest.param("Admin", "Member", "other", "REQUESTER_NOT_IN_TENANT", id="admin-of-another-tenant"),
]


@pytest.mark.parametrize(("requester_role", "new_role", "where", "reason"), ESCALATIONS)
def test_escalation_attempts_are_refused_and_leave_nothing(tenantry, outbound, tenants, requester_role, new_role, where, reason):
    home, other = tenants["dedicated"], tenants["shared"]
    requester = make_user(tenantry, outbound, home if where == "same" else other, requester_role)
    request_id = tenantry.request_id("esc")
    users_before = len(tenantry.users_of_pool(home["userPoolId"]))
    detail = registration_request(request_id, home["tenantId"], new_role, requestedBy=requester)
    execution = register(tenantry, detail)
    assert execution["status"] == "FAILED" and execution["error"] == reason
    [event] = outbound.wait_for("UserRegistrationFailed", requestId=request_id)
    assert event["detail"]["reason"] == reason
    assert len(tenantry.users_of_pool(home["userPoolId"])) == users_before
    assert tenantry.item(f"EMAIL#{home['tenantId']}#{request_id}@example.com", "EMAIL") is None


def test_an_admin_and_a_superuser_may_register_within_their_rank(tenantry, outbound, tenants):
    tenant = tenants["dedicated"]
    superuser = make_user(tenantry, outbound, tenant, "SuperUser")
    request_id = tenantry.request_id("ok")
    execution = register(tenantry, registration_request(request_id, tenant["tenantId"], "SuperUser", requestedBy=superuser))
    assert execution["state"] == "IssueActivationCodeAndWait"


@pytest.mark.parametrize("change", ["demoted", "disabled"])
def test_a_requester_is_judged_as_cognito_knows_them_now_not_as_their_profile_remembers(tenantry, outbound, tenants, change):
    # Given an Admin whose profile still says Admin and ACTIVE, but who was demoted (groups) or disabled in Cognito
    tenant = tenants["shared"]
    admin_id = make_user(tenantry, outbound, tenant, "Admin")
    username = tenantry.profile(admin_id)["username"]
    pool = {"UserPoolId": tenant["userPoolId"], "Username": username}
    if change == "demoted":
        tenantry.cognito.admin_add_user_to_group(**pool, GroupName="Member")
        tenantry.cognito.admin_remove_user_from_group(**pool, GroupName="Admin")
    else:
        tenantry.cognito.admin_disable_user(**pool)
    assert (tenantry.profile(admin_id)["role"], tenantry.profile(admin_id)["status"]) == ("Admin", "ACTIVE")
    # When a registration names them as its requester
    request_id = tenantry.request_id("stale")
    execution = register(tenantry, registration_request(request_id, tenant["tenantId"], "SuperUser", requestedBy=admin_id))
    # Then the role rule uses Cognito's answer: refused, nothing reserved
    expected = "ROLE_NOT_ALLOWED" if change == "demoted" else "REQUESTER_NOT_ACTIVE"
    assert execution["status"] == "FAILED" and execution["error"] == expected, execution
    assert tenantry.item(f"EMAIL#{tenant['tenantId']}#{request_id}@example.com", "EMAIL") is None


# ------------------------------------------------------------------------------------- failure after the user exists
@pytest.mark.parametrize(
    ("service", "operation", "match", "undo"),
    [
        ("cognito-idp", "AdminAddUserToGroup", "", ["UndoCognitoUser", "ReleaseRegistration"]),
        ("dynamodb", "PutItem", '"PROFILE"', ["UndoProfile", "UndoCognitoUser", "ReleaseRegistration"]),
        ("lambda", "Invoke", "IssueActivationCode", ["UndoProfile", "UndoCognitoUser", "ReleaseRegistration"]),
    ],
    ids=["add-to-group", "save-profile", "issue-code"],
)
def test_a_failure_after_the_user_exists_undoes_it(tenantry, outbound, tenants, service, operation, match, undo):
    tenant = tenants["shared"]
    error = {
        "cognito-idp": "InvalidParameterException",
        "dynamodb": "ResourceNotFoundException",
        "lambda": "ResourceNotFoundException",
    }[service]
    tenantry.arm_fault(service=service, operation=operation, error=error, match=match)
    request_id = tenantry.request_id("undo")
    email = f"{request_id}@example.com"
    tenantry.post("UserRegistrationRequested", registration_request(request_id, tenant["tenantId"]))
    execution = tenantry.wait_execution(REGISTRATION, f"register-{request_id}")
    assert execution["status"] == "FAILED", tenantry.rt.faults.pending()
    states = tenantry.states(execution["executionArn"])
    assert states[-(len(undo) + 2) :] == [*undo, "EmitRegistrationFailed", "RegistrationFailed"], states
    assert not [u for u in tenantry.users_of_pool(tenant["userPoolId"]) if u["Username"].endswith(f"/{email}")]
    assert [p for p in tenantry.profiles_of(tenant["tenantId"]) if p.get("username", {}).get("S", "").endswith(email)] == []
    assert tenantry.item(f"EMAIL#{tenant['tenantId']}#{email}", "EMAIL") is None  # the email is free again
    [event] = outbound.wait_for("UserRegistrationFailed", requestId=request_id)
    assert event["detail"]["reason"] == "REGISTRATION_FAILED"
    schemas.check("UserRegistrationFailed", event["detail"])
