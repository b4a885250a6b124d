"""SNS: publish the notification with the whole message in `content` (spec §3.4)."""

from __future__ import annotations

import base64

from inbound.actions import ActionContext, Result
from inbound.actions.fields import action_fields
from inbound.actions.sender_bounce import over_limit
from inbound.model import SNSAction, SnsEncoding

SUBJECT = "Amazon SES Email Receipt Notification"
# "150 KB" including headers; above it SES bounces with 552 5.2.3 and publishes nothing
# (spec §3.4 recommendation, after dsn-samples/sisimai-lhost-receivingses-08.eml).
MAX_MESSAGE = 150 * 1024


async def execute(ctx: ActionContext) -> Result:
    action = ctx.action
    assert isinstance(action, SNSAction)
    fields = action_fields(action)
    failed = await over_limit(ctx, fields, ctx.content_size(), MAX_MESSAGE, "SNS action's 150 KB")
    if failed is not None:
        return failed
    content = ctx.content()
    if action.encoding is SnsEncoding.BASE64:
        text = base64.b64encode(content).decode("ascii")
    else:
        # UTF-8 "may not preserve all special characters" (DG): undecodable bytes are replaced.
        text = content.decode("utf-8", "replace")
    notification = ctx.notification(fields, text)
    sns_id = await ctx.backends.publisher.publish(
        action.topic_arn, SUBJECT, notification, ctx.message_id
    )
    return Result(detail={"action": fields, "snsMessageId": sns_id})
