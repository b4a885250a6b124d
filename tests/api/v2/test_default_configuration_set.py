"""An identity's default configuration set (PutEmailIdentityConfigurationSetAttributes,
CreateEmailIdentity's ConfigurationSetName), through boto3 `sesv2` and `ses` and the SMTP
interface: a send from the identity that names no set is stored (and publishes) under the
default, one that names a set uses the named one (DG, "Understanding default configuration
sets")."""

from __future__ import annotations

import dataclasses
import smtplib
import ssl
from collections.abc import Callable
from typing import Any

import pytest

from inbound.config import Address
from inbound.sending.credentials import smtp_password
from inbound.testing import RunningInbound
from tests.api.v2.conftest import FAST, add_destination, client, error

KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TO = {"ToAddresses": ["success@simulator.amazonses.com"]}
SIMPLE = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}


@pytest.fixture
def server(inbound_factory: Callable[..., RunningInbound]) -> RunningInbound:
    """example.com verified, the SMTP interface on, an access key for it."""
    sending = dataclasses.replace(FAST, smtps=Address("127.0.0.1", 0))
    return inbound_factory(
        verified=["example.com"], sending=sending, api_credentials={KEY_ID: SECRET}
    )


def sets_of(server: RunningInbound) -> list[str | None]:
    return [entry["configurationSet"] for entry in server.sent()]


def v2_send(v2: Any, sender: str, **extra: Any) -> None:
    v2.send_email(FromEmailAddress=sender, Destination=TO, Content=SIMPLE, **extra)


def smtp_send(server: RunningInbound, sender: str, headers: bytes = b"") -> None:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    assert server.submission_address is not None
    with smtplib.SMTP(*server.submission_address, timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.login(KEY_ID, smtp_password(SECRET, server.settings.region))
        message = (
            f"From: {sender}\r\nTo: success@simulator.amazonses.com\r\nSubject: smtp\r\n".encode()
            + headers
            + b"\r\nbody\r\n"
        )
        smtp.sendmail(sender, ["success@simulator.amazonses.com"], message)


def test_sends_without_a_set_use_the_identitys_default(server: RunningInbound) -> None:
    v2, v1 = client(server), client(server, "ses")
    for name in ("default-set", "named-set"):
        v2.create_configuration_set(ConfigurationSetName=name)
    v2.create_email_identity(EmailIdentity="sender@example.com")
    v2.put_email_identity_configuration_set_attributes(
        EmailIdentity="sender@example.com", ConfigurationSetName="default-set"
    )
    found = v2.get_email_identity(EmailIdentity="sender@example.com")
    assert found["ConfigurationSetName"] == "default-set"
    v2_send(v2, "Sender <sender@example.com>")
    v1.send_email(
        Source="sender@example.com",
        Destination=TO,
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
    )
    v1.send_raw_email(
        RawMessage={"Data": b"From: sender@example.com\nTo: success@simulator.amazonses.com\n\nx"}
    )
    smtp_send(server, "sender@example.com")
    # a send that names a set uses it: the API member, and the header through SMTP
    v2_send(v2, "sender@example.com", ConfigurationSetName="named-set")
    smtp_send(server, "sender@example.com", b"X-SES-CONFIGURATION-SET: named-set\r\n")
    # another address of the domain is not this identity
    v2_send(v2, "other@example.com")
    assert sets_of(server) == [
        "default-set", "default-set", "default-set", "default-set",
        "named-set", "named-set", None,
    ]  # fmt: skip
    # removed: no member
    v2.put_email_identity_configuration_set_attributes(EmailIdentity="sender@example.com")
    assert "ConfigurationSetName" not in v2.get_email_identity(EmailIdentity="sender@example.com")
    v2_send(v2, "sender@example.com")
    assert sets_of(server)[-1] is None


def test_address_default_overrides_the_domains(server: RunningInbound) -> None:
    """ "A default configuration set at the email address level overrides a default
    configuration set at the domain level"; the domain's applies to its other addresses."""
    v2 = client(server)
    for name in ("domain-set", "address-set"):
        v2.create_configuration_set(ConfigurationSetName=name)
    v2.create_email_identity(EmailIdentity="corp.test", ConfigurationSetName="domain-set")
    assert v2.get_email_identity(EmailIdentity="corp.test")["ConfigurationSetName"] == "domain-set"
    v2.create_email_identity(EmailIdentity="boss@corp.test", ConfigurationSetName="address-set")
    v2_send(v2, "anyone@corp.test")
    v2_send(v2, "boss@corp.test")
    assert sets_of(server) == ["domain-set", "address-set"]


def test_default_set_events_are_published(server: RunningInbound) -> None:
    """The default set is the message's set all the way: its event destinations publish."""
    v2 = client(server)
    v2.create_configuration_set(ConfigurationSetName="watched")
    dimension = {
        "DimensionName": "ses:configuration-set",
        "DimensionValueSource": "MESSAGE_TAG",
        "DefaultDimensionValue": "none",
    }
    add_destination(
        v2,
        "watched",
        "cw",
        ["SEND"],
        CloudWatchDestination={"DimensionConfigurations": [dimension]},
    )
    v2.put_email_identity_configuration_set_attributes(
        EmailIdentity="example.com", ConfigurationSetName="watched"
    )
    v2_send(v2, "x@example.com")
    server.wait_idle()
    points = server.get("/api/metrics")
    assert [p["dimensions"] for p in points] == [{"ses:configuration-set": "watched"}]


def test_errors(server: RunningInbound) -> None:
    v2 = client(server)
    put = v2.put_email_identity_configuration_set_attributes
    assert error(put, EmailIdentity="nobody.test", ConfigurationSetName="x")[:2] == (
        "NotFoundException",
        404,
    )
    assert error(put, EmailIdentity="example.com", ConfigurationSetName="missing") == (
        "NotFoundException",
        404,
        "Configuration set <missing> does not exist.",
    )
    assert error(
        v2.create_email_identity, EmailIdentity="new.test", ConfigurationSetName="missing"
    )[0] == ("NotFoundException")
    assert error(v2.get_email_identity, EmailIdentity="new.test")[0] == "NotFoundException"
    # "If you delete a configuration set that's designated as the default configuration set
    # for an identity, and then attempt to send email through that identity, your call to
    # Amazon SES fails with a "bad request" error."
    v2.create_configuration_set(ConfigurationSetName="doomed")
    put(EmailIdentity="example.com", ConfigurationSetName="doomed")
    v2.delete_configuration_set(ConfigurationSetName="doomed")
    code, status, message = error(
        v2.send_email, FromEmailAddress="x@example.com", Destination=TO, Content=SIMPLE
    )
    assert (code, status) == ("BadRequestException", 400)
    assert (
        message == "The default configuration set <doomed> of identity example.com does not exist."
    )
    assert server.sent() == []
