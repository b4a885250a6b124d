"""Each implemented v2 operation through boto3 `sesv2` against a running server: what it
answers, what it changed (read back through v2 and, where it shares state, v1), and its errors
with SES v2's codes, statuses and messages."""

from __future__ import annotations

import email
from email import policy
from typing import Any

from inbound.testing import RunningInbound
from tests.api.v2.conftest import error

SIMPLE = {"Simple": {"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "Body text"}}}}


# ── account ─────────────────────────────────────────────────────────────────────────────────
def test_get_account_reports_the_sandbox_quota_and_sending(v2: Any, v1: Any) -> None:
    account = v2.get_account()
    assert account["ProductionAccessEnabled"] is False
    assert account["SendingEnabled"] is True
    assert account["EnforcementStatus"] == "HEALTHY"
    assert account["SendQuota"] == {
        "Max24HourSend": 10000.0,
        "MaxSendRate": 1000.0,
        "SentLast24Hours": 0.0,
    }
    v2.send_email(
        FromEmailAddress="a@example.com",
        Destination={"ToAddresses": ["b@example.com", "c@example.com"]},
        Content=SIMPLE,
    )
    assert v2.get_account()["SendQuota"]["SentLast24Hours"] == 2.0
    assert v1.get_send_quota()["SentLast24Hours"] == 2.0


def test_production_access_comes_from_the_sending_settings(inbound_factory: Any) -> None:
    from inbound.config import SendingSettings
    from tests.api.v2.conftest import client

    running = inbound_factory(sending=SendingSettings(production=True))
    assert client(running).get_account()["ProductionAccessEnabled"] is True


def test_put_account_sending_attributes_pauses_sending_for_both_apis(v2: Any, v1: Any) -> None:
    v2.put_account_sending_attributes(SendingEnabled=False)
    assert v2.get_account()["SendingEnabled"] is False
    assert v1.get_account_sending_enabled()["Enabled"] is False
    code, status, _ = error(
        v2.send_email,
        FromEmailAddress="a@example.com",
        Destination={"ToAddresses": ["b@example.com"]},
        Content=SIMPLE,
    )
    assert (code, status) == ("SendingPausedException", 400)
    v2.put_account_sending_attributes()  # no SendingEnabled: nothing changes
    assert v2.get_account()["SendingEnabled"] is False
    v2.put_account_sending_attributes(SendingEnabled=True)
    assert v1.get_account_sending_enabled()["Enabled"] is True


def test_account_details_and_attributes(v2: Any, inbound_factory: Any) -> None:
    details = {
        "MailType": "TRANSACTIONAL",
        "WebsiteURL": "https://app.example.com",
        "ContactLanguage": "EN",
        "UseCaseDescription": "Receipts",
        "AdditionalContactEmailAddresses": ["ops@example.com"],
    }
    assert "Details" not in v2.get_account()
    v2.put_account_details(**details, ProductionAccessEnabled=True)
    v2.put_account_vdm_attributes(VdmAttributes={"VdmEnabled": "ENABLED"})
    v2.put_account_dedicated_ip_warmup_attributes(AutoWarmupEnabled=True)
    account = v2.get_account()
    review = account["Details"].pop("ReviewDetails")
    assert account["Details"] == details
    assert review["Status"] == "PENDING" and review["CaseId"].isdigit()  # the sandbox
    assert account["VdmAttributes"] == {"VdmEnabled": "ENABLED"}
    assert account["DedicatedIpAutoWarmupEnabled"] is True
    v2.put_account_dedicated_ip_warmup_attributes()  # without the member: unchanged
    assert v2.get_account()["DedicatedIpAutoWarmupEnabled"] is True


def test_a_review_is_granted_when_the_server_is_in_production(inbound_factory: Any) -> None:
    from inbound.config import SendingSettings
    from tests.api.v2.conftest import client

    v2 = client(inbound_factory(sending=SendingSettings(production=True)))
    v2.put_account_details(
        MailType="MARKETING", WebsiteURL="https://x.example", ProductionAccessEnabled=True
    )
    assert v2.get_account()["Details"]["ReviewDetails"]["Status"] == "GRANTED"


# ── email identities ────────────────────────────────────────────────────────────────────────
def test_create_a_domain_identity_sets_up_easy_dkim(v2: Any, server: RunningInbound) -> None:
    created = v2.create_email_identity(
        EmailIdentity="Mail.Example.ORG", Tags=[{"Key": "team", "Value": "ops"}]
    )
    assert created["IdentityType"] == "DOMAIN"
    assert created["VerifiedForSendingStatus"] is True
    dkim = created["DkimAttributes"]
    assert dkim["SigningEnabled"] is True and dkim["Status"] == "SUCCESS"
    assert len(dkim["Tokens"]) == 3 and all(len(t) == 32 for t in dkim["Tokens"])
    got = v2.get_email_identity(EmailIdentity="mail.example.org")
    assert got["DkimAttributes"]["Tokens"] == dkim["Tokens"]
    assert got["Tags"] == [{"Key": "team", "Value": "ops"}]
    assert got["VerificationStatus"] == "SUCCESS"
    assert got["FeedbackForwardingStatus"] is True
    assert got["MailFromAttributes"] == {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}
    # the DKIM key is published for the first token, as for v1's VerifyDomainDkim
    record = server.get("/api/identities/mail.example.org/dkim")
    assert dkim["Tokens"][0] in str(record)


def test_create_an_address_identity(v2: Any) -> None:
    created = v2.create_email_identity(EmailIdentity="someone@other.test")
    assert created["IdentityType"] == "EMAIL_ADDRESS"
    assert created["DkimAttributes"]["Status"] == "NOT_STARTED"
    assert created["DkimAttributes"]["SigningEnabled"] is False
    got = v2.get_email_identity(EmailIdentity="someone@other.test")
    assert got["IdentityType"] == "EMAIL_ADDRESS" and got["Tags"] == []


def test_identity_errors(v2: Any) -> None:
    v2.create_email_identity(EmailIdentity="dup.test")
    assert error(v2.create_email_identity, EmailIdentity="dup.test") == (
        "AlreadyExistsException",
        400,
        "Email identity dup.test already exist.",
    )
    assert error(v2.create_email_identity, EmailIdentity="not a domain") == (
        "BadRequestException",
        400,
        "Invalid domain name not a domain.",
    )
    assert error(v2.get_email_identity, EmailIdentity="nope.test") == (
        "NotFoundException",
        404,
        "Email identity <nope.test> does not exist.",
    )
    assert error(v2.delete_email_identity, EmailIdentity="nope.test")[:2] == (
        "NotFoundException",
        404,
    )
    code, status, message = error(
        v2.create_email_identity,
        EmailIdentity="byo.test",
        DkimSigningAttributes={"DomainSigningSelector": "s", "DomainSigningPrivateKey": "k"},
    )
    assert (code, status) == ("BadRequestException", 400)
    assert message == "Invalid DKIM private key: the private key is not base64."


def test_list_and_delete_identities(v2: Any) -> None:
    for name in ("b.test", "a.test", "c@a.test"):
        v2.create_email_identity(EmailIdentity=name)
    first = v2.list_email_identities(PageSize=2)
    assert [i["IdentityName"] for i in first["EmailIdentities"]] == ["a.test", "b.test"]
    rest = v2.list_email_identities(PageSize=2, NextToken=first["NextToken"])
    assert [i["IdentityName"] for i in rest["EmailIdentities"]] == ["c@a.test", "example.com"]
    assert "NextToken" not in rest
    assert rest["EmailIdentities"][0] == {
        "IdentityType": "EMAIL_ADDRESS",
        "IdentityName": "c@a.test",
        "SendingEnabled": True,
        "VerificationStatus": "SUCCESS",
    }
    v2.delete_email_identity(EmailIdentity="b.test")
    names = [i["IdentityName"] for i in v2.list_email_identities()["EmailIdentities"]]
    assert names == ["a.test", "c@a.test", "example.com"]
    assert error(v2.list_email_identities, NextToken="garbage")[:2] == ("BadRequestException", 400)


# ── email templates ─────────────────────────────────────────────────────────────────────────
TEMPLATE = {"Subject": "Hi {{name}}", "Text": "Hello {{name}}", "Html": "<p>{{name}}</p>"}


def test_template_lifecycle(v2: Any, v1: Any) -> None:
    v2.create_email_template(
        TemplateName="welcome", TemplateContent=TEMPLATE, Tags=[{"Key": "k", "Value": "v"}]
    )
    got = v2.get_email_template(TemplateName="welcome")
    assert got["TemplateName"] == "welcome" and got["TemplateContent"] == TEMPLATE
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]
    assert v1.get_template(TemplateName="welcome")["Template"]["SubjectPart"] == "Hi {{name}}"
    v2.update_email_template(
        TemplateName="welcome", TemplateContent={"Subject": "New", "Text": "t"}
    )
    assert v2.get_email_template(TemplateName="welcome")["TemplateContent"] == {
        "Subject": "New",
        "Text": "t",
    }
    listed = v2.list_email_templates()["TemplatesMetadata"]
    assert [t["TemplateName"] for t in listed] == ["welcome"]
    assert listed[0]["CreatedTimestamp"].year >= 2024
    v2.delete_email_template(TemplateName="welcome")
    assert v2.list_email_templates()["TemplatesMetadata"] == []


def test_template_errors(v2: Any) -> None:
    v2.create_email_template(TemplateName="t", TemplateContent=TEMPLATE)
    assert error(v2.create_email_template, TemplateName="t", TemplateContent=TEMPLATE) == (
        "AlreadyExistsException",
        400,
        "Template t already exists.",
    )
    missing = ("NotFoundException", 404, "Template nope does not exist.")
    assert error(v2.get_email_template, TemplateName="nope") == missing
    assert error(v2.delete_email_template, TemplateName="nope") == missing
    assert error(v2.update_email_template, TemplateName="nope", TemplateContent=TEMPLATE) == missing
    assert error(
        v2.create_email_template, TemplateName="bad", TemplateContent={"Text": "no subject"}
    ) == ("BadRequestException", 400, "The subject must be specified.")
    assert error(v2.list_email_templates, PageSize=0)[:2] == ("BadRequestException", 400)


def test_test_render_email_template(v2: Any) -> None:
    v2.create_email_template(TemplateName="t", TemplateContent=TEMPLATE)
    rendered = v2.test_render_email_template(TemplateName="t", TemplateData='{"name": "Ana"}')
    message = email.message_from_string(rendered["RenderedTemplate"], policy=policy.default)
    assert message["Subject"] == "Hi Ana"
    assert message.get_body(("plain",)).get_content().strip() == "Hello Ana"  # type: ignore[union-attr]
    code, status, message_text = error(
        v2.test_render_email_template, TemplateName="t", TemplateData="{}"
    )
    assert (code, status) == ("BadRequestException", 400)
    assert message_text == "Attribute 'name' is not present in the rendering data."
    assert error(v2.test_render_email_template, TemplateName="t", TemplateData="[1]")[:2] == (
        "BadRequestException",
        400,
    )


# ── configuration sets ──────────────────────────────────────────────────────────────────────
def test_configuration_set_lifecycle(v2: Any, v1: Any) -> None:
    v2.create_configuration_set(
        ConfigurationSetName="marketing",
        DeliveryOptions={"TlsPolicy": "REQUIRE"},
        ReputationOptions={"ReputationMetricsEnabled": True},
        SendingOptions={"SendingEnabled": False},
        Tags=[{"Key": "k", "Value": "v"}],
        SuppressionOptions={"SuppressedReasons": ["BOUNCE"]},
    )
    got = v2.get_configuration_set(ConfigurationSetName="marketing")
    assert got["ConfigurationSetName"] == "marketing"
    assert got["DeliveryOptions"] == {"TlsPolicy": "REQUIRE"}
    assert got["ReputationOptions"] == {"ReputationMetricsEnabled": True}
    assert got["SendingOptions"] == {"SendingEnabled": False}
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]
    assert got["SuppressionOptions"] == {"SuppressedReasons": ["BOUNCE"]}
    described = v1.describe_configuration_set(
        ConfigurationSetName="marketing",
        ConfigurationSetAttributeNames=["deliveryOptions", "reputationOptions"],
    )
    assert described["DeliveryOptions"] == {"TlsPolicy": "Require"}
    assert described["ReputationOptions"]["SendingEnabled"] is False
    v2.create_configuration_set(ConfigurationSetName="alpha")
    assert v2.list_configuration_sets()["ConfigurationSets"] == ["alpha", "marketing"]
    page = v2.list_configuration_sets(PageSize=1)
    assert page["ConfigurationSets"] == ["alpha"]
    assert v2.list_configuration_sets(NextToken=page["NextToken"])["ConfigurationSets"] == [
        "marketing"
    ]
    default = v2.get_configuration_set(ConfigurationSetName="alpha")
    assert default["DeliveryOptions"] == {"TlsPolicy": "OPTIONAL"}
    assert default["SendingOptions"] == {"SendingEnabled": True}
    v2.delete_configuration_set(ConfigurationSetName="marketing")
    assert v1.list_configuration_sets()["ConfigurationSets"] == [{"Name": "alpha"}]


def test_configuration_set_errors(v2: Any) -> None:
    v2.create_configuration_set(ConfigurationSetName="x")
    assert error(v2.create_configuration_set, ConfigurationSetName="x") == (
        "AlreadyExistsException",
        400,
        "Configuration set <x> already exists.",
    )
    missing = ("NotFoundException", 404, "Configuration set <nope> does not exist.")
    assert error(v2.get_configuration_set, ConfigurationSetName="nope") == missing
    assert error(v2.delete_configuration_set, ConfigurationSetName="nope") == missing
    assert error(v2.create_configuration_set, ConfigurationSetName="bad name!")[:2] == (
        "BadRequestException",
        400,
    )
    assert error(
        v2.create_configuration_set,
        ConfigurationSetName="pooled",
        DeliveryOptions={"SendingPoolName": "pool-1"},
    ) == ("NotFoundException", 404, "Dedicated IP pool <pool-1> does not exist.")
    code, status, _ = error(
        v2.create_configuration_set,
        ConfigurationSetName="tracked",
        TrackingOptions={"CustomRedirectDomain": "unverified.test"},
    )
    assert (code, status) == ("BadRequestException", 400)
    # nothing refused was stored
    assert v2.list_configuration_sets()["ConfigurationSets"] == ["x"]


# ── SendEmail ───────────────────────────────────────────────────────────────────────────────
def _sent(server: RunningInbound, message_id: str) -> dict[str, Any]:
    return next(s for s in server.sent() if s["messageId"] == message_id)


def test_send_simple_content(v2: Any, server: RunningInbound) -> None:
    message_id = v2.send_email(
        FromEmailAddress="sender@example.com",
        Destination={"ToAddresses": ["to@example.com"], "BccAddresses": ["bcc@example.com"]},
        ReplyToAddresses=["reply@example.com"],
        FeedbackForwardingEmailAddress="bounces@example.com",
        Content={
            "Simple": {
                "Subject": {"Data": "Grüße", "Charset": "UTF-8"},
                "Body": {"Text": {"Data": "plain"}, "Html": {"Data": "<b>html</b>"}},
                "Headers": [{"Name": "X-Campaign", "Value": "spring"}],
            }
        },
        EmailTags=[{"Name": "campaign", "Value": "spring"}],
    )["MessageId"]
    sent = _sent(server, message_id)
    assert sent["operation"] == "SendEmail"
    assert sent["recipients"] == ["to@example.com", "bcc@example.com"]
    assert sent["returnPath"] == "bounces@example.com"
    assert sent["tags"] == {"campaign": "spring"}
    message = sent["message"]
    assert message["Subject"] == "Grüße"
    assert message["Reply-To"] == "reply@example.com"
    assert message["X-Campaign"] == "spring"
    assert "Bcc" not in message
    assert message.get_body(("plain",)).get_content().strip() == "plain"


def test_send_template_content(v2: Any, server: RunningInbound) -> None:
    v2.create_email_template(TemplateName="t", TemplateContent=TEMPLATE)
    by_name = v2.send_email(
        FromEmailAddress="sender@example.com",
        Destination={"ToAddresses": ["to@example.com"]},
        Content={"Template": {"TemplateName": "t", "TemplateData": '{"name": "Ana"}'}},
    )["MessageId"]
    assert _sent(server, by_name)["message"]["Subject"] == "Hi Ana"
    by_arn = v2.send_email(
        FromEmailAddress="sender@example.com",
        Destination={"ToAddresses": ["to@example.com"]},
        Content={
            "Template": {
                "TemplateArn": "arn:aws:ses:us-east-1:123456789012:template/t",
                "TemplateData": '{"name": "Bo"}',
            }
        },
    )["MessageId"]
    assert _sent(server, by_arn)["message"]["Subject"] == "Hi Bo"
    inline = v2.send_email(
        FromEmailAddress="sender@example.com",
        Destination={"ToAddresses": ["to@example.com"]},
        Content={
            "Template": {
                "TemplateContent": {"Subject": "Inline {{x}}", "Text": "{{x}}"},
                "TemplateData": '{"x": "1"}',
            }
        },
    )["MessageId"]
    assert _sent(server, inline)["message"]["Subject"] == "Inline 1"


def test_send_raw_content(v2: Any, server: RunningInbound) -> None:
    raw = b"From: sender@example.com\r\nTo: to@example.com\r\nSubject: raw one\r\n\r\nbody\r\n"
    message_id = v2.send_email(Content={"Raw": {"Data": raw}})["MessageId"]
    sent = _sent(server, message_id)
    assert sent["operation"] == "SendEmail"
    assert sent["recipients"] == ["to@example.com"]
    assert sent["message"]["Subject"] == "raw one"
    other = v2.send_email(
        Destination={"ToAddresses": ["else@example.com"]}, Content={"Raw": {"Data": raw}}
    )["MessageId"]
    assert _sent(server, other)["recipients"] == ["else@example.com"]


def test_send_errors(v2: Any) -> None:
    to = {"ToAddresses": ["to@example.com"]}
    assert error(
        v2.send_email, FromEmailAddress="x@unverified.test", Destination=to, Content=SIMPLE
    )[:2] == ("MessageRejected", 400)
    assert error(
        v2.send_email,
        FromEmailAddress="a@example.com",
        Destination=to,
        Content=SIMPLE,
        ConfigurationSetName="nope",
    ) == ("NotFoundException", 404, "Configuration set <nope> does not exist.")
    assert error(
        v2.send_email,
        FromEmailAddress="a@example.com",
        Destination=to,
        Content={**SIMPLE, "Raw": {"Data": b"x"}},
    ) == (
        "BadRequestException",
        400,
        "Exactly one of Simple, Raw or Template content must be specified.",
    )
    assert error(v2.send_email, Destination=to, Content=SIMPLE) == (
        "BadRequestException",
        400,
        "FromEmailAddress is required for Simple content.",
    )
    assert error(
        v2.send_email,
        FromEmailAddress="a@example.com",
        Destination={"ToAddresses": [f"r{i}@example.com" for i in range(51)]},
        Content=SIMPLE,
    ) == ("BadRequestException", 400, "Recipient count exceeds 50.")
    assert error(
        v2.send_email,
        FromEmailAddress="a@example.com",
        Destination=to,
        Content={"Template": {"TemplateName": "nope", "TemplateData": "{}"}},
    ) == ("NotFoundException", 404, "Template nope does not exist.")
    assert error(
        v2.send_email,
        FromEmailAddress="a@example.com",
        Destination=to,
        Content=SIMPLE,
        ListManagementOptions={"ContactListName": "news"},
    ) == ("NotFoundException", 404, "List with name: news doesn't exist.")


def test_the_v2_size_limit_is_40_mb(v2: Any, server: RunningInbound) -> None:
    """15 MB of raw message passes (v1 refuses over 10 MB after base64); over 40 MB after
    base64 does not."""
    head = b"From: a@example.com\r\nTo: to@example.com\r\nSubject: big\r\n\r\n"
    line = b"x" * 998 + b"\r\n"
    fifteen = head + line * (15 * 1024 * 1024 // len(line))
    assert v2.send_email(Content={"Raw": {"Data": fifteen}})["MessageId"]
    over = head + line * (31 * 1024 * 1024 // len(line))  # 31 MB → 41.3 MB in base64
    code, status, message = error(v2.send_email, Content={"Raw": {"Data": over}})
    assert (code, status) == ("BadRequestException", 400)
    assert message.startswith(f"Message length is more than {40 * 1024 * 1024} bytes long")


# ── SendBulkEmail ───────────────────────────────────────────────────────────────────────────
def test_send_bulk_email(v2: Any, server: RunningInbound) -> None:
    v2.create_email_template(TemplateName="t", TemplateContent=TEMPLATE)
    results = v2.send_bulk_email(
        FromEmailAddress="sender@example.com",
        DefaultContent={"Template": {"TemplateName": "t", "TemplateData": '{"name": "all"}'}},
        DefaultEmailTags=[{"Name": "batch", "Value": "b1"}],
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": ["one@example.com"]}},
            {
                "Destination": {"ToAddresses": ["two@example.com"]},
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {"ReplacementTemplateData": '{"name": "Two"}'}
                },
                "ReplacementTags": [{"Name": "batch", "Value": "b2"}],
            },
            {"Destination": {"ToAddresses": ["not an address"]}},
        ],
    )["BulkEmailEntryResults"]
    assert [r["Status"] for r in results] == ["SUCCESS", "SUCCESS", "INVALID_PARAMETER"]
    first, second = (_sent(server, r["MessageId"]) for r in results[:2])
    assert first["message"]["Subject"] == "Hi all" and first["tags"] == {"batch": "b1"}
    assert second["message"]["Subject"] == "Hi Two" and second["tags"] == {"batch": "b2"}
    assert "Error" in results[2]


def test_send_bulk_email_errors(v2: Any) -> None:
    entries = [{"Destination": {"ToAddresses": ["one@example.com"]}}]
    assert error(
        v2.send_bulk_email,
        FromEmailAddress="sender@example.com",
        DefaultContent={"Template": {"TemplateName": "nope", "TemplateData": "{}"}},
        BulkEmailEntries=entries,
    ) == ("NotFoundException", 404, "Template nope does not exist.")
    assert error(
        v2.send_bulk_email,
        FromEmailAddress="sender@example.com",
        DefaultContent={
            "Template": {
                "TemplateContent": {"Subject": "s", "Text": "t"},
                "Headers": [{"Name": "X-A", "Value": "1"}],
            }
        },
        BulkEmailEntries=entries,
    ) == (
        "BadRequestException",
        400,
        "inbound does not support Headers in SendBulkEmail yet.",
    )
