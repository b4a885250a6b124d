"""Small builders for rules.json-shaped dicts used across the end-to-end tests."""

from __future__ import annotations

from typing import Any

ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:mail"
ALERTS = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:handler"


def rule(name: str, *actions: dict[str, Any], recipients: list[str] | None = None, **extra: Any):
    return {
        "Name": name,
        "Enabled": True,
        "Recipients": recipients or [],
        "Actions": list(actions),
        **extra,
    }


def rules(*rule_list: dict[str, Any], filters: list[dict[str, Any]] | None = None):
    return {
        "Filters": filters or [],
        "ActiveRuleSet": "test",
        "RuleSets": [{"Metadata": {"Name": "test"}, "Rules": list(rule_list)}],
    }


def add_header(name: str, value: str) -> dict[str, Any]:
    return {"AddHeaderAction": {"HeaderName": name, "HeaderValue": value}}


def s3(bucket: str = "bucket", prefix: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"BucketName": bucket, **extra}
    if prefix is not None:
        body["ObjectKeyPrefix"] = prefix
    return {"S3Action": body}


def sns(topic: str = TOPIC, encoding: str = "UTF-8") -> dict[str, Any]:
    return {"SNSAction": {"TopicArn": topic, "Encoding": encoding}}


def stop(topic: str | None = None) -> dict[str, Any]:
    return {"StopAction": {"Scope": "RuleSet", **({"TopicArn": topic} if topic else {})}}


def lambda_(invocation: str = "Event", function: str = FUNCTION) -> dict[str, Any]:
    return {"LambdaAction": {"FunctionArn": function, "InvocationType": invocation}}


def bounce(
    code="550", status="5.1.1", message="Mailbox does not exist", sender="mailer@example.com"
):
    return {
        "BounceAction": {
            "SmtpReplyCode": code,
            "StatusCode": status,
            "Message": message,
            "Sender": sender,
        }
    }


def message(
    subject: str = "Hello",
    body: str = "Hello there.\r\n",
    sender: str = "Sender <sender@sender.test>",
    to: str = "user@example.com",
    extra: str = "",
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m1@sender.test>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}\r\n{body}"
    ).encode()
