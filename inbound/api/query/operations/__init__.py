"""SES operations: one plain async function per operation of the 2010-12-01 model.

A handler receives the operation's input exactly as a boto3 caller passed it (the Query codec
decodes it with botocore's service model) and returns a boto3-shaped output dict (or None
for an empty result); it raises `inbound.errors.SesError` subclasses for SES errors. The
registry is a literal dict keyed by the model's operation name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from inbound.api.query.operations import bounces, identities, send, sending
from inbound.api.query.operations import receipt_rules as receipt
from inbound.api.query.operations.context import OperationContext

__all__ = ["OPERATIONS", "Handler", "OperationContext"]

Handler = Callable[[OperationContext, dict[str, Any]], Awaitable[dict[str, Any] | None]]

OPERATIONS: Mapping[str, Handler] = {
    **receipt.OPERATIONS,
    **bounces.OPERATIONS,
    **identities.OPERATIONS,
    **sending.OPERATIONS,
    **send.OPERATIONS,
}
