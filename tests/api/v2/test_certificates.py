"""S/MIME certificate associations of email identities, through boto3 `sesv2`."""

from __future__ import annotations

from typing import Any

from tests.api.v2.conftest import error

ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
OTHER = "arn:aws:acm:us-east-1:123456789012:certificate/ffffffff-4e5f-6789-abcd-ef0123456789"


def listed(v2: Any, identity: str, **paging: Any) -> list[tuple[str, str, str]]:
    found = v2.list_email_identity_certificates(EmailIdentity=identity, **paging)["Certificates"]
    return [(c["FromAddress"], c["Status"], c["CertificateArn"]) for c in found]


def test_associate_list_disassociate(v2: Any) -> None:
    associate = v2.associate_email_identity_certificate
    associate(EmailIdentity="example.com", FromAddress="billing@example.com", CertificateArn=ARN)
    associate(EmailIdentity="example.com", FromAddress="ops@mail.example.com", CertificateArn=OTHER)
    assert listed(v2, "example.com") == [
        ("billing@example.com", "ACTIVE", ARN),
        ("ops@mail.example.com", "ACTIVE", OTHER),
    ]
    first = v2.list_email_identity_certificates(EmailIdentity="example.com", PageSize=1)
    assert [c["FromAddress"] for c in first["Certificates"]] == ["billing@example.com"]
    rest = listed(v2, "example.com", NextToken=first["NextToken"])
    assert rest == [("ops@mail.example.com", "ACTIVE", OTHER)]
    # one certificate an address
    code, _, message = error(
        associate,
        EmailIdentity="example.com",
        FromAddress="billing@example.com",
        CertificateArn=OTHER,
    )
    assert code == "AlreadyExistsException" and "billing@example.com" in message
    v2.disassociate_email_identity_certificate(
        EmailIdentity="example.com", FromAddress="billing@example.com"
    )
    v2.disassociate_email_identity_certificate(  # idempotent
        EmailIdentity="example.com", FromAddress="billing@example.com"
    )
    assert listed(v2, "example.com") == [("ops@mail.example.com", "ACTIVE", OTHER)]
    # an address identity: its own address, given or not
    v2.create_email_identity(EmailIdentity="me@other.test")
    associate(EmailIdentity="me@other.test", CertificateArn=ARN)
    assert listed(v2, "me@other.test") == [("me@other.test", "ACTIVE", ARN)]
    v2.disassociate_email_identity_certificate(EmailIdentity="me@other.test")
    assert listed(v2, "me@other.test") == []


def test_certificate_errors(v2: Any) -> None:
    associate = v2.associate_email_identity_certificate
    assert error(associate, EmailIdentity="none.test", CertificateArn=ARN)[:2] == (
        "NotFoundException",
        404,
    )
    assert error(v2.list_email_identity_certificates, EmailIdentity="none.test")[0] == (
        "NotFoundException"
    )
    assert error(v2.disassociate_email_identity_certificate, EmailIdentity="none.test")[0] == (
        "NotFoundException"
    )
    for params in (
        {"EmailIdentity": "example.com", "CertificateArn": ARN},  # a domain needs FromAddress
        {"EmailIdentity": "example.com", "FromAddress": "a@example.org", "CertificateArn": ARN},
        {"EmailIdentity": "example.com", "FromAddress": "a@notexample.com", "CertificateArn": ARN},
        {
            "EmailIdentity": "example.com",
            "FromAddress": "a@example.com",
            "CertificateArn": "arn:aws:s3:::bucket/certificate",
        },
    ):
        assert error(associate, **params)[:2] == ("BadRequestException", 400), params
    v2.create_email_identity(EmailIdentity="me@other.test")
    code, _, message = error(
        associate, EmailIdentity="me@other.test", FromAddress="you@other.test", CertificateArn=ARN
    )
    assert code == "BadRequestException" and "must be the email identity" in message
    assert v2.list_email_identity_certificates(EmailIdentity="example.com")["Certificates"] == []
