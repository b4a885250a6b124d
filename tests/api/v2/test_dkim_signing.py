"""DKIM signing attributes through boto3 `sesv2`: Bring Your Own DKIM (the user's selector and
key) and Easy DKIM key lengths, on PutEmailIdentityDkimSigningAttributes and
CreateEmailIdentity. A message sent after BYODKIM is verified by dkimpy against the public key
of the user's own key pair (served by a `dnsfunc`), not against anything the engine says."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from inbound import config
from inbound.testing import RunningInbound
from tests.api.test_identities import FakeDns
from tests.api.v2.conftest import FAST, client, error

SIMULATOR = {"ToAddresses": ["success@simulator.amazonses.com"]}
Dns = Callable[..., bytes | None]


class KeyPair:
    """The user's key pair, as `openssl genrsa` makes it; `base64` is what SES is given (the
    PEM without its first and last lines and line breaks, DG BYODKIM step 3)."""

    def __init__(self, bits: int = 2048, pkcs8: bool = True) -> None:
        self.key = rsa.generate_private_key(65537, bits)
        form = (
            serialization.PrivateFormat.PKCS8
            if pkcs8
            else serialization.PrivateFormat.TraditionalOpenSSL
        )
        der = self.key.private_bytes(serialization.Encoding.DER, form, serialization.NoEncryption())
        self.base64 = base64.b64encode(der).decode()
        public = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public = base64.b64encode(public).decode()

    def dns(self, selector: str, domain: str) -> Dns:
        """The TXT record the DG asks the user to publish: `p=<public key>`."""

        def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
            wanted = f"{selector}._domainkey.{domain}.".encode()
            return f"p={self.public}".encode() if name == wanted else None

        return dnsfunc


@pytest.fixture(scope="module")
def pair() -> KeyPair:
    return KeyPair()


def send(v2: Any, sender: str) -> str:
    return str(
        v2.send_email(
            FromEmailAddress=sender,
            Destination=SIMULATOR,
            Content={"Simple": {"Subject": {"Data": "signed"}, "Body": {"Text": {"Data": "hi"}}}},
        )["MessageId"]
    )


def raw(server: RunningInbound, message_id: str) -> bytes:
    body = server.get(f"/api/sent/{message_id}/raw")
    assert isinstance(body, bytes)
    return body


def signature_tags(message: bytes) -> dict[str, str]:
    head = message.partition(b"\r\n\r\n")[0].decode()
    field = head.split("DKIM-Signature:", 1)[1].split("\r\nFrom:")[0]
    text = "".join(field.split())
    return dict(tag.split("=", 1) for tag in text.split(";") if tag)


def test_byodkim_signs_with_the_users_key(server: RunningInbound, v2: Any, pair: KeyPair) -> None:
    v2.create_email_identity(EmailIdentity="byo.test")
    answer = v2.put_email_identity_dkim_signing_attributes(
        EmailIdentity="byo.test",
        SigningAttributesOrigin="EXTERNAL",
        SigningAttributes={"DomainSigningSelector": "sel1", "DomainSigningPrivateKey": pair.base64},
    )
    assert (answer["DkimStatus"], answer["DkimTokens"]) == ("SUCCESS", ["sel1"])
    attributes = v2.get_email_identity(EmailIdentity="byo.test")["DkimAttributes"]
    assert attributes == {
        "SigningEnabled": True,
        "Status": "SUCCESS",
        "Tokens": ["sel1"],
        "SigningAttributesOrigin": "EXTERNAL",
    }
    message = raw(server, send(v2, "Sender <sender@byo.test>"))
    tags = signature_tags(message)
    assert (tags["d"], tags["s"], tags["a"]) == ("byo.test", "sel1", "rsa-sha256")
    assert dkim.verify(message, dnsfunc=pair.dns("sel1", "byo.test"))
    assert not dkim.verify(message, dnsfunc=KeyPair(1024).dns("sel1", "byo.test"))
    # the record the engine says to publish is the user's public key under the selector
    record = server.get("/api/identities/byo.test/dkim")
    assert record["recordName"] == "sel1._domainkey.byo.test"
    assert record["recordValue"].endswith(f"p={pair.public}")
    [sent] = server.sent()
    assert {"step": "dkimSigned", "domain": "byo.test", "selector": "sel1"} in sent["trace"]


def test_create_email_identity_with_byodkim(server: RunningInbound, v2: Any) -> None:
    """A PKCS #1 key of 1024 bits, given at creation as the DG's example gives it."""
    pkcs1 = KeyPair(1024, pkcs8=False)
    created = v2.create_email_identity(
        EmailIdentity="created.test",
        DkimSigningAttributes={
            "DomainSigningSelector": "s2024",
            "DomainSigningPrivateKey": pkcs1.base64,
        },
    )
    assert created["DkimAttributes"]["SigningAttributesOrigin"] == "EXTERNAL"
    assert created["DkimAttributes"]["Tokens"] == ["s2024"]
    assert created["VerifiedForSendingStatus"] is True
    message = raw(server, send(v2, "a@created.test"))
    assert dkim.verify(message, dnsfunc=pkcs1.dns("s2024", "created.test"))
    # v1 sees the selector as the domain's DKIM token
    v1 = client(server, "ses")
    found = v1.get_identity_dkim_attributes(Identities=["created.test"])["DkimAttributes"]
    assert found["created.test"]["DkimTokens"] == ["s2024"]


def test_bad_keys_are_refused_and_nothing_is_created(server: RunningInbound, v2: Any) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    too_long = KeyPair(3072).base64
    for key, reason in (
        ("AAAA", "not an unencrypted PKCS #1 or PKCS #8 key"),
        (base64.b64encode(ec_key).decode(), "not an RSA key"),
        (too_long, "has 3072 bits, not 1024 to 2048"),
        ("-----BEGIN", "it must be base64 without line breaks"),
    ):
        code, status, message = error(
            v2.create_email_identity,
            EmailIdentity="bad.test",
            DkimSigningAttributes={"DomainSigningSelector": "s", "DomainSigningPrivateKey": key},
        )
        assert (code, status) == ("BadRequestException", 400)
        assert reason in message
    assert error(v2.get_email_identity, EmailIdentity="bad.test")[0] == "NotFoundException"
    attributes = {"DomainSigningSelector": "-bad", "DomainSigningPrivateKey": "AAAA"}
    assert (
        "Invalid DKIM selector: -bad."
        in error(
            v2.put_email_identity_dkim_signing_attributes,
            EmailIdentity="example.com",
            SigningAttributesOrigin="EXTERNAL",
            SigningAttributes=attributes,
        )[2]
    )


def test_byodkim_errors(server: RunningInbound, v2: Any, pair: KeyPair) -> None:
    put = v2.put_email_identity_dkim_signing_attributes
    attributes = {"DomainSigningSelector": "s", "DomainSigningPrivateKey": pair.base64}
    assert error(
        put,
        EmailIdentity="none.test",
        SigningAttributesOrigin="EXTERNAL",
        SigningAttributes=attributes,
    )[:2] == ("NotFoundException", 404)
    v2.create_email_identity(EmailIdentity="someone@example.com")
    code, _, message = error(
        put, EmailIdentity="someone@example.com", SigningAttributesOrigin="EXTERNAL",
        SigningAttributes=attributes,
    )  # fmt: skip
    assert code == "BadRequestException" and "only for a domain identity" in message
    assert error(put, EmailIdentity="example.com", SigningAttributesOrigin="EXTERNAL")[2] == (
        "DomainSigningSelector and DomainSigningPrivateKey are required for EXTERNAL signing "
        "attributes."
    )
    assert error(put, EmailIdentity="example.com", SigningAttributesOrigin="AWS_SES_EU_WEST_1")[
        0
    ] == ("BadRequestException")
    assert error(
        v2.create_email_identity,
        EmailIdentity="someone-else@example.com",
        DkimSigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"},
    )[0] == ("BadRequestException")


def key_bits(server: RunningInbound, identity: str) -> int:
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    value = server.get(f"/api/identities/{identity}/dkim")["recordValue"]
    key = load_der_public_key(base64.b64decode(value.partition("p=")[2]))
    assert isinstance(key, rsa.RSAPublicKey)
    return key.key_size


def test_easy_dkim_key_lengths_and_back_from_byodkim(
    server: RunningInbound, v2: Any, pair: KeyPair
) -> None:
    v2.create_email_identity(EmailIdentity="easy.test")
    put = v2.put_email_identity_dkim_signing_attributes
    before = v2.get_email_identity(EmailIdentity="easy.test")["DkimAttributes"]
    answer = put(
        EmailIdentity="easy.test",
        SigningAttributesOrigin="AWS_SES",
        SigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"},
    )
    assert answer["DkimTokens"] == before["Tokens"]  # the key in use stays
    after = v2.get_email_identity(EmailIdentity="easy.test")["DkimAttributes"]
    assert (after["CurrentSigningKeyLength"], after["NextSigningKeyLength"]) == (
        "RSA_2048_BIT",
        "RSA_1024_BIT",
    )
    assert key_bits(server, "easy.test") == 2048
    # BYODKIM, then Easy DKIM again: new tokens and a new key of the length asked for
    put(
        EmailIdentity="easy.test",
        SigningAttributesOrigin="EXTERNAL",
        SigningAttributes={"DomainSigningSelector": "mine", "DomainSigningPrivateKey": pair.base64},
    )
    again = put(
        EmailIdentity="easy.test",
        SigningAttributesOrigin="AWS_SES",
        SigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"},
    )
    assert len(again["DkimTokens"]) == 3 and again["DkimTokens"] != before["Tokens"]
    now = v2.get_email_identity(EmailIdentity="easy.test")["DkimAttributes"]
    assert now["SigningAttributesOrigin"] == "AWS_SES"
    assert now["CurrentSigningKeyLength"] == "RSA_1024_BIT"
    assert key_bits(server, "easy.test") == 1024
    record = server.get("/api/identities/easy.test/dkim")

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        wanted = (record["recordName"] + ".").encode()
        return record["recordValue"].encode() if name == wanted else None

    message = raw(server, send(v2, "x@easy.test"))
    assert signature_tags(message)["s"] == again["DkimTokens"][0]
    assert dkim.verify(message, dnsfunc=dnsfunc)
    # created with a key length
    v2.create_email_identity(
        EmailIdentity="short.test", DkimSigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"}
    )
    assert key_bits(server, "short.test") == 1024


def test_byodkim_in_dns_mode_waits_for_the_txt_record(
    request: pytest.FixtureRequest,
    inbound_factory: Callable[..., RunningInbound],
    pair: KeyPair,
) -> None:
    fake_dns = FakeDns()
    request.addfinalizer(fake_dns.close)
    server = inbound_factory(
        verified=["example.com"],
        sending=FAST,
        identity_verification="dns",
        identity_resolver=config.Address("127.0.0.1", fake_dns.port),
        identity_check_interval=3600.0,
    )
    v2 = client(server)
    v2.create_email_identity(
        EmailIdentity="dns.test",
        DkimSigningAttributes={
            "DomainSigningSelector": "k1",
            "DomainSigningPrivateKey": pair.base64,
        },
    )

    def status() -> tuple[str, str]:
        found = v2.get_email_identity(EmailIdentity="dns.test")
        return found["VerificationStatus"], found["DkimAttributes"]["Status"]

    assert status() == ("PENDING", "PENDING")
    fake_dns.add("k1._domainkey.dns.test", "TXT", f'"p={KeyPair(1024).public}"')  # another key
    assert status() == ("PENDING", "PENDING")
    key = pair.public  # a 2048-bit key's record is split into strings of at most 255
    fake_dns.records[("k1._domainkey.dns.test", "TXT")] = [
        f'"v=DKIM1; k=rsa; p={key[:200]}" "{key[200:400]}" "{key[400:]}"'
    ]
    assert status() == ("SUCCESS", "SUCCESS")
