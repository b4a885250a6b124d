"""Lambda: invoke a function with the SES event; RequestResponse steers the flow (spec §3.5)."""

from __future__ import annotations

from typing import Any

from inbound.actions import ActionContext, Result
from inbound.actions.fields import action_fields
from inbound.model import InvocationType, LambdaAction
from inbound.records import Outcome

# Case-insensitive (AWS's own example returns 'stop_rule_set'); anything else continues.
DISPOSITIONS = {"STOP_RULE": Outcome.STOP_RULE, "STOP_RULE_SET": Outcome.STOP_RULE_SET}


def event(ctx: ActionContext, fields: dict[str, Any]) -> dict[str, Any]:
    """The exact SES event: mail and receipt, no notificationType, never the body (§3.5)."""
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {"mail": ctx.mail(), "receipt": ctx.receipt(fields)},
            }
        ]
    }


def disposition(payload: Any) -> Outcome:
    if isinstance(payload, dict) and isinstance(payload.get("disposition"), str):
        return DISPOSITIONS.get(payload["disposition"].upper(), Outcome.CONTINUE)
    return Outcome.CONTINUE


async def execute(ctx: ActionContext) -> Result:
    action = ctx.action
    assert isinstance(action, LambdaAction)
    fields = action_fields(action)
    payload = event(ctx, fields)
    invocation = await ctx.backends.functions.invoke(
        action.function_arn, payload, action.invocation_type, ctx.message_id
    )
    detail = {"action": fields, "requestId": invocation.request_id, "event": payload}
    if invocation.error is not None:
        # An error or timeout is a failure, but flow continues (spec §3.5 recommendation).
        return Result(detail=detail, error=invocation.error)
    if action.invocation_type is InvocationType.EVENT:
        return Result(detail=detail)
    outcome = disposition(invocation.payload)
    return Result(outcome, detail={**detail, "response": invocation.payload})
