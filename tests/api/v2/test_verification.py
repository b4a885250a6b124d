"""Custom verification email templates and SendCustomVerificationEmail through boto3 `sesv2`,
on the same templates as v1's."""

from __future__ import annotations

from typing import Any

from inbound.config import SendingSettings
from inbound.testing import RunningInbound
from tests.api.v2.conftest import client, error
from tests.sending.test_templated import VERIFICATION


def test_template_lifecycle(v2: Any, v1: Any) -> None:
    v2.create_custom_verification_email_template(
        **VERIFICATION, Tags=[{"Key": "team", "Value": "growth"}]
    )
    got = v2.get_custom_verification_email_template(TemplateName="verify")
    got.pop("ResponseMetadata")
    assert got == {**VERIFICATION, "Tags": [{"Key": "team", "Value": "growth"}]}
    assert (
        v1.get_custom_verification_email_template(TemplateName="verify")["TemplateSubject"]
        == "Please confirm"
    )
    v2.update_custom_verification_email_template(**{**VERIFICATION, "TemplateSubject": "New"})
    listed = v2.list_custom_verification_email_templates()["CustomVerificationEmailTemplates"]
    assert listed == [
        {
            k: v
            for k, v in {**VERIFICATION, "TemplateSubject": "New"}.items()
            if k != "TemplateContent"
        }
    ]
    v2.delete_custom_verification_email_template(TemplateName="verify")
    assert v1.list_custom_verification_email_templates()["CustomVerificationEmailTemplates"] == []


def test_template_errors(v2: Any) -> None:
    v2.create_custom_verification_email_template(**VERIFICATION)
    assert error(v2.create_custom_verification_email_template, **VERIFICATION) == (
        "AlreadyExistsException",
        400,
        "Custom verification email template <verify> already exists.",
    )
    missing = (
        "NotFoundException",
        404,
        "Custom verification email template <nope> does not exist.",
    )
    assert error(v2.get_custom_verification_email_template, TemplateName="nope") == missing
    assert error(v2.delete_custom_verification_email_template, TemplateName="nope") == missing
    assert (
        error(
            v2.update_custom_verification_email_template,
            **{**VERIFICATION, "TemplateName": "nope"},
        )
        == missing
    )
    assert error(
        v2.create_custom_verification_email_template,
        **{**VERIFICATION, "TemplateName": "other", "FromEmailAddress": "x@unverified.test"},
    ) == ("BadRequestException", 400, "From email address <x@unverified.test> is not verified.")


def test_send_custom_verification_email(inbound_factory: Any) -> None:
    running: RunningInbound = inbound_factory(
        verified=["example.com"], sending=SendingSettings(production=True)
    )
    v2 = client(running)
    v2.create_custom_verification_email_template(**VERIFICATION)
    message_id = v2.send_custom_verification_email(
        EmailAddress="new.user@customer.test", TemplateName="verify"
    )["MessageId"]
    [sent] = running.sent()
    assert sent["messageId"] == message_id
    assert sent["message"]["Subject"] == "Please confirm"
    assert "/api/identities/new.user@customer.test/confirm" in sent["message"].get_content()
    identity = v2.get_email_identity(EmailIdentity="new.user@customer.test")
    assert identity["IdentityType"] == "EMAIL_ADDRESS"
    assert error(
        v2.send_custom_verification_email, EmailAddress="a@customer.test", TemplateName="nope"
    ) == ("NotFoundException", 404, "Custom verification email template <nope> does not exist.")


def test_send_custom_verification_email_in_the_sandbox(v2: Any, server: RunningInbound) -> None:
    v2.create_custom_verification_email_template(**VERIFICATION)
    code, status, _ = error(
        v2.send_custom_verification_email, EmailAddress="a@customer.test", TemplateName="verify"
    )
    assert (code, status) == ("BadRequestException", 400)
    assert server.sent() == []
