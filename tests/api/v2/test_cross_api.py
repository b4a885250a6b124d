"""One account, two APIs: what one API makes, the other sees and uses."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from typing import Any

from inbound.testing import RunningInbound
from tests.api.v2.conftest import FAST, client
from tests.rulesets import rule, rules


def test_an_identity_created_through_v2_is_seen_by_v1(v2: Any, v1: Any) -> None:
    created = v2.create_email_identity(EmailIdentity="crossed.test")
    assert "crossed.test" in v1.list_identities()["Identities"]
    dkim = v1.get_identity_dkim_attributes(Identities=["crossed.test"])["DkimAttributes"]
    assert dkim["crossed.test"]["DkimTokens"] == created["DkimAttributes"]["Tokens"]
    v2.create_email_identity(EmailIdentity="who@crossed.test")
    assert v1.list_identities(IdentityType="EmailAddress")["Identities"] == ["who@crossed.test"]
    # and the other way: v1's identity is v2's, deleted through v2, gone for v1
    v1.verify_email_identity(EmailAddress="v1@crossed.test")
    assert v2.get_email_identity(EmailIdentity="v1@crossed.test")["IdentityType"] == (
        "EMAIL_ADDRESS"
    )
    v2.delete_email_identity(EmailIdentity="v1@crossed.test")
    assert "v1@crossed.test" not in v1.list_identities()["Identities"]


def test_a_v2_identity_lets_v1_send_from_it(v2: Any, v1: Any, server: RunningInbound) -> None:
    v2.create_email_identity(EmailIdentity="newsender.test")
    message_id = v1.send_email(
        Source="me@newsender.test",
        Destination={"ToAddresses": ["to@example.com"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
    )["MessageId"]
    assert any(s["messageId"] == message_id for s in server.sent())


def test_a_v1_configuration_set_is_used_by_a_v2_send(
    v2: Any, v1: Any, server: RunningInbound
) -> None:
    v1.create_configuration_set(ConfigurationSet={"Name": "from-v1"})
    message_id = v2.send_email(
        FromEmailAddress="a@example.com",
        Destination={"ToAddresses": ["to@example.com"]},
        Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
        ConfigurationSetName="from-v1",
    )["MessageId"]
    sent = next(s for s in server.sent() if s["messageId"] == message_id)
    assert sent["configurationSet"] == "from-v1"
    # paused through v1, the v2 send is refused as v2 says it
    v1.update_configuration_set_sending_enabled(ConfigurationSetName="from-v1", Enabled=False)
    try:
        v2.send_email(
            FromEmailAddress="a@example.com",
            Destination={"ToAddresses": ["to@example.com"]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
            ConfigurationSetName="from-v1",
        )
    except v2.exceptions.SendingPausedException as error:
        assert error.response["Error"]["Message"] == (
            "Email sending is disabled for configuration set <from-v1>."
        )
    else:
        raise AssertionError("sent through a paused configuration set")


def test_a_v2_template_is_used_by_a_v1_templated_send(
    v2: Any, v1: Any, server: RunningInbound
) -> None:
    v2.create_email_template(
        TemplateName="shared", TemplateContent={"Subject": "To {{n}}", "Text": "x"}
    )
    message_id = v1.send_templated_email(
        Source="a@example.com",
        Destination={"ToAddresses": ["to@example.com"]},
        Template="shared",
        TemplateData='{"n": "you"}',
    )["MessageId"]
    sent = next(s for s in server.sent() if s["messageId"] == message_id)
    assert sent["message"]["Subject"] == "To you"


def rcpt_code(running: RunningInbound, recipient: str) -> int:
    """The SMTP server's reply code to RCPT TO for `recipient`, over a real socket."""
    with smtplib.SMTP(running.smtp_host, running.smtp_port) as smtp:
        smtp.ehlo()
        smtp.mail("a@sender.test")
        code, _ = smtp.rcpt(recipient)
        return code


def test_a_v2_domain_identity_opens_a_catch_all_rule(
    inbound_factory: Callable[..., RunningInbound],
) -> None:
    # a rule with empty Recipients matches every verified domain (receiving.md §1.4)
    running = inbound_factory(rules(rule("catch-all")), verified=["example.com"], sending=FAST)
    v2 = client(running)
    assert rcpt_code(running, "x@example.com") == 250
    assert rcpt_code(running, "x@v2domain.test") == 550
    v2.create_email_identity(EmailIdentity="v2domain.test")  # auto mode: verified at once
    assert v2.get_email_identity(EmailIdentity="v2domain.test")["VerifiedForSendingStatus"]
    assert rcpt_code(running, "x@v2domain.test") == 250
    v2.delete_email_identity(EmailIdentity="v2domain.test")
    assert rcpt_code(running, "x@v2domain.test") == 550
