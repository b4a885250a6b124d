"""WorkMail: hand the message to the organization's mail store (spec §3.7)."""

from __future__ import annotations

from inbound.actions import ActionContext, Result
from inbound.actions.fields import action_fields
from inbound.model import WorkmailAction


async def execute(ctx: ActionContext) -> Result:
    action = ctx.action
    assert isinstance(action, WorkmailAction)
    where = await ctx.backends.mailbox.deliver(
        action.organization_arn, ctx.recipients, ctx.content(), ctx.message_id
    )
    return Result(detail={"action": action_fields(action), "delivered": where})
