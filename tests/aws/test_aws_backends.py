"""Every action through the `aws` backends against moto, compared with the embedded backends'
output for the same message (issue 6; spec receiving.md §3.3-3.5, §8).

Each test runs the same rules on two servers, one with `[backends.*] kind = "aws"` pointed at
moto and one embedded, sends the same message to both, and compares what came out after
replacing only ids and clocks (normalize.py).
"""

from __future__ import annotations

import json

import boto3
import botocore.exceptions
import pytest

from inbound.actions import json_dumps
from inbound.testing import RunningInbound
from tests.aws.conftest import Moto
from tests.aws.normalize import assert_same, normalize
from tests.powertools import strict_ses_model
from tests.rulesets import lambda_, message, rule, rules, s3, sns, stop

RAW = message(subject="Grüße", body="Hello there, Grüße.\r\n")


def send(server: RunningInbound, raw: bytes = RAW) -> str:
    server.send("sender@sender.test", ["user@example.com"], raw)
    [received] = server.messages()
    return received["messageId"]  # type: ignore[no-any-return]


def steps(server: RunningInbound, message_id: str) -> list[dict]:
    return [t for t in server.trace(message_id) if t["kind"] == "action"]


def pair(inbound_factory, tmp_path, moto: Moto, the_rules, *services: str, **changes):
    aws = inbound_factory(the_rules, backends=moto.backends(*services), **changes)
    local = inbound_factory(the_rules, data_dir=tmp_path / "local", **changes)
    return aws, local


# ── S3 ──────────────────────────────────────────────────────────────────────────────────────
def test_s3_object_is_the_embedded_backends_object(inbound_factory, tmp_path, moto_server):
    bucket = moto_server.bucket()
    aws, local = pair(inbound_factory, tmp_path, moto_server, rules(rule("r", s3(bucket, "in/"))))
    aws_id, local_id = send(aws), send(local)
    got = moto_server.client("s3").get_object(Bucket=bucket, Key=f"in/{aws_id}")
    body = got["Body"].read()
    expected = local.get(f"/api/s3/{bucket}/in/{local_id}")
    assert body.endswith(RAW)
    assert_same(normalize(body, aws_id), normalize(expected, local_id))
    assert got["Metadata"] == {}
    [step] = steps(aws, aws_id)
    assert step["error"] is None
    assert step["detail"]["action"]["objectKey"] == f"in/{aws_id}"


def test_s3_missing_bucket_is_a_publish_failure(inbound_factory, moto_server):
    server = inbound_factory(
        rules(rule("r", s3("no-such-bucket-x1"), sns("arn:aws:sns:us-east-1:123456789012:x"))),
        backends=moto_server.backends("s3"),
    )
    message_id = send(server)
    s3_step, sns_step = steps(server, message_id)
    assert "NoSuchBucket" in s3_step["error"]
    assert sns_step["error"] is None  # the next action still ran (spec §8)


def test_saving_a_rule_writes_the_setup_object_or_fails(inbound_factory, moto_server):
    bucket = moto_server.bucket()
    server = inbound_factory(backends=moto_server.backends("s3", "lambda"))
    ses = server.ses()
    ses.create_receipt_rule_set(RuleSetName="rs")
    ses.create_receipt_rule(
        RuleSetName="rs",
        Rule={"Name": "ok", "Enabled": True, "Actions": [s3(bucket, "mail")]},
    )
    setup = moto_server.client("s3").get_object(
        Bucket=bucket, Key="mail/AMAZON_SES_SETUP_NOTIFICATION"
    )
    assert b"Amazon SES Setup Notification" in setup["Body"].read()
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        ses.create_receipt_rule(
            RuleSetName="rs",
            Rule={"Name": "bad", "Enabled": True, "Actions": [s3("no-such-bucket-x2")]},
        )
    assert missing.value.response["Error"]["Code"] == "InvalidS3Configuration"
    assert missing.value.response["Error"]["Message"] == (
        "Could not write to bucket: no-such-bucket-x2"
    )
    function = moto_server.function()
    fn_rule = {"Name": "fn", "Enabled": True, "Actions": [lambda_("Event", function)]}
    ses.create_receipt_rule(RuleSetName="rs", Rule=fn_rule)
    with pytest.raises(botocore.exceptions.ClientError) as no_function:
        ses.create_receipt_rule(
            RuleSetName="rs",
            Rule={"Name": "nofn", "Enabled": True, "Actions": [lambda_("Event", function + "x")]},
        )
    assert no_function.value.response["Error"]["Code"] == "InvalidLambdaFunction"


# ── SNS ─────────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("encoding", ["UTF-8", "Base64"])
def test_sns_notification_is_the_embedded_backends_notification(
    inbound_factory, tmp_path, moto_server, encoding
):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    topic, queue = moto_server.topic_with_queue()
    aws, local = pair(
        inbound_factory, tmp_path, moto_server, rules(rule("r", sns(topic, encoding)))
    )
    aws_id, local_id = send(aws), send(local)
    [received] = moto_server.received(queue, 1)
    [expected] = local.get("/api/notifications")
    got, want = json.loads(received), json.loads(expected["message"])
    if encoding == "Base64":  # compare the decoded content: base64 hides the ids and dates
        import base64

        got["content"] = base64.b64decode(got["content"]).decode()
        want["content"] = base64.b64decode(want["content"]).decode()
        assert want["receipt"]["action"]["encoding"] == "BASE64"
        received, expected["message"] = json_dumps(got), json_dumps(want)
    assert_same(normalize(received, aws_id), normalize(expected["message"], local_id))
    [(sns_id, _, subject, *_)] = (
        sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].topics[topic].sent_notifications
    )
    assert subject == expected["subject"] == "Amazon SES Email Receipt Notification"
    [step] = steps(aws, aws_id)
    assert step["detail"]["snsMessageId"] == sns_id


def test_alert_notifications_of_other_actions_are_the_embedded_ones(
    inbound_factory, tmp_path, moto_server
):
    topic, queue = moto_server.topic_with_queue()
    bucket = moto_server.bucket()
    the_rules = rules(rule("r", s3(bucket, TopicArn=topic), stop(topic)))
    aws = inbound_factory(the_rules, backends=moto_server.backends("s3", "sns"))
    local = inbound_factory(the_rules, data_dir=tmp_path / "local")
    aws_id, local_id = send(aws), send(local)
    by_type = lambda text: json.loads(text)["receipt"]["action"]["type"]  # noqa: E731
    received = sorted(moto_server.received(queue, 2), key=by_type)
    expected = sorted((n["message"] for n in local.get("/api/notifications")), key=by_type)
    assert len(received) == len(expected) == 2
    for got, want in zip(received, expected, strict=True):
        assert "content" not in json.loads(got)  # alerts never carry the body (§4.1)
        assert_same(normalize(got, aws_id), normalize(want, local_id))


def test_sns_missing_topic_is_a_publish_failure(inbound_factory, moto_server):
    server = inbound_factory(
        rules(rule("r", sns("arn:aws:sns:us-east-1:123456789012:nope"))),
        backends=moto_server.backends("sns"),
    )
    [step] = steps(server, send(server))
    assert "NotFound" in step["error"]


def test_a_rule_naming_a_topic_is_checked_and_told_through_sns(inbound_factory, moto_server):
    """The AWS backend makes no topic: a rule naming one that is not there is refused; one that
    is gets SES's setup notification through SNS."""
    topic, queue = moto_server.topic_with_queue()
    server = inbound_factory(backends=moto_server.backends("sns"))
    ses = server.ses()
    ses.create_receipt_rule_set(RuleSetName="set")
    missing = topic + "-missing"
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ses.create_receipt_rule(RuleSetName="set", Rule=rule("r", sns(missing)))
    assert refused.value.response["Error"]["Message"] == (
        f"Could not publish to SNS topic: {missing}"
    )
    ses.create_receipt_rule(RuleSetName="set", Rule=rule("r", sns(topic)))
    [received] = moto_server.received(queue, 1)
    assert json.loads(received)["notificationType"] == "AmazonSnsSubscriptionSucceeded"


# ── Lambda ──────────────────────────────────────────────────────────────────────────────────
def test_lambda_event_payload_is_the_embedded_backends_event(
    inbound_factory, tmp_path, moto_server
):
    function = moto_server.function()
    events = []
    the_rules = rules(rule("r", lambda_("Event", function)))
    aws = inbound_factory(the_rules, backends=moto_server.backends("lambda"))
    local = inbound_factory(
        the_rules,
        data_dir=tmp_path / "local",
        lambda_handlers={function: lambda event, context: events.append(event)},
    )
    moto_server.start_recording()
    aws_id, local_id = send(aws), send(local)
    [(invocation_type, payload)] = moto_server.invocations()
    assert invocation_type == "Event"
    [step] = steps(local, local_id)
    expected = json_dumps(step["detail"]["event"])
    assert_same(normalize(payload, aws_id), normalize(expected, local_id))
    [aws_step] = steps(aws, aws_id)
    assert aws_step["error"] is None and aws_step["detail"]["requestId"]
    strict_ses_model(payload)


def test_lambda_request_response_disposition_stops_the_rule_set(
    inbound_factory, tmp_path, moto_server
):
    function, bucket = moto_server.function(), moto_server.bucket()
    the_rules = rules(
        rule("first", lambda_("RequestResponse", function)), rule("second", s3(bucket))
    )
    aws = inbound_factory(the_rules, backends=moto_server.backends("lambda", "s3"))
    local = inbound_factory(
        the_rules,
        data_dir=tmp_path / "local",
        lambda_handlers={function: lambda event, context: {"disposition": "STOP_RULE_SET"}},
    )
    moto_server.queue_lambda_result({"disposition": "STOP_RULE_SET"})
    moto_server.start_recording()
    aws_id, local_id = send(aws), send(local)
    [(invocation_type, payload)] = moto_server.invocations()
    assert invocation_type == "RequestResponse"
    [local_step] = steps(local, local_id)
    expected = json_dumps(local_step["detail"]["event"])
    assert_same(normalize(payload, aws_id), normalize(expected, local_id))
    [step] = steps(aws, aws_id)  # the S3 action of "second" never ran
    assert step["outcome"] == local_step["outcome"] == "STOP_RULE_SET"
    assert step["detail"]["response"] == {"disposition": "STOP_RULE_SET"}
    assert moto_server.client("s3").list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    strict_ses_model(payload)


class _FakeLambda:
    """moto's LambdaSimpleBackend always succeeds (even for unknown functions), so function
    errors and timeouts are played by a stand-in client with botocore's response shape."""

    def __init__(self, response: dict, delay: float = 0.0) -> None:
        self.response, self.delay = response, delay

    def invoke(self, **kwargs):
        import io
        import time

        time.sleep(self.delay)
        body = self.response.get("Payload", b"")
        return {**self.response, "Payload": io.BytesIO(body)}


@pytest.mark.parametrize(
    ("response", "delay", "error"),
    [
        (
            {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": b'{"errorMessage":"x"}'},
            0.0,
            'Unhandled: {"errorMessage":"x"}',
        ),
        ({"StatusCode": 200, "Payload": b"{}"}, 2.0, "Task timed out after 0.50 seconds"),
    ],
    ids=["function-error", "timeout"],
)
def test_lambda_function_error_or_timeout_is_a_failure_and_flow_continues(
    inbound_factory, moto_server, response, delay, error
):
    function, bucket = moto_server.function(), moto_server.bucket()
    server = inbound_factory(
        rules(rule("r", lambda_("RequestResponse", function), s3(bucket))),
        backends=moto_server.backends("lambda", "s3"),
        lambda_timeout=0.5,
    )
    server.server.backends.functions.client = _FakeLambda(response, delay)
    message_id = send(server)
    lambda_step, s3_step = steps(server, message_id)
    assert lambda_step["error"] == error
    assert lambda_step["outcome"] == "CONTINUE"
    assert s3_step["error"] is None


def test_boto3_is_not_given_real_credentials(moto_server):
    assert boto3.session.Session().get_credentials().access_key == "testing"
