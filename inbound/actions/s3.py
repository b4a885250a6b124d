"""S3: store the message, SES trace headers included, under prefix + message id (spec §3.3)."""

from __future__ import annotations

from inbound.actions import ActionContext, Result
from inbound.actions.fields import action_fields
from inbound.actions.sender_bounce import TOO_LARGE, bounce_to_sender
from inbound.model import S3Action

MAX_MESSAGE = 40 * 1024 * 1024  # including headers (spec §3.3, §9.1)


def object_key(prefix: str | None, message_id: str) -> str:
    """SES's exact join is UNCONFIRMED (§3.3); its recommendation: add `/` unless present."""
    if not prefix or prefix.endswith("/"):
        return f"{prefix or ''}{message_id}"
    return f"{prefix}/{message_id}"


async def execute(ctx: ActionContext) -> Result:
    action = ctx.action
    assert isinstance(action, S3Action)
    key = object_key(action.object_key_prefix, ctx.message_id)
    fields = action_fields(action, objectKey=key)
    content = ctx.content()
    if len(content) > MAX_MESSAGE:
        bounced = await bounce_to_sender(ctx, TOO_LARGE)
        return Result(
            detail={"action": fields, **bounced},
            error=f"message of {len(content)} bytes exceeds the S3 action's 40 MB limit",
        )
    if action.kms_key_arn:
        return Result(
            detail={"action": fields},
            error="KmsKeyArn: client-side KMS encryption is not available in this build",
        )
    await ctx.backends.objects.put_object(action.bucket_name, key, content, {}, ctx.message_id)
    return Result(detail={"action": fields, "bucket": action.bucket_name, "key": key})
