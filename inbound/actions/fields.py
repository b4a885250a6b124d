"""`receipt.action` objects as notifications carry them (spec receiving.md §4.3)."""

from __future__ import annotations

from typing import Any

from inbound import model


def action_fields(action: model.Action, **extra: Any) -> dict[str, Any]:
    """`{"type": ..., "topicArn": ...}` plus the per-type members, unset ones omitted."""
    fields: dict[str, Any] = {"type": action.NOTIFICATION_TYPE}
    topic = getattr(action, "topic_arn", None)
    if topic:
        fields["topicArn"] = topic
    match action:
        case model.S3Action():
            fields["bucketName"] = action.bucket_name
            if action.object_key_prefix:
                fields["objectKeyPrefix"] = action.object_key_prefix
        case model.SNSAction():
            fields["encoding"] = action.encoding.notification_name
        case model.BounceAction():
            fields["smtpReplyCode"] = action.smtp_reply_code
            if action.status_code:
                fields["statusCode"] = action.status_code
            fields["message"] = action.message
            fields["sender"] = action.sender
        case model.LambdaAction():
            fields["functionArn"] = action.function_arn
            fields["invocationType"] = action.invocation_type.value
        case model.WorkmailAction():
            fields["organizationArn"] = action.organization_arn
    fields.update(extra)
    return fields
