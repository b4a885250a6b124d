"""X-SES-LIST-MANAGEMENT-OPTIONS and X-SES-TENANT on raw messages, through the real interfaces:
smtplib on the SMTP interface and boto3 SendRawEmail (v1) honour them as v2's
ListManagementOptions and TenantName; sesv2 SendEmail with Raw content reads only its
parameters. The stored message is parsed by the stdlib, the events read from the SNS log."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from inbound.testing import RunningInbound
from tests.api.v2.conftest import add_destination
from tests.api.v2.conftest import client as v2_client
from tests.api.v2.test_insights import _query
from tests.api.v2.vdm import VDM_ON, settled
from tests.sending.conftest import FAST
from tests.sending.test_list_management import request
from tests.sending.test_submission import KEY_ID, SECRET, logged_in

PLACEHOLDER = "{{amazonSESUnsubscribeUrl}}"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ses-events"
READER = "reader@example.com"


@pytest.fixture
def server(inbound_factory: Callable[..., RunningInbound]) -> RunningInbound:
    """A contact list with a topic, a configuration set publishing Send events to SNS, and the
    tenant `acme` holding example.com and that set; `idle` is a tenant holding nothing."""
    running = inbound_factory(
        verified=["example.com"], sending=FAST, api_credentials={KEY_ID: SECRET}
    )
    v2 = v2_client(running)
    topic = {"TopicName": "Sports", "DisplayName": "Sports", "DefaultSubscriptionStatus": "OPT_IN"}
    v2.create_contact_list(ContactListName="News", Topics=[topic])
    v2.create_configuration_set(ConfigurationSetName="cs")
    add_destination(v2, "cs", "sns", ["SEND"], SnsDestination={"TopicArn": TOPIC_ARN})
    for tenant in ("acme", "idle"):
        v2.create_tenant(TenantName=tenant)
    for kind, name in (("identity", "example.com"), ("configuration-set", "cs")):
        v2.create_tenant_resource_association(
            TenantName="acme", ResourceArn=arn(running, kind, name)
        )
    return running


def arn(server: RunningInbound, kind: str, name: str) -> str:
    return f"arn:aws:ses:{server.settings.region}:{server.settings.account_id}:{kind}/{name}"


def raw(*fields: str, to: str = READER) -> bytes:
    extra = "".join(f"{field}\r\n" for field in fields)
    return (
        f"From: sender@example.com\r\nTo: {to}\r\nSubject: news\r\n{extra}\r\n"
        f"Leave: {PLACEHOLDER}\r\n"
    ).encode()


def by_smtp(server: RunningInbound, message: bytes) -> str:
    """MAIL FROM, RCPT TO the reader, DATA; the MessageId of `250 Ok <MessageId>`."""
    with logged_in(server) as smtp:
        smtp.mail("sender@example.com")
        smtp.rcpt(READER)
        code, text = smtp.data(message)
    assert code == 250, text
    return text.decode().split()[1]


def by_send_raw_email(server: RunningInbound, message: bytes) -> str:
    return str(server.ses().send_raw_email(RawMessage={"Data": message})["MessageId"])


INTERFACES = [by_smtp, by_send_raw_email]


def stored(server: RunningInbound, message_id: str) -> dict[str, Any]:
    [found] = [s for s in server.sent() if s["messageId"] == message_id]
    return found


def event_tags(server: RunningInbound) -> dict[str, dict[str, list[str]]]:
    """The `mail.tags` of every Send event published, by MessageId."""
    found = {}
    for notification in server.notifications():
        body = notification["message"]
        body = json.loads(body) if isinstance(body, str) else body
        found[body["mail"]["messageId"]] = body["mail"]["tags"]
    return found


@pytest.mark.parametrize("send", INTERFACES)
def test_the_list_header_works_as_list_management_options(
    server: RunningInbound, send: Callable[[RunningInbound, bytes], str]
) -> None:
    message_id = send(server, raw("X-SES-LIST-MANAGEMENT-OPTIONS: News; topic=Sports"))
    sent = stored(server, message_id)
    message = sent["message"]
    link = f"{server.api_url}/unsubscribe/{message_id}"
    assert message["List-Unsubscribe"] == f"<{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content().strip() == f"Leave: {link}"
    assert message["X-SES-LIST-MANAGEMENT-OPTIONS"] is None  # removed, as X-SES-* headers are
    assert sent["trace"][0]["listManagement"] == {
        "contactList": "News",
        "topic": "Sports",
        "unsubscribed": [],
    }
    v2 = v2_client(server)
    assert v2.get_contact(ContactListName="News", EmailAddress=READER)["TopicPreferences"] == []
    assert request("POST", link, b"List-Unsubscribe=One-Click").status == 200  # the topic's
    preferences = v2.get_contact(ContactListName="News", EmailAddress=READER)["TopicPreferences"]
    assert preferences == [{"TopicName": "Sports", "SubscriptionStatus": "OPT_OUT"}]
    # the list alone, in the header's other form: the unsubscribed reader is bounced now
    again = send(server, raw("X-SES-LIST-MANAGEMENT-OPTIONS:  News ; topic = Sports ;"))
    assert stored(server, again)["trace"][0]["listManagement"]["unsubscribed"] == [READER]


@pytest.mark.parametrize("send", INTERFACES)
def test_the_tenant_header_sends_through_the_tenant(
    server: RunningInbound, send: Callable[[RunningInbound, bytes], str]
) -> None:
    v2 = v2_client(server)
    v2.put_account_vdm_attributes(VdmAttributes=VDM_ON)
    tenanted = send(server, raw("X-SES-TENANT: acme", "X-SES-CONFIGURATION-SET: cs"))
    untenanted = send(server, raw("X-SES-CONFIGURATION-SET: cs"))
    sent = stored(server, tenanted)
    assert sent["message"]["X-SES-TENANT"] is None
    assert sent["trace"][0]["TenantName"] == "acme"
    tags = event_tags(server)
    assert tags[tenanted]["ses:tenant-name"] == ["acme"]
    assert "ses:tenant-name" not in tags[untenanted]
    settled(server)
    answer = v2.batch_get_metric_data(
        Queries=[_query("SEND", "acme", TENANT_NAME="acme"), _query("SEND", "all")]
    )
    assert {r["Id"]: r["Values"][-1] for r in answer["Results"]} == {"acme": 1, "all": 2}


SMTP_REFUSALS = [
    (
        "X-SES-LIST-MANAGEMENT-OPTIONS: Nope",
        "554 Transaction failed: List with name: Nope doesn't exist.",
    ),
    (
        "X-SES-LIST-MANAGEMENT-OPTIONS: News; topic=Golf",
        "554 Transaction failed: List: News doesn't contain Topic: Golf",
    ),
    (
        "X-SES-LIST-MANAGEMENT-OPTIONS: News; colour=red",
        "554 Transaction failed: Invalid X-SES-LIST-MANAGEMENT-OPTIONS header: News; colour=red",
    ),
    (
        "X-SES-TENANT: nope",
        "554 Transaction failed: Tenant nope for AwsAccountId 123456789012 not found.",
    ),
    (
        "X-SES-TENANT: idle",
        "554 Transaction failed: Tenant not associated with resources "
        "[arn:aws:ses:us-east-1:123456789012:identity/example.com].",
    ),
]


@pytest.mark.parametrize(("field", "reply"), SMTP_REFUSALS)
def test_bad_values_get_ses_s_reply_over_smtp(
    server: RunningInbound, field: str, reply: str
) -> None:
    with logged_in(server) as smtp:
        smtp.mail("sender@example.com")
        smtp.rcpt(READER)
        code, text = smtp.data(raw(field))
    assert f"{code} {text.decode()}" == reply
    assert server.sent() == []  # nothing half-done


def test_bad_values_get_ses_s_errors_from_send_raw_email(server: RunningInbound) -> None:
    def refused(field: str) -> tuple[str, int, str]:
        with pytest.raises(ClientError) as caught:
            by_send_raw_email(server, raw(field))
        error = caught.value.response
        return (
            error["Error"]["Code"],
            error["ResponseMetadata"]["HTTPStatusCode"],
            error["Error"]["Message"],
        )

    assert refused("X-SES-LIST-MANAGEMENT-OPTIONS: Nope") == (
        "NotFoundException",
        404,
        "List with name: Nope doesn't exist.",
    )
    assert refused("X-SES-LIST-MANAGEMENT-OPTIONS: ; topic=Sports") == (
        "InvalidParameterValue",
        400,
        "Invalid X-SES-LIST-MANAGEMENT-OPTIONS header: ; topic=Sports",
    )
    assert refused("X-SES-TENANT: idle") == (
        "AccessDeniedException",
        403,
        "Tenant not associated with resources "
        "[arn:aws:ses:us-east-1:123456789012:identity/example.com].",
    )
    assert server.sent() == []


def test_sesv2_raw_content_reads_only_its_parameters(server: RunningInbound) -> None:
    """Neither header selects anything in v2 (a list and a tenant that do not exist are not
    looked up); both are removed; ListManagementOptions given beside the header is what counts."""
    v2 = v2_client(server)
    headers = ("X-SES-LIST-MANAGEMENT-OPTIONS: Nope", "X-SES-TENANT: nope")
    ignored = v2.send_email(Content={"Raw": {"Data": raw(*headers)}})["MessageId"]
    sent = stored(server, ignored)
    message = sent["message"]
    assert message["List-Unsubscribe"] is None and PLACEHOLDER in message.get_content()
    assert message["X-SES-LIST-MANAGEMENT-OPTIONS"] is None and message["X-SES-TENANT"] is None
    assert "listManagement" not in sent["trace"][0] and "TenantName" not in sent["trace"][0]
    chosen = v2.send_email(
        Content={"Raw": {"Data": raw(*headers)}},
        ListManagementOptions={"ContactListName": "News"},
    )["MessageId"]
    managed = stored(server, chosen)
    assert managed["message"]["List-Unsubscribe"] == f"<{server.api_url}/unsubscribe/{chosen}>"
    assert managed["trace"][0]["listManagement"]["contactList"] == "News"
