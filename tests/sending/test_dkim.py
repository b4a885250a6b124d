"""Easy DKIM: mail sent from a DKIM-enabled identity carries a DKIM-Signature that dkimpy's
verifier accepts against the record the engine publishes (`GET /api/identities/{name}/dkim`),
served by a `dnsfunc` (no network)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import dkim
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound.identities.rules import SUCCESS, Identity
from inbound.sending import easy_dkim, mime
from inbound.testing import RunningInbound
from tests.sending.conftest import FAST

Dns = Callable[..., bytes | None]


def published(server: RunningInbound, identity: str) -> tuple[dict[str, Any], Dns]:
    """The record the engine publishes for `identity`, and a resolver serving it."""
    record = server.get(f"/api/identities/{identity}/dkim")

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        wanted = (record["recordName"] + ".").encode()
        return record["recordValue"].encode() if name == wanted else None

    return record, dnsfunc


def raw_sent(server: RunningInbound, message_id: str) -> bytes:
    body = server.get(f"/api/sent/{message_id}/raw")
    assert isinstance(body, bytes)
    return body


def signature(raw: bytes) -> dict[str, str]:
    message = message_from_bytes(raw, policy=policy.default)
    [field] = message.get_all("DKIM-Signature")
    text = re.sub(r"\s+", "", str(field))
    return dict(tag.split("=", 1) for tag in text.split(";") if tag)


@pytest.fixture
def dkim_server(server: RunningInbound, ses: Any) -> RunningInbound:
    """example.com set up for Easy DKIM (auto verification: its tokens are Success)."""
    ses.verify_domain_dkim(Domain="example.com")
    return server


def test_verify_domain_dkim_publishes_a_2048_bit_key(dkim_server: RunningInbound, ses: Any) -> None:
    tokens = ses.verify_domain_dkim(Domain="example.com")["DkimTokens"]
    record, _ = published(dkim_server, "example.com")
    assert record["selector"] == tokens[0]
    assert record["recordName"] == f"{tokens[0]}._domainkey.example.com"
    assert record["recordType"] == "TXT" and record["dkimEnabled"] is True
    assert record["dkimVerificationStatus"] == SUCCESS
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    value = record["recordValue"]
    assert value.startswith("v=DKIM1; k=rsa; p=")
    import base64

    key = load_der_public_key(base64.b64decode(value.partition("p=")[2]))
    assert key.key_size == 2048  # type: ignore[union-attr]
    # an email address of the domain publishes its domain's record
    ses.verify_email_identity(EmailAddress="sender@example.com")
    assert published(dkim_server, "sender@example.com")[0]["recordValue"] == value


def test_send_email_is_signed_and_verifies(dkim_server: RunningInbound, ses: Any) -> None:
    message_id = ses.send_email(
        Source="Sender <sender@example.com>",
        Destination={"ToAddresses": ["to@example.com"], "CcAddresses": ["cc@example.com"]},
        Message={
            "Subject": {"Data": "Grüße"},
            "Body": {"Text": {"Data": "Hallo"}, "Html": {"Data": "<p>Hallo</p>"}},
        },
        ReplyToAddresses=["reply@example.com"],
    )["MessageId"]
    raw = raw_sent(dkim_server, message_id)
    record, dnsfunc = published(dkim_server, "example.com")
    assert dkim.verify(raw, dnsfunc=dnsfunc)
    tags = signature(raw)
    assert (tags["v"], tags["a"], tags["c"], tags["q"]) == (
        "1",
        "rsa-sha256",
        "relaxed/simple",
        "dns/txt",
    )
    assert (tags["d"], tags["s"]) == ("example.com", record["selector"])
    assert "x" not in tags and abs(int(tags["t"]) - datetime.now(UTC).timestamp()) < 60
    # SES's fields, as the message has them, in its order (dkimpy writes them lower-case)
    assert tags["h"].split(":") == [
        "from", "to", "cc", "reply-to", "subject", "mime-version", "content-type",
        "message-id", "date",
    ]  # fmt: skip
    [sent] = dkim_server.sent()
    assert {"step": "dkimSigned", "domain": "example.com", "selector": record["selector"]} in sent[
        "trace"
    ]
    # a changed body or a changed signed field no longer verifies
    assert not dkim.verify(raw.replace(b"Hallo", b"Hello"), dnsfunc=dnsfunc)
    assert not dkim.verify(raw.replace(b"Subject: ", b"Subject: Re: "), dnsfunc=dnsfunc)


def test_send_raw_email_is_signed_and_verifies(dkim_server: RunningInbound, ses: Any) -> None:
    raw = (
        b"From: sender@example.com\nTo: user@example.com\nSubject: raw\nX-Custom: kept\n"
        b"Bcc: hidden@example.com\n\nbody line\n"
    )
    message_id = ses.send_raw_email(RawMessage={"Data": raw})["MessageId"]
    sent = raw_sent(dkim_server, message_id)
    assert dkim.verify(sent, dnsfunc=published(dkim_server, "example.com")[1])
    assert sent.startswith(b"DKIM-Signature: ") and b"\r\n" not in sent  # line ends kept
    assert signature(sent)["h"].split(":") == ["from", "to", "subject", "message-id", "date"]


def test_email_identity_of_a_dkim_domain_is_signed(dkim_server: RunningInbound, ses: Any) -> None:
    ses.verify_email_identity(EmailAddress="sender@example.com")
    raw = send_plain(dkim_server, ses)
    assert dkim.verify(raw, dnsfunc=published(dkim_server, "sender@example.com")[1])


def send_plain(server: RunningInbound, ses: Any) -> bytes:
    message_id = ses.send_email(
        Source="sender@example.com",
        Destination={"ToAddresses": ["user@example.com"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
    )["MessageId"]
    return raw_sent(server, message_id)


@pytest.mark.parametrize("identity", ["example.com", "sender@example.com"])
def test_disabled_dkim_is_not_signed(dkim_server: RunningInbound, ses: Any, identity: str) -> None:
    ses.verify_email_identity(EmailAddress="sender@example.com")
    ses.set_identity_dkim_enabled(Identity=identity, DkimEnabled=False)
    assert b"DKIM-Signature" not in send_plain(dkim_server, ses)
    assert published(dkim_server, identity)[0]["dkimEnabled"] is False
    ses.set_identity_dkim_enabled(Identity=identity, DkimEnabled=True)
    assert b"DKIM-Signature" in send_plain(dkim_server, ses)


def test_no_easy_dkim_no_signature_and_no_record(server: RunningInbound, ses: Any) -> None:
    assert b"DKIM-Signature" not in send_plain(server, ses)
    with pytest.raises(Exception, match="404"):
        server.get("/api/identities/example.com/dkim")


def test_key_survives_a_restart(
    inbound_factory: Callable[..., RunningInbound], tmp_path: Path
) -> None:
    first = inbound_factory(verified=["example.com"], data_dir=tmp_path / "data")
    first.ses().verify_domain_dkim(Domain="example.com")
    value = published(first, "example.com")[0]["recordValue"]
    first.stop()
    second = inbound_factory(verified=["example.com"], data_dir=tmp_path / "data")
    assert published(second, "example.com")[0]["recordValue"] == value
    assert oct((tmp_path / "data" / "dkim" / "example.com.pem").stat().st_mode & 0o777) == "0o600"


# ── the signature on anything the builder makes ─────────────────────────────────────────────
@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Dns]:
    private = tmp_path_factory.mktemp("dkim") / "k.pem"
    public = private.with_suffix(".txt")
    easy_dkim.generate(private, public)
    record = public.read_bytes()

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"sel._domainkey.example.com." else None

    return private.read_bytes(), dnsfunc


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
LATIN = st.text(st.characters(max_codepoint=255, blacklist_categories=("Cs",)), max_size=300)
# a charset and body texts it can encode
BODIES = st.sampled_from(["UTF-8", "UTF-16"]).flatmap(
    lambda c: st.tuples(st.just(c), st.none() | TEXT, st.none() | TEXT)
) | st.tuples(st.just("ISO-8859-1"), st.none() | LATIN, st.none() | LATIN)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(subject=TEXT, bodies=BODIES)
def test_any_built_message_verifies_after_signing(
    key: tuple[bytes, Dns], subject: str, bodies: tuple[str, str | None, str | None]
) -> None:
    charset, text, html = bodies
    raw = mime.simple(
        [("From", "sender@example.com"), ("To", "user@example.com"), ("Subject", subject)],
        None if text is None else mime.Text(text, charset),
        None if html is None else mime.Text(html, charset),
        mime.new_message_id(datetime.now(UTC)),
        datetime.now(UTC),
    )
    private, dnsfunc = key
    signed = easy_dkim.sign(raw, easy_dkim.Signer("example.com", "sel"), private)
    assert dkim.verify(signed, dnsfunc=dnsfunc)
    assert signed.endswith(raw)


def test_signer_follows_identities() -> None:
    epoch = datetime.fromtimestamp(0, UTC).isoformat()
    domain = Identity(
        "example.com", "Domain", SUCCESS, epoch, dkim_tokens=("a" * 32, "b" * 32, "c" * 32),
        dkim_status=SUCCESS,
    )  # fmt: skip
    both = {"example.com": domain}
    assert easy_dkim.signer("x@example.com", both) == easy_dkim.Signer("example.com", "a" * 32)
    assert easy_dkim.signer("x@sub.example.com", both) == easy_dkim.Signer("example.com", "a" * 32)
    assert easy_dkim.signer("x@other.com", both) is None
    pending = {"example.com": domain.replace(dkim_status="Pending")}
    assert easy_dkim.signer("x@example.com", pending) is None
    off = {
        **both,
        "x@example.com": Identity(
            "x@example.com", "EmailAddress", SUCCESS, epoch, dkim_enabled=False
        ),
    }
    assert easy_dkim.signer("x@example.com", off) is None
    assert easy_dkim.signer("y@example.com", off) is not None


def test_a_domain_without_a_key_gets_one_when_it_signs(
    dkim_server: RunningInbound, ses: Any
) -> None:
    """A data dir whose domain was set up for Easy DKIM before keys were kept."""
    for path in (dkim_server.settings.data_dir / "dkim").iterdir():
        path.unlink()
    raw = send_plain(dkim_server, ses)
    assert dkim.verify(raw, dnsfunc=published(dkim_server, "example.com")[1])


def test_a_message_over_the_smtp_interface_is_signed(
    inbound_factory: Callable[..., RunningInbound],
) -> None:
    from tests.sending.test_submission import KEY_ID, SECRET, logged_in, message

    server = inbound_factory(
        verified=["example.com"], sending=FAST, api_credentials={KEY_ID: SECRET}
    )
    server.ses().verify_domain_dkim(Domain="example.com")
    with logged_in(server) as smtp:
        smtp.sendmail("sender@example.com", ["to@example.com"], message())
    [sent] = server.sent()
    raw = raw_sent(server, sent["messageId"])
    assert dkim.verify(raw, dnsfunc=published(server, "example.com")[1])
