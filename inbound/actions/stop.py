"""Stop: end the rule set: no more actions of this rule, no later rules (spec §3.6)."""

from __future__ import annotations

from inbound.actions import ActionContext, Result
from inbound.actions.fields import action_fields
from inbound.records import Outcome


async def execute(ctx: ActionContext) -> Result:
    return Result(Outcome.STOP_RULE_SET, detail={"action": action_fields(ctx.action)})
