"""The embedded Lambda: a Python callable per function ARN (`handler(event, context)`), the
only configured code the engine ever runs."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from inbound.backends import BackendError, Invocation
from inbound.ids import new_uuid
from inbound.model import InvocationType
from inbound.records import LambdaInvocation
from inbound.store import Store
from inbound.timestamps import now_iso

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of AWS's Python context object that handlers commonly read."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"inbound/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class LocalFunctions:
    def __init__(self, handlers: Mapping[str, Handler], store: Store, timeout: float) -> None:
        self.handlers = handlers
        self.store = store
        self.timeout = timeout
        self._tasks: set[asyncio.Task[Any]] = set()

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
        context = LambdaContext(
            function_name=function_arn.rsplit(":", 1)[-1],
            invoked_function_arn=function_arn,
            aws_request_id=request_id,
            deadline=time.monotonic() + self.timeout,
        )
        call = self._call(handler, json.loads(json.dumps(event)), context, request_id)
        if invocation_type is InvocationType.EVENT:
            task = asyncio.create_task(call)  # SES does not wait for Event invocations
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return Invocation(request_id, None)
        return await call

    async def _call(
        self, handler: Handler, event: Any, context: LambdaContext, request_id: str
    ) -> Invocation:
        try:
            if inspect.iscoroutinefunction(handler):
                payload = await asyncio.wait_for(handler(event, context), self.timeout)
            else:
                payload = await asyncio.wait_for(
                    asyncio.to_thread(handler, event, context), self.timeout
                )
            json.dumps(payload)  # what a real function returns must serialise
        except TimeoutError:
            error = f"Task timed out after {self.timeout:.2f} seconds"
            self.store.invocation_failed(request_id, error)
            return Invocation(request_id, None, error)
        except Exception as exc:
            error = f"Unhandled: {type(exc).__name__}: {exc}"
            self.store.invocation_failed(request_id, error)
            return Invocation(request_id, None, error)
        self.store.invocation_returned(request_id, payload)
        return Invocation(request_id, payload)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
