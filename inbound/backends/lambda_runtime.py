"""The Lambda Python runtime, locally: the context object handlers get, and the worker process
that runs a handler named in `[lambda.functions]` (docs/aws-endpoints.md, "Lambda").

Lambda runs each function in an execution environment of its own: a process whose environment
variables say which function it is (AWS_LAMBDA_FUNCTION_NAME, _HANDLER, ...), which imports the
handler's module once (the "init") and then serves one invocation at a time. A worker here is
such an environment: `local_lambda.Environments` starts it with those variables, then speaks
JSON lines to it on its stdin and on the stdout it had at start (the handler's own prints go to
stderr, the engine's log, as Lambda sends them to CloudWatch Logs).

This module imports nothing but the standard library, and runs as a script (not `-m`): what the
worker has imported before the handler's module is all the handler can find in `sys.modules`
without importing it itself, as on Lambda.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import IO, Any


class CognitoIdentity:
    """`context.identity`: set only for the AWS Mobile SDK's invocations, so both are None for
    SES (the runtime interface client, awslambdaric `lambda_context.py`, makes one always)."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None


class LambdaContext:
    """The context object of the Python runtime, attribute for attribute as awslambdaric's
    `LambdaContext` builds it: `memory_limit_in_mb` and `function_version` are the strings of
    their environment variables (AWS_LAMBDA_FUNCTION_MEMORY_SIZE is "128", not 128),
    `client_context` is None unless the caller sent one (SES never does), and
    `get_remaining_time_in_millis()` counts down to the invocation's deadline on the wall clock,
    0 once it has passed."""

    def __init__(
        self,
        *,
        aws_request_id: str,
        invoked_function_arn: str,
        deadline_ms: int,
        function_name: str,
        function_version: str,
        memory_limit_in_mb: str,
        log_group_name: str,
        log_stream_name: str,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.function_name = function_name
        self.memory_limit_in_mb = memory_limit_in_mb
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.client_context: object | None = None
        self.identity = CognitoIdentity()
        self._deadline_ms = deadline_ms

    @classmethod
    def from_environment(
        cls, aws_request_id: str, invoked_function_arn: str, deadline_ms: int
    ) -> LambdaContext:
        """What the runtime does: the function's facts from the environment it was started
        with, the invocation's from the request."""
        env = os.environ
        return cls(
            aws_request_id=aws_request_id,
            invoked_function_arn=invoked_function_arn,
            deadline_ms=deadline_ms,
            function_name=env["AWS_LAMBDA_FUNCTION_NAME"],
            function_version=env["AWS_LAMBDA_FUNCTION_VERSION"],
            memory_limit_in_mb=env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
            log_group_name=env["AWS_LAMBDA_LOG_GROUP_NAME"],
            log_stream_name=env["AWS_LAMBDA_LOG_STREAM_NAME"],
        )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


def error(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    """A function error as the runtime reports it (`errorMessage`, `errorType`,
    `stackTrace`)."""
    return {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}


def load(handler: str) -> Callable[[Any, Any], Any]:
    """`_HANDLER` ("module.function") → the function, failing with the runtime's error types
    and wording (awslambdaric `bootstrap._get_handler`)."""
    module_name, _, function = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        message = f"Unable to import module '{module_name}': {exc}"
        raise Fault("Runtime.ImportModuleError", message) from None
    except SyntaxError as exc:
        message = f"Syntax error in module '{module_name}': {exc}"
        raise Fault("Runtime.UserCodeSyntaxError", message) from None
    try:
        found: Callable[[Any, Any], Any] = getattr(module, function)
    except AttributeError:
        raise Fault(
            "Runtime.HandlerNotFound", f"Handler '{function}' missing on module '{module_name}'"
        ) from None
    return found


class Fault(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.report = error(error_type, message)


def invoke(handler: Callable[[Any, Any], Any], request: dict[str, Any]) -> str:
    """One invocation → its reply line: `{"result": ...}` or `{"error": ...}`."""
    context = LambdaContext.from_environment(
        request["requestId"], request["functionArn"], request["deadlineMs"]
    )
    try:
        result = handler(request["event"], context)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)[1:]  # from the handler down
        failed = error(type(exc).__name__, str(exc), traceback.format_list(frames))
        return json.dumps({"error": failed})
    try:
        return json.dumps({"result": result})
    except (TypeError, ValueError) as exc:
        failed = error("Runtime.MarshalError", f"Unable to marshal response: {exc}")
        return json.dumps({"error": failed})


def _read_requests(source: IO[str], requests: queue.Queue[str]) -> None:
    """Hand each request to the main thread; at end of input (the engine closed the pipe, or
    died) end the process at once, even in the middle of a handler, as Lambda does with an
    environment it shuts down."""
    for line in source:
        requests.put(line)
    os._exit(0)


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the handler's prints (and the C level's writes) go to the log
    sys.stdout = sys.stderr
    setup = json.loads(sys.stdin.readline())
    sys.path[:] = setup["sysPath"]
    requests: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_requests, args=(sys.stdin, requests), daemon=True).start()
    failed: dict[str, Any] | None
    try:
        handler = load(os.environ["_HANDLER"])
    except Fault as fault:
        failed = fault.report
    except Exception as exc:  # the module's own code failed while it was imported
        failed = error(type(exc).__name__, str(exc))
    else:
        failed = None
    replies.write(json.dumps({"error": failed} if failed else {"ready": True}) + "\n")
    replies.flush()
    while failed is None:
        replies.write(invoke(handler, json.loads(requests.get())) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
