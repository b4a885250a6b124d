"""SendTemplatedEmail, SendBulkTemplatedEmail and SendCustomVerificationEmail through boto3:
the rendered message parsed back, per-destination statuses, rendering failures, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from inbound.testing import RunningInbound
from tests.sending.conftest import client
from tests.sending.test_send import MESSAGE_ID, error

TEMPLATE = {
    "TemplateName": "welcome",
    "SubjectPart": "Welcome, {{name}}",
    "TextPart": "Hello {{name}}, your plan is {{plan}}.",
    "HtmlPart": "<p>Hello {{name}}</p>",
}


@pytest.fixture
def templated(server: RunningInbound, ses: Any) -> Any:
    ses.create_template(Template=TEMPLATE)
    return ses


def test_send_templated_email(server: RunningInbound, templated: Any) -> None:
    message_id = templated.send_templated_email(
        Source="sender@example.com",
        Destination={"ToAddresses": ["user@example.com"], "BccAddresses": ["b@example.com"]},
        ReplyToAddresses=["reply@example.com"],
        Template="welcome",
        TemplateData=json.dumps({"name": "Zoë", "plan": "pro"}),
        Tags=[{"Name": "campaign", "Value": "welcome"}],
    )["MessageId"]
    assert MESSAGE_ID.fullmatch(message_id)
    [sent] = server.sent()
    message = sent["message"]
    assert sent["operation"] == "SendTemplatedEmail" and sent["tags"] == {"campaign": "welcome"}
    assert sent["recipients"] == ["user@example.com", "b@example.com"]
    assert message["Subject"] == "Welcome, Zoë"
    assert (message["From"], message["To"], message["Reply-To"], message["Bcc"]) == (
        "sender@example.com",
        "user@example.com",
        "reply@example.com",
        None,
    )
    assert message["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    text, html = message.iter_parts()
    assert text.get_content() == "Hello Zoë, your plan is pro."
    assert html.get_content() == "<p>Hello Zoë</p>"


def test_missing_data_sends_nothing(server: RunningInbound, templated: Any) -> None:
    """SES accepts the call (a MessageId) and sends nothing: a Rendering Failure."""
    message_id = templated.send_templated_email(
        Source="sender@example.com",
        Destination={"ToAddresses": ["user@example.com"]},
        Template="welcome",
        TemplateData=json.dumps({"name": "Zoë"}),
    )["MessageId"]
    [sent] = server.sent()
    assert (sent["messageId"], sent["status"], sent["message"]) == (
        message_id,
        "renderingFailure",
        None,
    )
    failure = [s for s in sent["trace"] if s["step"] == "renderingFailure"]
    assert failure == [
        {
            "step": "renderingFailure",
            "error": "Attribute 'plan' is not present in the rendering data.",
        }
    ]
    assert templated.get_send_quota()["SentLast24Hours"] == 0


def test_templated_errors(server: RunningInbound, templated: Any) -> None:
    params = {
        "Source": "sender@example.com",
        "Destination": {"ToAddresses": ["user@example.com"]},
        "Template": "nope",
        "TemplateData": "{}",
    }
    assert error(templated.send_templated_email, **params) == (
        "TemplateDoesNotExist",
        "Template nope does not exist.",
    )
    code, _ = error(templated.send_templated_email, **{**params, "Template": "welcome",
                                                       "TemplateData": "[1]"})  # fmt: skip
    assert code == "InvalidParameterValue"
    params = {**params, "Template": "welcome", "Destination": {"ToAddresses": ["x@other.test"]}}
    assert error(templated.send_templated_email, **params)[0] == "MessageRejected"
    assert server.sent() == []


def test_bulk_statuses_per_destination(server: RunningInbound, templated: Any) -> None:
    statuses = templated.send_bulk_templated_email(
        Source="sender@example.com",
        Template="welcome",
        DefaultTemplateData=json.dumps({"name": "friend", "plan": "free"}),
        DefaultTags=[{"Name": "campaign", "Value": "spring"}, {"Name": "wave", "Value": "1"}],
        Destinations=[
            {
                "Destination": {"ToAddresses": ["ann@example.com"]},
                "ReplacementTemplateData": json.dumps({"name": "Ann"}),
                "ReplacementTags": [{"Name": "wave", "Value": "2"}],
            },
            {"Destination": {"ToAddresses": ["stranger@other.test"]}},
            {"Destination": {"ToAddresses": ["nodomain"]}},
            {
                "Destination": {"ToAddresses": ["bob@example.com"]},
                "ReplacementTemplateData": json.dumps({"name": {"first": "Bob"}, "plan": None}),
            },
        ],
    )["Status"]
    assert [s["Status"] for s in statuses] == [
        "Success",
        "MessageRejected",
        "InvalidParameterValue",
        "Success",
    ]
    assert statuses[1]["Error"] == (
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: stranger@other.test"
    )
    assert statuses[2]["Error"] == "Missing final '@domain'"
    ann, bob = server.sent()
    assert ann["messageId"] == statuses[0]["MessageId"]
    assert ann["tags"] == {"campaign": "spring", "wave": "2"}
    assert ann["message"]["Subject"] == "Welcome, Ann"
    assert ann["message"].get_body(("plain",)).get_content() == "Hello Ann, your plan is free."
    # accepted, but a null value is a missing one to the renderer: nothing is sent
    assert bob["messageId"] == statuses[3]["MessageId"]
    assert (bob["status"], bob["message"]) == ("renderingFailure", None)


def test_bulk_whole_call_errors(server: RunningInbound, templated: Any) -> None:
    params = {
        "Source": "sender@example.com",
        "Template": "welcome",
        "DefaultTemplateData": "{}",
        "Destinations": [{"Destination": {"ToAddresses": ["a@example.com"]}}],
    }
    assert error(templated.send_bulk_templated_email, **{**params, "Template": "nope"})[0] == (
        "TemplateDoesNotExist"
    )
    code, text = error(templated.send_bulk_templated_email, **{**params, "Source": "x@other.test"})
    assert (code, text.rpartition(": ")[2]) == ("MessageRejected", "x@other.test")
    code, _ = error(
        templated.send_bulk_templated_email, **{**params, "ConfigurationSetName": "nope"}
    )
    assert code == "ConfigurationSetDoesNotExist"
    many = [{"Destination": {"ToAddresses": [f"u{i}@example.com"]}} for i in range(51)]
    assert error(templated.send_bulk_templated_email, **{**params, "Destinations": many})[0] == (
        "InvalidParameterValue"
    )
    assert server.sent() == []


def test_bulk_throttling_is_a_status(sending: Callable[..., RunningInbound]) -> None:
    ses = client(sending(max_24_hour_send=1.0))
    ses.create_template(Template=TEMPLATE)
    statuses = ses.send_bulk_templated_email(
        Source="sender@example.com",
        Template="welcome",
        DefaultTemplateData=json.dumps({"name": "x", "plan": "y"}),
        Destinations=[{"Destination": {"ToAddresses": [f"u{i}@example.com"]}} for i in range(3)],
    )["Status"]
    assert [s["Status"] for s in statuses] == [
        "Success",
        "AccountDailyQuotaExceeded",
        "AccountDailyQuotaExceeded",
    ]
    assert statuses[1]["Error"] == "Daily message quota exceeded."


# ── SendCustomVerificationEmail ─────────────────────────────────────────────────────────────
VERIFICATION = {
    "TemplateName": "verify",
    "FromEmailAddress": "noreply@example.com",
    "TemplateSubject": "Please confirm",
    "TemplateContent": "<html><body><p>Confirm your address</p></body></html>",
    "SuccessRedirectionURL": "https://app.example.com/ok",
    "FailureRedirectionURL": "https://app.example.com/failed",
}


def test_custom_verification_email(sending: Callable[..., RunningInbound]) -> None:
    server = sending(production=True)
    ses = client(server)
    ses.create_custom_verification_email_template(**VERIFICATION)
    message_id = ses.send_custom_verification_email(
        EmailAddress="new.user@customer.test", TemplateName="verify"
    )["MessageId"]
    [sent] = server.sent()
    message = sent["message"]
    assert sent["messageId"] == message_id
    assert (message["From"], message["To"], message["Subject"]) == (
        "noreply@example.com",
        "new.user@customer.test",
        "Please confirm",
    )
    body = message.get_content()
    assert "<p>Confirm your address</p>" in body
    assert f"{server.api_url}/api/identities/new.user@customer.test/confirm" in body
    assert "new.user@customer.test" in ses.list_identities()["Identities"]


def test_custom_verification_needs_production_access(server: RunningInbound, ses: Any) -> None:
    ses.create_custom_verification_email_template(**VERIFICATION)
    params = {"EmailAddress": "new@customer.test", "TemplateName": "verify"}
    assert error(ses.send_custom_verification_email, **params) == (
        "ProductionAccessNotGranted",
        "Production access has not been granted for this account: custom verification emails "
        "can be sent only outside the sandbox.",
    )
    assert server.sent() == []
    assert "new@customer.test" not in ses.list_identities()["Identities"]


def test_custom_verification_errors(sending: Callable[..., RunningInbound]) -> None:
    server = sending(production=True)
    ses = client(server)
    params = {"EmailAddress": "new@customer.test", "TemplateName": "verify"}
    assert error(ses.send_custom_verification_email, **params) == (
        "CustomVerificationEmailTemplateDoesNotExist",
        "Custom verification email template <verify> does not exist.",
    )
    ses.create_custom_verification_email_template(**VERIFICATION)
    code, _ = error(ses.send_custom_verification_email, **params, ConfigurationSetName="nope")
    assert code == "ConfigurationSetDoesNotExist"
    code, _ = error(ses.send_custom_verification_email, **{**params, "EmailAddress": "x"})
    assert code == "InvalidParameterValue"
    assert server.sent() == []
