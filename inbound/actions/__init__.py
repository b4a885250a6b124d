"""Rule-action executors: one module per SES action, a literal registry keyed by SES name.

Every executor is `async def execute(ctx: ActionContext) -> Result`. It says *what* happened
(an `Outcome`, a detail dict for the trace) and lets the pipeline record it and decide what
runs next. Add or replace an executor by passing `executors={"ConnectAction": my_execute}` to
`inbound.app.InboundServer`; see docs/extending.md.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from inbound.backends import Backends
from inbound.model import Action, ReceiptRule
from inbound.receiving.message import MessageView
from inbound.records import Outcome as Outcome  # executors return it (docs/extending.md)


@dataclass(frozen=True)
class Result:
    outcome: Outcome = Outcome.CONTINUE
    detail: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None  # set ⇒ a PublishFailure (spec receiving.md §8), retried
    # With `error`: the failure is final, never retried (a size limit: the sender already has
    # its 552 DSN, and the same message can only fail the same way again).
    final: bool = False


@dataclass(frozen=True)
class Site:
    """Where the engine runs: what SES would call the account and the endpoint."""

    region: str
    account_id: str
    hostname: str
    lambda_timeout: float = 30.0  # RequestResponse limit (spec receiving.md §3.5)


@dataclass(frozen=True)
class ActionContext:
    view: MessageView
    rule_set: str
    rule: ReceiptRule
    action: Action
    recipients: tuple[str, ...]  # the envelope recipients this rule matched (§1.3)
    backends: Backends
    site: Site

    @property
    def message_id(self) -> str:
        return self.view.record.id

    def content(self) -> bytes:
        return self.view.content(self.rule.scan_enabled)

    def content_parts(self) -> tuple[bytes, bytes]:
        return self.view.content_parts(self.rule.scan_enabled)

    def content_size(self) -> int:
        return self.view.content_size(self.rule.scan_enabled)

    def head(self) -> bytes:
        """The message up to its body: a bounce returns no more (dsn.ses_receipt_bounce)."""
        return self.view.head(self.rule.scan_enabled)

    def receipt(self, action_fields: Mapping[str, Any]) -> dict[str, Any]:
        """`receipt` for a notification or event produced by this action (spec §4.3)."""
        elapsed = time.time() - self.view.received_at.timestamp()
        return {
            "timestamp": self.view.record.received_at,
            "processingTimeMillis": max(0, round(elapsed * 1000)),
            "recipients": list(self.recipients),
            **self.view.verdicts(self.rule.scan_enabled),
            "action": dict(action_fields),
        }

    def mail(self) -> dict[str, Any]:
        return self.view.mail(self.rule.scan_enabled)

    def notification(self, action_fields: Mapping[str, Any], content: str | None = None) -> str:
        """The `Received` notification JSON (§4.1); `content` only for the SNS action."""
        body: dict[str, Any] = {
            "notificationType": "Received",
            "mail": self.mail(),
            "receipt": self.receipt(action_fields),
        }
        if content is not None:
            body["content"] = content
        return json_dumps(body)


def json_dumps(value: Any) -> str:
    """Compact JSON with non-ASCII kept as is: what `json.dumps(value, ensure_ascii=False,
    separators=(",", ":"))` writes (a property test checks it), ten times faster."""
    return orjson.dumps(value).decode()


Executor = Callable[[ActionContext], Awaitable[Result]]
