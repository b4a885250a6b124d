"""The embedded Lambda: the function ARNs of `[lambda.functions]`, each run as Lambda runs it.

A handler named in the config file runs in execution environments of its own: worker
processes (`lambda_runtime.py`) started on the first invocation that finds none free (a cold
start), kept warm for the next ones, at most `[lambda] concurrency` per function. Each starts
with the environment variables Lambda sets (`AWS_REGION`, `AWS_LAMBDA_FUNCTION_NAME`,
`_HANDLER`, ...) plus `AWS_ENDPOINT_URL` and credentials that point boto3 at this engine, so
`boto3.client("s3")` in a handler reads what the S3 action wrote. Environment variables belong
to a process: setting them in the engine would race between functions running at once and
redirect the engine's own AWS clients, hence processes (docs/aws-endpoints.md, "Lambda", has
the measured cost). A timed-out environment is killed, as Lambda does.

A callable passed in Python (`Settings(lambda_handlers={arn: fn})`, the pytest plugin) runs in
the engine's process instead, so a test can see what it did: it gets the same context object,
but not the environment.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inbound.backends import BackendError, Invocation
from inbound.backends import lambda_runtime as runtime
from inbound.config import HandlerSource, Settings
from inbound.ids import new_uuid
from inbound.model import InvocationType
from inbound.records import LambdaInvocation
from inbound.store import Store
from inbound.timestamps import now_iso

Handler = Callable[[Any, Any], Any]

MEMORY_SIZE = "128"  # MB, Lambda's default; not enforced
# Lambda's largest synchronous response (Invoke, "Payload": 6 MB); a longer reply line is
# refused with Lambda's error instead of being buffered
MAX_RESPONSE = 6 * 1024 * 1024
# The credentials handlers get when `[api] credentials` has none: the documented test keys
# (moto's), accepted by the engine with `[api] auth = "off"`.
TEST_CREDENTIALS = ("testing", "testing")
# The boto3 environment variable of each service's endpoint (botocore's service ids)
ENDPOINT_VARIABLES = {
    "s3": "AWS_ENDPOINT_URL_S3",
    "sns": "AWS_ENDPOINT_URL_SNS",
    "lambda": "AWS_ENDPOINT_URL_LAMBDA",
    "kms": "AWS_ENDPOINT_URL_KMS",
    "cloudwatch": "AWS_ENDPOINT_URL_CLOUDWATCH",
    "firehose": "AWS_ENDPOINT_URL_FIREHOSE",
    "eventbridge": "AWS_ENDPOINT_URL_EVENTBRIDGE",
}


@dataclass(frozen=True)
class Function:
    """What Lambda knows of a function from its ARN (`arn:aws:lambda:REGION:ACCOUNT:function:
    NAME[:QUALIFIER]`): a numeric qualifier is the version that runs, anything else `$LATEST`."""

    arn: str
    name: str
    region: str
    version: str

    @classmethod
    def parse(cls, arn: str, default_region: str) -> Function:
        parts = arn.split(":")
        name = parts[6] if len(parts) > 6 else arn
        region = parts[3] if len(parts) > 3 and parts[3] else default_region
        qualifier = parts[7] if len(parts) > 7 else ""
        return cls(arn, name, region, qualifier if qualifier.isdigit() else "$LATEST")

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    def context(self, request_id: str, deadline_ms: int, log_stream: str) -> runtime.LambdaContext:
        return runtime.LambdaContext(
            aws_request_id=request_id,
            invoked_function_arn=self.arn,
            deadline_ms=deadline_ms,
            function_name=self.name,
            function_version=self.version,
            memory_limit_in_mb=MEMORY_SIZE,
            log_group_name=self.log_group,
            log_stream_name=log_stream,
        )


def log_stream_name(version: str) -> str:
    """A new environment's CloudWatch stream, in Lambda's form `YYYY/MM/DD/[VERSION]<32 hex>`."""
    return f"{datetime.now(UTC):%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


def engine_environment(settings: Settings, http_url: str) -> dict[str, str]:
    """The variables every function gets that point AWS SDKs at this engine: its HTTP port for
    every service (`AWS_ENDPOINT_URL`), or the endpoint of a service configured `aws` with one
    (`AWS_ENDPOINT_URL_S3`, ...), so a handler reads objects where the S3 action put them; the
    first `[api] credentials` key (or the test keys), which `[api] auth = "verify"` accepts;
    and no shared config or credentials file, which Lambda does not have either."""
    key_id, secret = next(iter(settings.api_credentials.items()), TEST_CREDENTIALS)
    env = {
        "AWS_ENDPOINT_URL": http_url,
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    for service, variable in ENDPOINT_VARIABLES.items():
        backend = settings.backend(service)
        if backend.kind == "aws" and backend.endpoint_url:
            env[variable] = backend.endpoint_url
    return env


def function_environment(
    function: Function, source: HandlerSource, engine: Mapping[str, str]
) -> dict[str, str]:
    """A new environment's variables: the engine's own minus every `AWS_*` one (its region,
    profile or keys are not the function's), then Lambda's defined runtime variables ("Using
    Lambda environment variables", Lambda Developer Guide) and `engine`'s."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    task_root = str(source.task_root or Path.cwd())
    return {
        **inherited,
        "_HANDLER": source.handler,
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": function.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": MEMORY_SIZE,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name(function.version),
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": str(Path(runtime.__file__).parent),
        "TZ": ":UTC",
        **engine,
    }


class FunctionError(Exception):
    """The invocation failed: the function raised, or (`reset`) its environment timed out,
    died or answered beyond the limit, after which Lambda starts a new one."""

    def __init__(self, message: str, *, reset: bool = False) -> None:
        super().__init__(message)
        self.reset = reset


@dataclass
class Worker:
    """One execution environment: a `lambda_runtime.py` process, initialised."""

    process: asyncio.subprocess.Process

    @classmethod
    async def start(cls, source: HandlerSource, env: Mapping[str, str]) -> Worker:
        """Start it and wait for its init (the module's import); an init that fails is the
        invocation's error, as on Lambda."""
        task_root = source.task_root
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            runtime.__file__,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=dict(env),
            cwd=task_root,
            limit=MAX_RESPONSE + 1024,
            # not in the terminal's process group: Ctrl-C stops the engine, which then ends
            # its environments by closing their input
            start_new_session=True,
        )
        worker = cls(process)
        setup = {"sysPath": [*([str(task_root)] if task_root else []), *sys.path]}
        try:
            await worker._send(setup)
            await worker._reply()
        except BaseException:
            await worker.stop()
            raise
        return worker

    async def invoke(self, request: Mapping[str, Any]) -> Any:
        await self._send(request)
        return (await self._reply())["result"]

    async def _send(self, message: Mapping[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        try:
            await self.process.stdin.drain()
        except ConnectionError:
            raise FunctionError(await self._exited(), reset=True) from None

    async def _reply(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        try:
            line = await self.process.stdout.readline()
        except ValueError:  # the line is longer than the limit
            raise FunctionError(
                "Response payload size exceeded maximum allowed payload size "
                f"({MAX_RESPONSE} bytes).",
                reset=True,
            ) from None
        if not line:
            raise FunctionError(await self._exited(), reset=True)
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise FunctionError(f"Unhandled: {reply['error']['errorType']}: "
                                f"{reply['error']['errorMessage']}")  # fmt: skip
        return reply

    async def _exited(self) -> str:
        status = await self.process.wait()
        return f"Runtime.ExitError: Runtime exited with error: exit status {status}"

    async def stop(self) -> None:
        """End it: its stdin closes, which ends the process at once (`lambda_runtime`); kill
        it if it has not gone within a second."""
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 1)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@dataclass
class Environments:
    """The execution environments of one function: an idle one is reused, else one starts,
    while fewer than `concurrency` exist; beyond that an invocation waits for one."""

    function: Function
    source: HandlerSource
    engine_env: Mapping[str, str]
    timeout: float
    concurrency: int
    idle: list[Worker] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)

    async def invoke(self, event: Any, request_id: str) -> Any:
        """The function's timeout covers a cold start's init too."""
        async with self._slots:
            request = {
                "event": event,
                "requestId": request_id,
                "functionArn": self.function.arn,
                "deadlineMs": int(time.time() * 1000 + self.timeout * 1000),
            }
            worker = None
            try:
                async with asyncio.timeout(self.timeout):
                    worker = self.idle.pop() if self.idle else await self._start()
                    result = await worker.invoke(request)
            except TimeoutError:
                if worker is not None:
                    await worker.stop()  # as Lambda ends a timed-out environment
                raise FunctionError(f"Task timed out after {self.timeout:.2f} seconds") from None
            except FunctionError as exc:
                if worker is not None and not exc.reset:
                    self.idle.append(worker)
                elif worker is not None:
                    await worker.stop()
                raise
            except BaseException:
                if worker is not None:
                    await worker.stop()
                raise
            self.idle.append(worker)
            return result

    async def _start(self) -> Worker:
        env = function_environment(self.function, self.source, self.engine_env)
        return await Worker.start(self.source, env)

    async def close(self) -> None:
        while self.idle:
            await self.idle.pop().stop()


class LocalFunctions:
    def __init__(
        self,
        handlers: Mapping[str, HandlerSource | Handler],
        store: Store,
        timeout: float,
        *,
        region: str,
        concurrency: int,
        engine_env: Mapping[str, str],
    ) -> None:
        self.handlers = handlers
        self.store = store
        self.timeout = timeout
        self.region = region
        self._tasks: set[asyncio.Task[Any]] = set()
        self._environments = {
            arn: Environments(Function.parse(arn, region), source, engine_env, timeout, concurrency)
            for arn, source in handlers.items()
            if isinstance(source, HandlerSource)
        }

    async def exists(self, function_arn: str) -> bool:
        return function_arn in self.handlers

    async def invoke(
        self,
        function_arn: str,
        event: Mapping[str, Any],
        invocation_type: InvocationType,
        message_id: str,
    ) -> Invocation:
        handler = self.handlers.get(function_arn)
        if handler is None:
            raise BackendError(f"Function not found: {function_arn}")
        request_id = new_uuid()
        self.store.add_invocation(
            LambdaInvocation(
                id=request_id,
                function_arn=function_arn,
                invocation_type=invocation_type.value,
                payload=event,
                message_id=message_id,
                created=now_iso(),
            )
        )
        # The invocation is on record before the function runs: a kill during a long call
        # still shows that it was made (a function's side effects cannot be rolled back).
        await self.store.flush(durable=False)
        call = self._call(function_arn, handler, json.loads(json.dumps(event)), request_id)
        if invocation_type is InvocationType.EVENT:
            task = asyncio.create_task(call)  # SES does not wait for Event invocations
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return Invocation(request_id, None)
        return await call

    async def _call(
        self, function_arn: str, handler: HandlerSource | Handler, event: Any, request_id: str
    ) -> Invocation:
        try:
            if isinstance(handler, HandlerSource):
                payload = await self._environments[function_arn].invoke(event, request_id)
            else:
                payload = await self._in_process(function_arn, handler, event, request_id)
        except FunctionError as exc:
            self.store.invocation_failed(request_id, str(exc))
            return Invocation(request_id, None, str(exc))
        self.store.invocation_returned(request_id, payload)
        return Invocation(request_id, payload)

    async def _in_process(
        self, function_arn: str, handler: Handler, event: Any, request_id: str
    ) -> Any:
        function = Function.parse(function_arn, self.region)
        deadline_ms = int(time.time() * 1000 + self.timeout * 1000)
        context = function.context(request_id, deadline_ms, log_stream_name(function.version))
        try:
            if inspect.iscoroutinefunction(handler):
                payload = await asyncio.wait_for(handler(event, context), self.timeout)
            else:
                payload = await asyncio.wait_for(
                    asyncio.to_thread(handler, event, context), self.timeout
                )
            json.dumps(payload)  # what a real function returns must serialise
        except TimeoutError:
            raise FunctionError(f"Task timed out after {self.timeout:.2f} seconds") from None
        except Exception as exc:
            raise FunctionError(f"Unhandled: {type(exc).__name__}: {exc}") from None
        return payload

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for environments in self._environments.values():
            await environments.close()
