"""Every change the local runtime makes to moto, in this one file.

moto (pinned exactly in requirements-dev.lock) provides the AWS APIs and the Step Functions interpreter;
what it lacks offline is measured in docs/moto-offline-findings.md. Each patch below fills one of
those gaps, is applied by `install()`, and has a check in `verify()` that tells whether it still takes
effect: a moto upgrade that moves an internal makes tests/runtime/test_moto_patches.py fail, not the demo.

A patch only hooks moto; what happens there is the job of the module it hands over to (rule delivery,
Cognito triggers, the API middleware chain), through the services a running LocalRuntime has bound
(tenantry_local.binding). Unbound, every patch leaves moto's behaviour as it was.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tenantry_local import binding, s3_post_policy
from tenantry_local import cognito_mailbox as _mailbox
from tenantry_local import cognito_triggers as _triggers
from tenantry_local.api_calls import CALLER_HEADER, ApiCall, run_chain
from tenantry_local.rule_delivery import delivered_by_runtime

LOG = logging.getLogger("tenantry_local.moto")


_installed = False
_install_lock = threading.Lock()


# ---------------------------------------------------------------------------------------------------
# 1. Step Functions: aws-sdk:cognitoidentityprovider:* tasks (moto knows no such boto service name).
def _patch_sfn_cognito_sdk() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service,
        state_task_service_aws_sdk,
    )

    state_task_service.StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES["cognitoidentityprovider"] = "cognito-idp"
    state_task_service_aws_sdk._SERVICE_ERROR_NAMES["cognitoidentityprovider"] = "CognitoIdentityProvider"


def _check_sfn_cognito_sdk() -> bool:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service,
        state_task_service_aws_sdk,
    )

    overrides = state_task_service.StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES
    return (
        overrides.get("cognitoidentityprovider") == "cognito-idp"
        and state_task_service_aws_sdk._SERVICE_ERROR_NAMES.get("cognitoidentityprovider") == "CognitoIdentityProvider"
    )


# 1b. Step Functions: aws-sdk tasks name their parameters in PascalCase even where the service's own API is
# camelCase (Step Functions maps them: `ExecutionArn` is StopExecution's `executionArn`); moto passes them
# through unmapped, so such a call reaches the service without its parameters.
def _patch_sfn_sdk_parameter_names() -> None:
    import botocore.session
    from botocore import xform_name
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    session = botocore.session.get_session()

    def normalise(
        self: Any, parameters: dict[str, Any], boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        model = session.get_service_model(boto_service_name or self._get_boto_service_name())
        action = service_action_name or self._get_boto_service_action()
        operations = {xform_name(name): name for name in model.operation_names}
        if action in operations:
            self._to_boto_request(parameters, model.operation_model(operations[action]).input_shape)

    normalise._tenantry = True  # type: ignore[attr-defined]
    StateTaskServiceAwsSdk._normalise_parameters = normalise  # type: ignore[method-assign]


def _check_sfn_sdk_parameter_names() -> bool:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    return _marked(StateTaskServiceAwsSdk._normalise_parameters, "_tenantry")


# 1c. Step Functions: StopExecution ends an execution at once, as on AWS; moto's interpreter flags it stopped
# but a task waiting for a task token keeps waiting (up to its timeout, a day by default) before it notices.
def _patch_sfn_stop_wakes_waiting_tasks() -> None:
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeFailure
    from moto.stepfunctions.parser.backend.execution import Execution

    original = Execution.stop

    def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        original(self, stop_date, error, cause)
        worker = self.exec_worker
        if worker is None:
            return
        pool = worker.env.callback_pool_manager
        for callback_id, endpoint in list(pool._pool.items()):
            if endpoint.get_outcome() is None:  # still waiting: wake it; the stopped program then ends, ABORTED
                # (a custom error name: the interpreter refuses a "States." one from a callback)
                endpoint.notify(CallbackOutcomeFailure(callback_id, "ExecutionStopped", cause or "the execution was stopped"))

    stop._tenantry = True  # type: ignore[attr-defined]
    stop.__wrapped__ = original  # type: ignore[attr-defined]
    Execution.stop = stop  # type: ignore[method-assign]

    # The woken task fails; a stopped execution stays ABORTED whatever its task does after (as on AWS).
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    original_set_error = Environment.set_error

    def set_error(self: Any, error: Any) -> None:
        if not isinstance(self.program_state(), ProgramStopped):
            original_set_error(self, error)

    set_error._tenantry = True  # type: ignore[attr-defined]
    set_error.__wrapped__ = original_set_error  # type: ignore[attr-defined]
    Environment.set_error = set_error  # type: ignore[method-assign]


def _check_sfn_stop_wakes_waiting_tasks() -> bool:
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.backend.execution import Execution

    return _marked(Execution.stop, "_tenantry") and _marked(Environment.set_error, "_tenantry")


# 1d. Step Functions: each task's AWS calls name the task (`<execution>/<state>` in CALLER_HEADER), so that a
# fault can be armed at one state of one workflow (tenantry_local.faults: `caller`). Local-only: the header
# is added by the interpreter's clients, in this process; nothing deployed sends or reads it.
_task_caller = threading.local()


def _patch_sfn_task_calls_name_their_state() -> None:
    import boto3
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService

    original = StateTaskService._eval_execution

    def eval_execution(self: Any, env: Any) -> None:
        context = env.states.context_object.context_object_data
        _task_caller.name = f"{context['Execution']['Name']}/{context['State']['Name']}"
        try:
            original(self, env)
        finally:
            _task_caller.name = ""

    def name_the_caller(request: Any, **_: Any) -> None:
        caller = getattr(_task_caller, "name", "")
        if caller:
            request.headers[CALLER_HEADER] = caller

    eval_execution._tenantry = True  # type: ignore[attr-defined]
    eval_execution.__wrapped__ = original  # type: ignore[attr-defined]
    StateTaskService._eval_execution = eval_execution  # type: ignore[method-assign]
    session = boto3._get_default_session()  # the interpreter's clients (boto_client_for) are made from it
    session.events.register("before-sign", name_the_caller, unique_id="tenantry-task-caller")
    session._tenantry_task_caller = True  # type: ignore[attr-defined]


def _check_sfn_task_calls_name_their_state() -> bool:
    import boto3
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService

    return _marked(StateTaskService._eval_execution, "_tenantry") and getattr(
        boto3._get_default_session(), "_tenantry_task_caller", False
    )


# 1e. Step Functions: the error names of optimized-integration tasks, as AWS names them. moto's interpreter fails an
# events:putEvents task whose call was refused with States.Runtime (which no `States.TaskFailed` retrier or catcher
# matches) where AWS fails it as a task error, and names a dynamodb:* task's error after the error code
# (`DynamoDB.InternalServerError`) where AWS uses the SDK's exception name (`DynamoDB.InternalServerErrorException`).
_DYNAMODB_EXCEPTION_NAMES = {"InternalServerError": "InternalServerErrorException"}


def _patch_sfn_task_error_names() -> None:
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb import (
        StateTaskServiceDynamoDB,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events import (
        StateTaskServiceEvents,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    events_from_error = StateTaskServiceEvents._from_error
    dynamodb_error_cause = StateTaskServiceDynamoDB._error_cause_from_client_error

    def events_task_error(self: Any, env: Any, ex: Exception) -> Any:
        if not isinstance(ex, ClientError):
            return events_from_error(self, env, ex)
        error = f"EventBridge.{ex.response['Error']['Code']}"
        details = TaskFailedEventDetails(
            error=error,
            cause=ex.response["Error"].get("Message", ""),
            resource=self._get_sfn_resource(),
            resourceType=self._get_sfn_resource_type(),
        )
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(taskFailedEventDetails=details),  # type: ignore[typeddict-item]  # one kind, as moto sets it
        )

    def dynamodb_task_error(client_error: Any) -> tuple[str, str]:
        error, cause = dynamodb_error_cause(client_error)
        code = error.removeprefix("DynamoDB.")
        return f"DynamoDB.{_DYNAMODB_EXCEPTION_NAMES.get(code, code)}", cause

    events_task_error._tenantry = True  # type: ignore[attr-defined]
    dynamodb_task_error._tenantry = True  # type: ignore[attr-defined]
    StateTaskServiceEvents._from_error = events_task_error  # type: ignore[method-assign]
    StateTaskServiceDynamoDB._error_cause_from_client_error = staticmethod(dynamodb_task_error)  # type: ignore[method-assign]


def _check_sfn_task_error_names() -> bool:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb import (
        StateTaskServiceDynamoDB,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events import (
        StateTaskServiceEvents,
    )

    return _marked(StateTaskServiceEvents._from_error, "_tenantry") and _marked(
        StateTaskServiceDynamoDB._error_cause_from_client_error, "_tenantry"
    )


# 1f. Step Functions: moto parses a state machine's definition again (ANTLR, in Python) for every execution it
#     starts: measured, half the runtime's CPU in 20 onboardings posted at once. The parse tree depends on the
#     definition's text alone and is only read afterwards: it is kept, and each execution still gets components of
#     its own from it (the preprocessor's output holds an execution's state, the tree does not).
_PARSE_TREES_KEPT = 64


def _patch_sfn_parses_each_definition_once() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = AmazonStateLanguageParser.parse
    trees: dict[str, Any] = {}
    lock = threading.Lock()

    def parse(definition: str) -> tuple[Any, Any]:
        tree = trees.get(definition)
        if tree is None:
            program, tree = original(definition)  # (a definition that does not parse raises, and is not kept)
            with lock:
                if len(trees) >= _PARSE_TREES_KEPT:
                    trees.clear()
                trees[definition] = tree
            return program, tree
        return Preprocessor().visit(tree), tree

    parse._tenantry = True  # type: ignore[attr-defined]
    parse.__wrapped__ = original  # type: ignore[attr-defined]
    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]


def _check_sfn_parses_each_definition_once() -> bool:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    return _marked(AmazonStateLanguageParser.parse, "_tenantry")


# 1g. Step Functions: moto builds a new boto3 client for every task it runs (a copy of the session's whole event
#     system each time), and a new JSONPath parser, yacc tables included, for every path it evaluates (EventBridge's
#     input transformers too). Both depend on their arguments alone and are safe to share between threads: kept.
#     With 1f and 8b, 20 onboardings posted at once went from 5.3 s and 7.0 CPU-seconds to 2.7 s and 3.9
#     (the runtime's own process: 5.5 to 2.2 CPU-seconds; the rest is the function workers' cold starts).
def _patch_sfn_keeps_clients_and_paths() -> None:
    import functools
    import sys

    from moto.stepfunctions.parser.asl.utils import boto_client, json_path

    make_client = boto_client.boto_client_for
    clients: dict[tuple[str, str, bool, int, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port

        # (moto signs every task's call with fixed keys today; the credentials are in the key should that change)
        key = (region, service, bool(botocore_stubber.enabled), int(moto_server_port()), repr(state_credentials))
        client = clients.get(key)
        if client is None:
            with lock:
                client = clients.get(key) or make_client(region=region, service=service, state_credentials=state_credentials)
                clients[key] = client
        return client

    boto_client_for._tenantry = True  # type: ignore[attr-defined]
    boto_client_for.__wrapped__ = make_client  # type: ignore[attr-defined]
    # (imported by name into every task module: each module's name is replaced)
    for module in list(sys.modules.values()):
        if (getattr(module, "__name__", "") or "").startswith("moto.stepfunctions") and getattr(
            module, "boto_client_for", None
        ) is make_client:
            module.boto_client_for = boto_client_for  # type: ignore[attr-defined]
    # (EventBridge's input transformers import it at each call: the package's own name is replaced too)
    import jsonpath_ng.ext

    jsonpath_ng.ext.parse = json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)


def _check_sfn_keeps_clients_and_paths() -> bool:
    import jsonpath_ng.ext
    from moto.stepfunctions.parser.asl.utils import boto_client, json_path

    return (
        _marked(boto_client.boto_client_for, "_tenantry")
        and hasattr(json_path.parse, "cache_info")
        and (jsonpath_ng.ext.parse is json_path.parse)
    )


# ---------------------------------------------------------------------------------------------------
# 2. Step Functions: Wait states and Retry intervals on a time scale (the deployed definitions keep real
#    intervals; offline, a 1 s retry interval with time_scale 0.01 waits 10 ms).
class _ScaledTime:
    def __init__(self, real: Any):
        self._real = real

    def sleep(self, seconds: float) -> None:
        self._real.sleep(max(0.0, seconds * _time_scale()))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _time_scale() -> float:
    services = binding.current()
    return services.time_scale if services else 1.0


def _patch_sfn_time_scale() -> None:
    import time

    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

    retrier_decl.time = _ScaledTime(time)  # type: ignore[assignment]

    def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds * _time_scale())

    wait_function.WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]
    wait_function.WaitFunction._tenantry_scaled = True  # type: ignore[attr-defined]


def _check_sfn_time_scale() -> bool:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

    return isinstance(retrier_decl.time, _ScaledTime) and getattr(wait_function.WaitFunction, "_tenantry_scaled", False)


# ---------------------------------------------------------------------------------------------------
# 3. Lambda Invoke runs the template's handler (moto wants Docker). Used by state machine lambda:invoke
#    tasks, the AWS CLI and every other client.
def _patch_lambda_invoke() -> None:
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.invoke

    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        services = binding.current()
        if services is None or services.lambdas.resolve(self.function_name) is None:
            return original(self, body, request_headers, response_headers)
        lambdas = services.lambdas
        services.faults.raise_if_due("lambda", "Invoke", self.function_name)  # a fault armed for one function
        event = json.loads(body) if body else {}
        if request_headers.get("X-Amz-Invocation-Type") == "Event":
            lambdas.invoke_async(self.function_name, event)
            return b""
        result = lambdas.invoke(self.function_name, event)
        if not result.ok:
            response_headers["x-amz-function-error"] = result.function_error
        return json.dumps(result.payload).encode()

    invoke._tenantry = True  # type: ignore[attr-defined]
    LambdaFunction.invoke = invoke  # type: ignore[method-assign]


def _check_lambda_invoke() -> bool:
    from moto.awslambda.models import LambdaFunction

    return getattr(LambdaFunction.invoke, "_tenantry", False)


# ---------------------------------------------------------------------------------------------------
# 4. EventBridge rule targets that are functions or state machines (moto raises NotImplementedError):
#    handed to tenantry_local.rule_delivery.
def _patch_events_targets() -> None:
    from moto.events.models import Rule

    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> Any:
        services = binding.current()
        if services is None:
            return original(self, original_event, transform_input)
        # A schedule rule has no event pattern, which moto takes as "match everything": on AWS it matches
        # no event at all (tenantry_local.schedules fires it).
        if (self.scheduled_expression and not self.event_pattern.get_pattern()) or not self.event_pattern.matches_event(
            original_event
        ):
            return
        ours = [t for t in self.targets if delivered_by_runtime(t["Arn"])]
        others = [t for t in self.targets if t not in ours]
        if others:
            rest = copy.copy(self)
            rest.targets = others
            original(rest, original_event, transform_input)
        for target in ours:
            services.rules.deliver_later(self, target, original_event)
        return None

    send_to_targets._tenantry = True  # type: ignore[attr-defined]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _check_events_targets() -> bool:
    from moto.events.models import Rule

    return getattr(Rule.send_to_targets, "_tenantry", False)


# 4b. EventBridge replays: moto replays every archived event, whatever the window, to every rule of the bus. AWS
#     replays the events of the window (EventStartTime to EventEndTime) only, and only to the rules named in the
#     destination's FilterArns when it names some.
def _patch_events_replay_window() -> None:
    from moto.events.models import Replay, ReplayState, events_backends
    from moto.moto_api._internal import mock_random

    def replay_events(self: Any, archive: Any) -> None:
        bus = events_backends[self.account_id][self.region].describe_event_bus(self.destination["Arn"].split("/")[-1])
        only = set(self.destination.get("FilterArns") or [])
        rules = [rule for rule in bus.rules.values() if not only or rule.arn in only]
        start, end = _epoch(self.event_start_time), _epoch(self.event_end_time)
        for event in list(archive.events):
            if start <= _epoch(event.get("time", 0)) <= end:
                replayed = dict(event, **{"id": str(mock_random.uuid4()), "replay-name": self.name})
                for rule in rules:
                    rule.send_to_targets(replayed, transform_input=False)  # type: ignore[arg-type]  # (as moto passes it)
        self.state = ReplayState.COMPLETED
        self.end_time = time.time()

    replay_events._tenantry = True  # type: ignore[attr-defined]
    Replay.replay_events = replay_events  # type: ignore[method-assign]


def _epoch(value: Any) -> float:
    """An event's or a replay's time as seconds since the epoch (moto keeps numbers; a log target makes ISO text)."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _check_events_replay_window() -> bool:
    from moto.events.models import Replay

    return getattr(Replay.replay_events, "_tenantry", False)


# ---------------------------------------------------------------------------------------------------
# 5. Cognito: Lambda triggers of every pool (moto stores LambdaConfig but never calls it), tokens that
#    carry the claims pre token generation adds, AllowAdminCreateUserOnly and app-client WriteAttributes.


def _patch_cognito() -> None:  # noqa: C901 - one wrapper per Cognito operation, kept together
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPool

    admin_create_user = CognitoIdpBackend.admin_create_user
    sign_up = CognitoIdpBackend.sign_up
    confirm_sign_up = CognitoIdpBackend.confirm_sign_up
    admin_confirm_sign_up = CognitoIdpBackend.admin_confirm_sign_up
    confirm_forgot_password = CognitoIdpBackend.confirm_forgot_password
    update_user_attributes = CognitoIdpBackend.update_user_attributes
    create_refresh_token = CognitoIdpUserPool.create_refresh_token
    create_jwt = CognitoIdpUserPool.create_jwt

    def admin_create_user_(
        self: Any,
        user_pool_id: str,
        username: str,
        message_action: str,
        temporary_password: str,
        attributes: list[dict[str, str]],
    ) -> Any:
        pool = self.describe_user_pool(user_pool_id)
        if message_action != "RESEND":
            _triggers.pre_sign_up(pool, username, attributes, "PreSignUp_AdminCreateUser", client_id=None)
        return admin_create_user(self, user_pool_id, username, message_action, temporary_password, attributes)

    def sign_up_(self: Any, client_id: str, username: str, password: str, attributes: list[dict[str, str]]) -> Any:
        pool = _triggers.pool_of_client(self, client_id)
        if pool is not None:
            if pool.extended_config.get("AdminCreateUserConfig", {}).get("AllowAdminCreateUserOnly"):
                raise NotAuthorizedError("SignUp is not permitted for this user pool")
            _triggers.pre_sign_up(pool, username, attributes, "PreSignUp_SignUp", client_id=client_id)
        return sign_up(self, client_id, username, password, attributes)

    def confirm_sign_up_(self: Any, client_id: str, username: str) -> Any:
        result = confirm_sign_up(self, client_id, username)
        pool = _triggers.pool_of_client(self, client_id)
        if pool is not None:
            _triggers.post_confirmation(pool, username, "PostConfirmation_ConfirmSignUp", client_id)
        return result

    def admin_confirm_sign_up_(self: Any, user_pool_id: str, username: str) -> Any:
        result = admin_confirm_sign_up(self, user_pool_id, username)
        _triggers.post_confirmation(self.describe_user_pool(user_pool_id), username, "PostConfirmation_ConfirmSignUp", None)
        return result

    def confirm_forgot_password_(self: Any, client_id: str, username: str, password: str, confirmation_code: str) -> Any:
        result = confirm_forgot_password(self, client_id, username, password, confirmation_code)
        pool = _triggers.pool_of_client(self, client_id)
        if pool is not None:
            _triggers.post_confirmation(pool, username, "PostConfirmation_ConfirmForgotPassword", client_id)
        return result

    def update_user_attributes_(self: Any, access_token: str, attributes: list[dict[str, str]]) -> Any:
        for pool in self.user_pools.values():
            if access_token in pool.access_tokens:
                client_id, _ = pool.access_tokens[access_token]
                writable = pool.clients[client_id].extended_config.get("WriteAttributes")
                refused = [a["Name"] for a in attributes if writable is not None and a["Name"] not in writable]
                if refused:
                    raise NotAuthorizedError(f"A client attempted to write unauthorized attribute {', '.join(refused)}")
        return update_user_attributes(self, access_token, attributes)

    def create_refresh_token_(self: Any, client_id: str, username: str) -> Any:
        # Called exactly when a sign-in has succeeded and tokens are about to be issued: the moment
        # Cognito runs post authentication. A raising trigger fails the sign-in, as on AWS.
        _triggers.post_authentication(self, username, client_id)
        refresh_token, origin_jti = create_refresh_token(self, client_id, username)
        _triggers.mark_fresh_sign_in(origin_jti)
        return refresh_token, origin_jti

    def create_jwt_(
        self: Any, client_id: str, username: str, token_use: str, expires_in: int = 3600, extra_data: dict[str, Any] | None = None
    ) -> Any:
        extra = dict(extra_data or {})
        _triggers.apply_token_customisation(self, client_id, username, token_use, extra)
        return create_jwt(self, client_id, username, token_use, _token_validity(self, client_id, token_use, expires_in), extra)

    wrappers: tuple[tuple[type, str, Any], ...] = (
        (CognitoIdpBackend, "admin_create_user", admin_create_user_),
        (CognitoIdpBackend, "sign_up", sign_up_),
        (CognitoIdpBackend, "confirm_sign_up", confirm_sign_up_),
        (CognitoIdpBackend, "admin_confirm_sign_up", admin_confirm_sign_up_),
        (CognitoIdpBackend, "confirm_forgot_password", confirm_forgot_password_),
        (CognitoIdpBackend, "update_user_attributes", update_user_attributes_),
        (CognitoIdpUserPool, "create_refresh_token", create_refresh_token_),
        (CognitoIdpUserPool, "create_jwt", create_jwt_),
    )
    for cls, name, wrapper in wrappers:
        wrapper._tenantry = True
        setattr(cls, name, wrapper)


# 5b. Cognito: a pool whose DeletionProtection is ACTIVE cannot be deleted (moto deletes it).
def _patch_cognito_deletion_protection() -> None:
    from moto.cognitoidp.exceptions import InvalidParameterException
    from moto.cognitoidp.models import CognitoIdpBackend

    delete_user_pool = CognitoIdpBackend.delete_user_pool

    def delete_user_pool_(self: Any, user_pool_id: str) -> None:
        if self.describe_user_pool(user_pool_id).extended_config.get("DeletionProtection") == "ACTIVE":
            raise InvalidParameterException(
                "The user pool cannot be deleted because deletion protection is activated. "
                "Deletion protection must be inactivated first."
            )
        delete_user_pool(self, user_pool_id)

    delete_user_pool_._tenantry = True  # type: ignore[attr-defined]
    CognitoIdpBackend.delete_user_pool = delete_user_pool_  # type: ignore[method-assign]


def _check_cognito_deletion_protection() -> bool:
    from moto.cognitoidp.models import CognitoIdpBackend

    return _marked(CognitoIdpBackend.delete_user_pool, "_tenantry")


def _marked(function: Any, mark: str) -> bool:
    """Whether `function`, or a function it wraps (a later patch's wrapper keeps it as `__wrapped__`), has `mark`."""
    while function is not None:
        if getattr(function, mark, False):
            return True
        function = getattr(function, "__wrapped__", None)
    return False


_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def _token_validity(pool: Any, client_id: str, token_use: str, default: int) -> int:
    """As Cognito: an access or ID token lives as long as its app client says (moto: always an hour)."""
    client = pool.clients.get(client_id)
    name = {"access": "AccessToken", "id": "IdToken"}.get(token_use)
    config = client.extended_config if client is not None else {}
    if name is None or config.get(f"{name}Validity") is None:
        return default
    unit = (config.get("TokenValidityUnits") or {}).get(name, "hours")
    return int(config[f"{name}Validity"]) * _UNIT_SECONDS[unit]


def _check_cognito() -> bool:
    from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPool

    names = [
        "admin_create_user",
        "sign_up",
        "confirm_sign_up",
        "admin_confirm_sign_up",
        "confirm_forgot_password",
        "update_user_attributes",
    ]
    return all(_marked(getattr(CognitoIdpBackend, n), "_tenantry") for n in names) and all(
        getattr(getattr(CognitoIdpUserPool, n), "_tenantry", False) for n in ("create_refresh_token", "create_jwt")
    )


# ---------------------------------------------------------------------------------------------------
# 5c. Cognito refresh-token rotation. moto has no GetTokensFromRefreshToken, stores an app client's
#     RefreshTokenRotation without acting on it, and accepts REFRESH_TOKEN_AUTH from any client. As Cognito
#     documents it: GetTokensFromRefreshToken answers new access and ID tokens and, when the client rotates, a
#     new refresh token; the one sent keeps working for RetryGracePeriodSeconds, then answers
#     RefreshTokenReuseException. A rotating client refuses REFRESH_TOKEN_AUTH (Cognito does not document the
#     error; InvalidParameterException, as for a flow the client does not allow, is assumed).
def _rotation(client: Any) -> tuple[bool, float]:
    """(whether the app client rotates refresh tokens, its grace period in seconds)."""
    config = (getattr(client, "extended_config", None) or {}).get("RefreshTokenRotation") or {}
    return config.get("Feature") == "ENABLED", float(config.get("RetryGracePeriodSeconds") or 0)


def _tokens_from_refresh_token(backend: Any, client_id: str, refresh_token: str) -> dict[str, Any]:
    """GetTokensFromRefreshToken on one region's Cognito backend."""
    from moto.cognitoidp.exceptions import NotAuthorizedError, ResourceNotFoundError
    from moto.core.exceptions import JsonRESTError

    pool = next((p for p in backend.user_pools.values() if client_id in p.clients), None)
    if pool is None:
        raise ResourceNotFoundError(client_id)
    retired = pool.__dict__.setdefault("_tenantry_retired", {})  # refresh token -> end of its grace period
    if refresh_token in retired and time.time() >= retired[refresh_token]:
        pool.refresh_tokens.pop(refresh_token, None)
        raise JsonRESTError("RefreshTokenReuseException", "Refresh token has been used already")
    held = pool.refresh_tokens.get(refresh_token)
    if held is None or held[0] != client_id:  # unknown, another client's, or signed out (moto keeps None)
        raise NotAuthorizedError("Invalid Refresh Token")
    # (outside the lock: it runs the pre token generation trigger)
    access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(refresh_token)
    result = {"IdToken": id_token, "AccessToken": access_token, "ExpiresIn": expires_in, "TokenType": "Bearer"}
    rotates, grace = _rotation(pool.clients[client_id])
    if rotates:
        # A global sign-out and the successor's writing do not interleave (the pool's lock): a successor written
        # while a sign-out nulled the user's tokens would outlive it, and a revoked session would go on refreshing.
        # Written only if the token refreshed is still good once the lock is held.
        with _token_lock(pool):
            if pool.refresh_tokens.get(refresh_token) is None:
                raise NotAuthorizedError("Invalid Refresh Token")
            # written here, not with create_refresh_token: that one is a sign-in (the post authentication trigger)
            successor = secrets.token_urlsafe(32)
            pool.refresh_tokens[successor] = held
            # (from its first use only: reusing it in its grace period does not extend it; on the time scale)
            retired.setdefault(refresh_token, time.time() + grace * _time_scale())
        result["RefreshToken"] = successor
    return {"AuthenticationResult": result}


def _token_lock(pool: Any) -> Any:
    """The pool's lock over its refresh tokens (made once: dict.setdefault is atomic)."""
    return pool.__dict__.setdefault("_tenantry_tokens_lock", threading.RLock())


def _refusing_refresh_auth_on_rotating_clients(initiate: Callable[..., Any], admin: bool) -> Callable[..., Any]:
    from moto.cognitoidp.exceptions import InvalidParameterException

    def initiate_auth(self: Any, *args: Any, **kwargs: Any) -> Any:
        flow = str(kwargs["auth_flow"] if "auth_flow" in kwargs else args[2] if admin else args[1])
        if admin:  # (user_pool_id, client_id, ...)
            client = self.describe_user_pool(args[0]).clients.get(args[1])
        else:  # (client_id, ...)
            client = next((p.clients[args[0]] for p in self.user_pools.values() if args[0] in p.clients), None)
        if flow.endswith(("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN")) and _rotation(client)[0]:
            raise InvalidParameterException("REFRESH_TOKEN_AUTH flow not enabled for this client")
        return initiate(self, *args, **kwargs)

    initiate_auth._tenantry_rotation = True  # type: ignore[attr-defined]
    initiate_auth.__wrapped__ = initiate  # type: ignore[attr-defined]
    return initiate_auth


def _patch_cognito_refresh_token_rotation() -> None:
    from moto.cognitoidp.models import CognitoIdpBackend, RegionAgnosticBackend
    from moto.cognitoidp.responses import CognitoIdpResponse

    def regionless(self: Any, client_id: str, refresh_token: str) -> dict[str, Any]:
        return _tokens_from_refresh_token(self._find_backend_for_clientid(client_id), client_id, refresh_token)

    def respond(self: Any) -> str:
        backend = self._get_region_agnostic_backend()
        return json.dumps(backend.get_tokens_from_refresh_token(self._get_param("ClientId"), self._get_param("RefreshToken")))

    from moto.cognitoidp.models import CognitoIdpUserPool

    sign_out = CognitoIdpUserPool.sign_out

    def sign_out_(self: Any, username: str) -> None:
        with _token_lock(self):
            sign_out(self, username)

    sign_out_._tenantry_rotation = True  # type: ignore[attr-defined]
    sign_out_.__wrapped__ = sign_out  # type: ignore[attr-defined]
    CognitoIdpUserPool.sign_out = sign_out_  # type: ignore[method-assign]
    refusing = _refusing_refresh_auth_on_rotating_clients
    CognitoIdpBackend.admin_initiate_auth = refusing(CognitoIdpBackend.admin_initiate_auth, True)  # type: ignore[method-assign]
    CognitoIdpBackend.initiate_auth = refusing(CognitoIdpBackend.initiate_auth, False)  # type: ignore[method-assign]
    regionless._tenantry_rotation = True  # type: ignore[attr-defined]
    respond._tenantry_rotation = True  # type: ignore[attr-defined]
    RegionAgnosticBackend.get_tokens_from_refresh_token = regionless  # type: ignore[attr-defined]
    CognitoIdpResponse.get_tokens_from_refresh_token = respond  # type: ignore[attr-defined]


def _check_cognito_refresh_token_rotation() -> bool:
    from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPool, RegionAgnosticBackend
    from moto.cognitoidp.responses import CognitoIdpResponse

    owners = (RegionAgnosticBackend, CognitoIdpResponse)
    return (
        all(getattr(getattr(o, "get_tokens_from_refresh_token", None), "_tenantry_rotation", False) for o in owners)
        and all(_marked(getattr(CognitoIdpBackend, n), "_tenantry_rotation") for n in ("admin_initiate_auth", "initiate_auth"))
        and _marked(CognitoIdpUserPool.sign_out, "_tenantry_rotation")
    )


# ---------------------------------------------------------------------------------------------------
# 5b. Cognito's forgotten-password codes as Cognito makes, mails and checks them: moto makes a code it hands
#     back to the caller in a response header, and later accepts any code that does not look like its own.
FORGOT_PASSWORD_CODE_SECONDS = 3600  # a ForgotPassword code is good for an hour


def _patch_cognito_forgot_password() -> None:
    from moto.cognitoidp.exceptions import CodeMismatchException, ExpiredCodeException, UserNotFoundError
    from moto.cognitoidp.models import CognitoIdpBackend

    forgot_password = CognitoIdpBackend.forgot_password
    confirm_forgot_password = CognitoIdpBackend.confirm_forgot_password

    def forgot_password_(self: Any, client_id: str, username: str) -> Any:
        # A 6-digit code, valid for an hour, mailed to the user (here: the runtime's mailbox), never
        # handed back to the caller (moto returns it in a response header, and accepts any other code later).
        _, details = forgot_password(self, client_id, username)
        pool = _triggers.pool_of_client(self, client_id)
        user = pool._get_user(username) if pool is not None else None
        if user is not None:
            user.confirmation_code = f"{secrets.randbelow(1_000_000):06d}"
            user.confirmation_code_issued_at = time.time()
            email = user.attribute_lookup.get("email")
            _mailbox.deliver(pool.id, user.username, email, "ForgotPassword", user.confirmation_code)
        return None, details

    def confirm_forgot_password_(self: Any, client_id: str, username: str, password: str, confirmation_code: str) -> Any:
        pool = _triggers.pool_of_client(self, client_id)
        user = pool._get_user(username) if pool is not None else None
        if pool is not None and user is None:  # as Cognito: an unknown user looks like a wrong code, if the client says so
            hides = pool.clients[client_id].extended_config.get("PreventUserExistenceErrors") == "ENABLED"
            raise (
                CodeMismatchException("Invalid verification code provided, please try again.")
                if hides
                else UserNotFoundError(username)
            )
        if user is not None:  # (moto answers an unknown client itself)
            issued = getattr(user, "confirmation_code_issued_at", 0.0)
            if user.confirmation_code is None or time.time() - issued > FORGOT_PASSWORD_CODE_SECONDS:
                raise ExpiredCodeException("Invalid code provided, please request a code again.")
            if not hmac.compare_digest(str(user.confirmation_code), confirmation_code):
                raise CodeMismatchException("Invalid verification code provided, please try again.")
            self._validate_password(pool.id, password)  # as Cognito: the pool's password policy applies here too
        return confirm_forgot_password(self, client_id, username, password, confirmation_code)

    wrappers: tuple[tuple[str, Any], ...] = (
        ("forgot_password", forgot_password_),
        ("confirm_forgot_password", confirm_forgot_password_),
    )
    for name, wrapper in wrappers:
        wrapper._tenantry_codes = True
        wrapper.__wrapped__ = getattr(CognitoIdpBackend, name)  # the trigger patch's wrapper stays checkable
        setattr(CognitoIdpBackend, name, wrapper)


def _check_cognito_forgot_password() -> bool:
    from moto.cognitoidp.models import CognitoIdpBackend

    return all(
        getattr(getattr(CognitoIdpBackend, n), "_tenantry_codes", False) for n in ("forgot_password", "confirm_forgot_password")
    )


# ---------------------------------------------------------------------------------------------------
# 6. Every API call the endpoint serves passes the runtime's middleware chain (tenantry_local.api_calls):
#    call accounting, fault injection, CloudTrail for Cognito.
def _patch_api_middleware() -> None:
    from moto.core.responses import BaseResponse

    original = BaseResponse.call_action

    def with_body(response: Any, passed: str, received: str) -> Any:
        """A middleware may pass on a narrower request (a partial PutEvents fault): moto answers that one."""
        if passed != received and isinstance(response.body, str | bytes):
            response.body = passed
        return response

    def call_action(self: Any) -> Any:
        services = binding.current()
        if services is None:
            return original(self)
        body = self.body
        if isinstance(body, bytes):
            body = body.decode(errors="replace")
        elif not isinstance(body, str):  # moto's DynamoDB handler has already parsed the request
            body = json.dumps(body, default=str)
        call = ApiCall(
            self.boto3_service_name,
            self._get_action(),
            body,
            self.headers.get("Authorization", ""),
            self.headers.get(CALLER_HEADER, ""),
        )
        return run_chain(services.middleware, call, lambda passed: original(with_body(self, passed.body, body)))

    call_action._tenantry = True  # type: ignore[attr-defined]
    BaseResponse.call_action = call_action  # type: ignore[method-assign]


def _check_api_middleware() -> bool:
    from moto.core.responses import BaseResponse

    return getattr(BaseResponse.call_action, "_tenantry", False)


# ---------------------------------------------------------------------------------------------------
# 7. DynamoDB operations are isolated, as on AWS. moto checks a condition and then writes without a lock, so
#    two concurrent conditional writes can both succeed, and its stream gives two concurrent records the same
#    sequence number (one of them is then skipped by readers). One lock around every write, item read and
#    stream read fixes that. And moto backs a transaction up by deep-copying every table it names (every item
#    and every stream record) and cancels it by putting the copies back. That costs each transaction the whole
#    table: the runtime slowed as the table grew and its memory grew by gigabytes within minutes of a load
#    test. And the stream records of the writes it had applied stayed in the replaced table's shard, which
#    existing shard iterators kept reading, so the next real change reused their sequence numbers and a
#    consumer delivered the cancelled write and skipped the committed one (the TenantOnboarded that went
#    missing when two copies of a request raced). So a transaction backs up only the items it names, and a
#    cancelled one puts them back in the live table, whose shard is cut back to where it was.
_DYNAMODB_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)
_DYNAMODB_READS = ("get_item", "query", "scan", "batch_get_item", "transact_get_items")
_DYNAMODB_STREAM_READS = ("describe_stream", "list_streams", "get_shard_iterator", "get_records")
_dynamodb_lock = threading.RLock()


def _isolated(method: Callable[..., Any]) -> Callable[..., Any]:
    def isolated(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_lock:
            return method(*args, **kwargs)

    isolated._tenantry = True  # type: ignore[attr-defined]
    isolated.__wrapped__ = method  # type: ignore[attr-defined]
    return isolated


def _undoing_only_what_it_names(transact_write_items: Callable[..., Any]) -> Callable[..., Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    def transact(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        before = []  # (table, hash key, range key, a copy of the item as it was, or None)
        for entry in transact_items:
            operation = next(iter(entry.values())) if isinstance(entry, dict) and entry else {}
            table = self.tables.get(operation.get("TableName")) if isinstance(operation, dict) else None
            if table is None:
                continue  # moto answers the request's own error
            key = operation.get("Key") or operation.get("Item") or {}
            names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
            if not all(name in key for name in names):
                continue
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            before.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        shards = {id(t): (t.stream_shard, len(t.stream_shard.items)) for t, *_ in before if t.stream_shard is not None}
        try:
            return transact_write_items(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(before):
                _put_back(table, hash_key, range_key, item)
            for shard, length in shards.values():
                del shard.items[length:]
            raise

    transact._undo_log = True  # type: ignore[attr-defined]
    return transact


def _put_back(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    """Make `table`'s item at the key `item` again (None: no item there)."""
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
    elif item is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


class _CopiesButTables:
    """moto's DynamoDB module's `copy`, but that a deep copy of a table is the table itself: its transaction
    backup (which `_undoing_only_what_it_names` replaces) costs nothing, and putting it back changes nothing."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _patch_dynamodb_isolation() -> None:
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    dynamodb_models.copy = _CopiesButTables  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _undoing_only_what_it_names(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]
    for name in (*_DYNAMODB_WRITES, *_DYNAMODB_READS):
        setattr(DynamoDBBackend, name, _isolated(getattr(DynamoDBBackend, name)))
    for name in _DYNAMODB_STREAM_READS:
        setattr(DynamoDBStreamsBackend, name, _isolated(getattr(DynamoDBStreamsBackend, name)))


def _check_dynamodb_isolation() -> bool:
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    backup = getattr(dynamodb_models, "copy", None)
    if backup is not _CopiesButTables or not _marked(DynamoDBBackend.transact_write_items, "_undo_log"):
        return False
    return all(_marked(getattr(DynamoDBBackend, n), "_tenantry") for n in (*_DYNAMODB_WRITES, *_DYNAMODB_READS)) and all(
        _marked(getattr(DynamoDBStreamsBackend, n), "_tenantry") for n in _DYNAMODB_STREAM_READS
    )


# 7d. DynamoDB: TransactWriteItems with a ClientRequestToken is idempotent for 10 minutes, as on AWS: the same
#     token with the same items answers success and writes nothing again (a caller retrying a transaction whose
#     answer was lost, as Step Functions does after a timeout); with other items, IdempotentParameterMismatch.
#     moto ignores the token: the retry ran again and failed its conditions, and the workflow undid a
#     transaction that had in fact committed (TenantOnboarding's ActivateTenant).
_TRANSACTION_TOKEN_SECONDS = 600


def _patch_dynamodb_transaction_tokens() -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler

    transact_write_items = DynamoHandler.transact_write_items
    committed: dict[str, tuple[str, float]] = {}  # token -> (digest of its items, when)

    def transact(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return transact_write_items(self)
        digest = hashlib.sha256(json.dumps(self.body["TransactItems"], sort_keys=True, default=str).encode()).hexdigest()
        with _dynamodb_lock:
            now = time.time()
            for old in [t for t, (_, at) in committed.items() if now - at > _TRANSACTION_TOKEN_SECONDS]:
                del committed[old]
            if token in committed:
                if committed[token][0] != digest:
                    raise JsonRESTError(
                        "IdempotentParameterMismatchException",
                        "The request uses the same client token as a previous, but non-identical request.",
                    )
                return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
            result = transact_write_items(self)
            committed[token] = (digest, now)
            return result

    transact._tenantry_tokens = True  # type: ignore[attr-defined]
    transact.__wrapped__ = transact_write_items  # type: ignore[attr-defined]
    DynamoHandler.transact_write_items = transact  # type: ignore[method-assign]


def _check_dynamodb_transaction_tokens() -> bool:
    from moto.dynamodb.responses import DynamoHandler

    return _marked(DynamoHandler.transact_write_items, "_tenantry_tokens")


# 7a. DynamoDB Streams: moto keeps every shard iterator it ever handed out (a new one for each GetShardIterator
#     and each GetRecords), and a stream consumer polls several times a second: the runtime's memory grew
#     without end. On AWS an iterator expires 15 minutes after it is returned; here the most recent
#     `_LIVE_SHARD_ITERATORS` stay valid, which covers any consumer that reads with the iterator it just got.
_LIVE_SHARD_ITERATORS = 1000


def _patch_dynamodb_stream_iterators_expire() -> None:
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    def expiring(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _dynamodb_lock:
                result = method(self, *args, **kwargs)
                excess = len(self.shard_iterators) - _LIVE_SHARD_ITERATORS
                for arn in list(self.shard_iterators)[: max(0, excess)]:  # the oldest first (a dict keeps order)
                    del self.shard_iterators[arn]
                return result

        call._expiring = True  # type: ignore[attr-defined]
        call.__wrapped__ = method  # type: ignore[attr-defined]
        return call

    for name in ("get_shard_iterator", "get_records"):
        setattr(DynamoDBStreamsBackend, name, expiring(getattr(DynamoDBStreamsBackend, name)))


def _check_dynamodb_stream_iterators_expire() -> bool:
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    return all(_marked(getattr(DynamoDBStreamsBackend, n), "_expiring") for n in ("get_shard_iterator", "get_records"))


# 7b. DynamoDB: an UpdateItem that creates its item writes one INSERT stream record with the new image. moto
#     first puts a bare item (its keys only) and then applies the update: two INSERT records, the first with
#     no attribute but the keys, which a stream consumer takes for an item of no known kind.
def _patch_dynamodb_one_insert_per_update() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    update_item = DynamoDBBackend.update_item

    def update(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        with _dynamodb_lock:  # nobody else writes while this table's put is swapped
            table = self.get_table(table_name)
            shard = table.stream_shard
            if shard is None or table.get_item(*self.get_keys_value(table, key)) is not None:
                return update_item(self, table_name, key, *args, **kwargs)
            put_item = table.put_item

            def put_without_a_record(*put_args: Any, **put_kwargs: Any) -> Any:
                shard.add = lambda old, new: None  # the bare item's record; the update adds the real one
                try:
                    return put_item(*put_args, **put_kwargs)
                finally:
                    del shard.add

            table.put_item = put_without_a_record
            try:
                return update_item(self, table_name, key, *args, **kwargs)
            finally:
                del table.put_item

    update._one_insert = True  # type: ignore[attr-defined]
    update.__wrapped__ = update_item  # type: ignore[attr-defined]  # (the isolation patch's wrapper, applied before)
    DynamoDBBackend.update_item = update  # type: ignore[method-assign]


def _check_dynamodb_one_insert_per_update() -> bool:
    from moto.dynamodb.models import DynamoDBBackend

    return _marked(DynamoDBBackend.update_item, "_one_insert")


# ---------------------------------------------------------------------------------------------------
# 8. Step Functions runs executions (moto only records them unless configured), with Lambda on moto's full
#    backend (use_docker False would select an echoing stub; patch 3 keeps Docker from being started).
def _patch_sfn_executes() -> None:
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"]["execute_state_machine"] = True


def _check_sfn_executes() -> bool:
    from moto.core.config import default_user_config

    return default_user_config["stepfunctions"]["execute_state_machine"] is True


# ---------------------------------------------------------------------------------------------------
# 8b. The server's dispatcher finds the service of every request again: a listing of moto's package directory
#     with a stat of each entry, then every service's URL patterns, under one lock that every request takes.
#     The answer depends on the host alone: it is kept (measured: 20 onboardings at once spent a tenth of the
#     runtime's CPU there; BENCHMARKS.md, "The local runtime's own cost").
def _patch_dispatcher_remembers_backends() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        known = self.__dict__.setdefault("_tenantry_backends", {})
        if host not in known:
            if len(known) >= 256:  # (keyed on the Host header: any client may send any)
                known.clear()
            known[host] = original(self, host)
        return known[host]

    get_backend_for_host._tenantry = True  # type: ignore[attr-defined]
    get_backend_for_host.__wrapped__ = original  # type: ignore[attr-defined]
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def _check_dispatcher_remembers_backends() -> bool:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    return _marked(DomainDispatcherApplication.get_backend_for_host, "_tenantry")


# ---------------------------------------------------------------------------------------------------
# 9. S3 event notifications to a function: S3 invokes it asynchronously, moto synchronously inside the upload
#    request (the uploader would wait for the function, and see nothing of a failure only S3 should see).
def _patch_s3_notifications_async() -> None:
    from moto.s3 import notifications

    def invoke_asynchronously(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        from moto.awslambda.utils import get_backend

        try:
            function = get_backend(account_id, region_name).get_function(fn_arn)
            function.invoke(json.dumps(event_body), {"X-Amz-Invocation-Type": "Event"}, {})
        except Exception:  # as moto's own: a missing function does not fail the upload that notifies it
            logging.getLogger(__name__).warning("S3 notification to %s not delivered", fn_arn, exc_info=True)

    invoke_asynchronously._tenantry = True  # type: ignore[attr-defined]
    notifications._invoke_awslambda = invoke_asynchronously


def _check_s3_notifications_async() -> bool:
    from moto.s3 import notifications

    return getattr(notifications._invoke_awslambda, "_tenantry", False)


PATCHES: dict[str, tuple[Callable[[], None], Callable[[], bool]]] = {
    "sfn_executes_state_machines": (_patch_sfn_executes, _check_sfn_executes),
    "sfn_cognito_sdk_integration": (_patch_sfn_cognito_sdk, _check_sfn_cognito_sdk),
    "sfn_sdk_parameter_names": (_patch_sfn_sdk_parameter_names, _check_sfn_sdk_parameter_names),
    "sfn_stop_wakes_waiting_tasks": (_patch_sfn_stop_wakes_waiting_tasks, _check_sfn_stop_wakes_waiting_tasks),
    "sfn_task_calls_name_their_state": (_patch_sfn_task_calls_name_their_state, _check_sfn_task_calls_name_their_state),
    "sfn_task_error_names": (_patch_sfn_task_error_names, _check_sfn_task_error_names),
    "sfn_parses_each_definition_once": (_patch_sfn_parses_each_definition_once, _check_sfn_parses_each_definition_once),
    "sfn_keeps_clients_and_paths": (_patch_sfn_keeps_clients_and_paths, _check_sfn_keeps_clients_and_paths),
    "sfn_time_scale": (_patch_sfn_time_scale, _check_sfn_time_scale),
    "lambda_invoke_in_worker": (_patch_lambda_invoke, _check_lambda_invoke),
    "events_lambda_and_sfn_targets": (_patch_events_targets, _check_events_targets),
    "events_replay_window": (_patch_events_replay_window, _check_events_replay_window),
    "cognito_triggers_and_tokens": (_patch_cognito, _check_cognito),
    "cognito_forgot_password_codes": (_patch_cognito_forgot_password, _check_cognito_forgot_password),
    "cognito_deletion_protection": (_patch_cognito_deletion_protection, _check_cognito_deletion_protection),
    "cognito_refresh_token_rotation": (_patch_cognito_refresh_token_rotation, _check_cognito_refresh_token_rotation),
    "api_call_middleware": (_patch_api_middleware, _check_api_middleware),
    "dynamodb_isolation": (_patch_dynamodb_isolation, _check_dynamodb_isolation),
    # after dynamodb_isolation: it wraps that patch's stream reads
    "dynamodb_stream_iterators_expire": (_patch_dynamodb_stream_iterators_expire, _check_dynamodb_stream_iterators_expire),
    "dynamodb_transaction_tokens": (_patch_dynamodb_transaction_tokens, _check_dynamodb_transaction_tokens),
    # after dynamodb_isolation: it wraps that patch's update_item
    "dynamodb_one_insert_per_update": (_patch_dynamodb_one_insert_per_update, _check_dynamodb_one_insert_per_update),
    # S3 POST object uploads are held to their POST policy and signature (moto stores any): tenantry_local.s3_post_policy
    "s3_post_policy": (s3_post_policy.patch_moto, s3_post_policy.moto_is_patched),
    "s3_notifications_invoke_asynchronously": (_patch_s3_notifications_async, _check_s3_notifications_async),
    "server_dispatcher_remembers_backends": (_patch_dispatcher_remembers_backends, _check_dispatcher_remembers_backends),
}


def install() -> None:
    """Apply every patch once per process."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for apply, _ in PATCHES.values():
            apply()
        _installed = True


def verify() -> dict[str, bool]:
    """For each patch, whether it is in effect."""
    return {name: check() for name, (_, check) in PATCHES.items()}
