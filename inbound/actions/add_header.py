"""AddHeader: prepend a header field seen by every later action and rule (spec §3.1)."""

from __future__ import annotations

from inbound.actions import ActionContext, Result
from inbound.model import AddHeaderAction


async def execute(ctx: ActionContext) -> Result:
    action = ctx.action
    assert isinstance(action, AddHeaderAction)
    ctx.view.added.append((action.header_name, action.header_value))
    return Result(detail={"header": f"{action.header_name}: {action.header_value}"})
