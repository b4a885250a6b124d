"""S3: store the message, SES trace headers included, under prefix + message id (spec §3.3).

With `KmsKeyArn` the object is encrypted client-side exactly as SES does it (s3_encryption.py).
"""

from __future__ import annotations

from inbound.actions import ActionContext, Result
from inbound.actions.fields import action_fields
from inbound.actions.sender_bounce import over_limit
from inbound.backends.s3_encryption import encrypt_with_kms, ses_context
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
    failed = await over_limit(ctx, fields, ctx.content_size(), MAX_MESSAGE, "S3 action's 40 MB")
    if failed is not None:
        return failed
    objects = ctx.backends.objects
    if action.kms_key_arn:
        context = ses_context(ctx.message_id, ctx.rule.name, ctx.site.account_id)
        content, metadata = await encrypt_with_kms(
            ctx.backends.kms, action.kms_key_arn, context, ctx.content()
        )
        await objects.put_object(action.bucket_name, key, content, metadata, ctx.message_id)
    else:
        prefix, message = ctx.content_parts()  # not joined: no copy of the message
        await objects.put_object(action.bucket_name, key, message, {}, ctx.message_id, prefix)
    detail = {"action": fields, "bucket": action.bucket_name, "key": key}
    if action.kms_key_arn:
        detail["kmsKeyArn"] = action.kms_key_arn
    return Result(detail=detail)
