"""Who sent: a Send event's automatic tags `ses:source-ip` and `ses:caller-identity` and an
identity notification's `mail.sourceIp` and `mail.callerIdentity` are the caller's: the HTTP
request's or the SMTP session's peer, and the access key id that signed or authenticated
("root" for an unsigned request), stored in the message's trace, from which delivery
publishes its events."""

from __future__ import annotations

import dataclasses
import http.client
import smtplib
import urllib.parse
from collections.abc import Callable

import pytest

from inbound.config import Address
from inbound.testing import RunningInbound
from tests.sending.conftest import FAST, client
from tests.sending.test_feedback import TOPIC, configuration_set, sns
from tests.sending.test_submission import KEY_ID, PASSWORD, SECRET, trusting

PEER = "127.0.0.2"  # a loopback address of its own: the recorded one is the client's

TO = "success@simulator.amazonses.com"  # delivered: a Delivery notification follows the Send
RAW = (
    b"From: sender@example.com\r\nTo: success@simulator.amazonses.com\r\nSubject: x\r\n"
    b"X-SES-CONFIGURATION-SET: events\r\n\r\nbody\r\n"
)


@pytest.fixture
def server(inbound_factory: Callable[..., RunningInbound]) -> RunningInbound:
    sending = dataclasses.replace(FAST, smtps=Address("127.0.0.1", 0))
    running = inbound_factory(
        verified=["example.com"], sending=sending, api_credentials={KEY_ID: SECRET}
    )
    configuration_set(running, sns("to-sns", ["send"]), name="events")
    running.ses().set_identity_notification_topic(
        Identity="example.com", NotificationType="Delivery", SnsTopic=TOPIC
    )
    return running


def caller(server: RunningInbound) -> tuple[list[str], list[str], str, str]:
    """The Send event's tags and the Delivery notification's fields."""
    published = [n["message"] for n in server.notifications()]
    [send] = [p["mail"] for p in published if p.get("eventType") == "Send"]
    [delivery] = [p["mail"] for p in published if p.get("notificationType") == "Delivery"]
    return (
        send["tags"]["ses:source-ip"],
        send["tags"]["ses:caller-identity"],
        delivery["sourceIp"],
        delivery["callerIdentity"],
    )


def test_a_boto3_send_records_its_peer_and_access_key(server: RunningInbound) -> None:
    ses = client(server)  # signs with the access key id "testing"
    ses.send_raw_email(RawMessage={"Data": RAW})
    assert caller(server) == (["127.0.0.1"], ["testing"], "127.0.0.1", "testing")
    [sent] = server.sent()
    assert (sent["trace"][0]["sourceIp"], sent["trace"][0]["callerIdentity"]) == (
        "127.0.0.1",
        "testing",
    )


def test_an_smtp_interface_send_records_its_peer_and_smtp_user(server: RunningInbound) -> None:
    assert server.submission_address is not None
    with smtplib.SMTP(*server.submission_address, timeout=30, source_address=(PEER, 0)) as smtp:
        smtp.starttls(context=trusting())
        smtp.login(KEY_ID, PASSWORD)
        smtp.sendmail("sender@example.com", [TO], RAW)
    assert caller(server) == ([PEER], [KEY_ID], PEER, KEY_ID)


def test_an_unsigned_request_from_another_peer_is_root(
    server: RunningInbound,
) -> None:
    form = {
        "Action": "SendEmail",
        "Source": "sender@example.com",
        "Destination.ToAddresses.member.1": TO,
        "Message.Subject.Data": "x",
        "Message.Body.Text.Data": "body",
        "ConfigurationSetName": "events",
    }
    url = urllib.parse.urlsplit(server.api_url)
    connection = http.client.HTTPConnection(url.netloc, timeout=30, source_address=(PEER, 0))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    connection.request("POST", "/", urllib.parse.urlencode(form), headers)
    assert connection.getresponse().status == 200
    connection.close()
    assert caller(server) == ([PEER], ["root"], PEER, "root")
