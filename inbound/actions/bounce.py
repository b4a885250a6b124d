"""Bounce: the SMTP session already got 250; the sender gets a DSN from `Sender` (spec §3.2)."""

from __future__ import annotations

from inbound.actions import ActionContext, Result
from inbound.actions.fields import action_fields
from inbound.actions.sender_bounce import bounce_to_sender
from inbound.model import BounceAction


async def execute(ctx: ActionContext) -> Result:
    action = ctx.action
    assert isinstance(action, BounceAction)
    reply = (action.smtp_reply_code, action.status_code, action.message)
    sent = await bounce_to_sender(ctx, reply, sender=action.sender)
    return Result(detail={"action": action_fields(action), **sent})
