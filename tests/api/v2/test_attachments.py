"""API v2 attachments (Simple and Template content of SendEmail, SendBulkEmail) and
SendBulkEmail with inline template content, through boto3 `sesv2`; what was sent is read back
from the stored messages with the stdlib's parser."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from inbound.testing import RunningInbound
from tests.api.v2.conftest import error

TO = {"ToAddresses": ["success@simulator.amazonses.com"]}
PDF = b"%PDF-1.7\n\x00\xff\xfe binary \x80\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def only_message(server: RunningInbound) -> EmailMessage:
    [entry] = server.sent()
    message = entry["message"]
    assert isinstance(message, EmailMessage)
    return message


def structure(part: EmailMessage) -> Any:
    if part.is_multipart():
        return (part.get_content_type(), [structure(p) for p in part.iter_parts()])
    return part.get_content_type()


def test_simple_content_with_attachments_and_an_inline_image(
    server: RunningInbound, v2: Any
) -> None:
    v2.send_email(
        FromEmailAddress="sender@example.com",
        Destination=TO,
        Content={
            "Simple": {
                "Subject": {"Data": "Report"},
                "Body": {
                    "Text": {"Data": "See the report."},
                    "Html": {"Data": '<p>See <img src="cid:logo@example.com"></p>'},
                },
                "Attachments": [
                    {"FileName": "report.pdf", "RawContent": PDF, "ContentDescription": "Q3"},
                    {
                        "FileName": "logo.png",
                        "RawContent": PNG,
                        "ContentDisposition": "INLINE",
                        "ContentId": "logo@example.com",
                        "ContentTransferEncoding": "BASE64",
                    },
                    {
                        "FileName": "notes.txt",
                        "RawContent": "Grüße\n".encode(),
                        "ContentType": "text/x-notes",
                        "ContentTransferEncoding": "QUOTED_PRINTABLE",
                    },
                    {"FileName": "plain.csv", "RawContent": b"a,b\r\n1,2\r\n"},
                ],
            }
        },
    )
    message = only_message(server)
    assert structure(message) == (
        "multipart/mixed",
        [
            (
                "multipart/alternative",
                ["text/plain", ("multipart/related", ["text/html", "image/png"])],
            ),
            "application/pdf",
            "text/x-notes",
            "text/csv",
        ],
    )
    assert message["Subject"] == "Report" and message["MIME-Version"] == "1.0"
    body, pdf, notes, csv = message.iter_parts()
    text, related = body.iter_parts()
    html, png = related.iter_parts()
    assert text.get_content() == "See the report.\r\n"
    assert 'src="cid:logo@example.com"' in html.get_content()
    # inline: the Content-ID the HTML refers to, its disposition, its bytes
    assert png["Content-ID"] == "<logo@example.com>"
    assert png.get_content_disposition() == "inline" and png.get_filename() == "logo.png"
    assert png["Content-Transfer-Encoding"] == "base64" and png.get_content() == PNG
    # attachments: the type from the extension, SEVEN_BIT (the default) of binary as base64
    assert pdf.get_content_disposition() == "attachment" and pdf.get_filename() == "report.pdf"
    assert pdf["Content-Description"] == "Q3" and pdf.get_content() == PDF
    assert pdf["Content-Transfer-Encoding"] == "base64"
    assert notes["Content-Transfer-Encoding"] == "quoted-printable"
    assert notes.get_payload(decode=True) == "Grüße\n".encode()
    assert csv["Content-Transfer-Encoding"] == "7bit"
    assert csv.get_payload(decode=True) == b"a,b\r\n1,2\r\n"


def test_template_content_with_an_attachment(server: RunningInbound, v2: Any) -> None:
    v2.create_email_template(
        TemplateName="invoice",
        TemplateContent={"Subject": "Invoice {{n}}", "Text": "Invoice {{n}} attached."},
    )
    v2.send_email(
        FromEmailAddress="sender@example.com",
        Destination=TO,
        Content={
            "Template": {
                "TemplateName": "invoice",
                "TemplateData": '{"n": "42"}',
                "Attachments": [{"FileName": "invoice-42.pdf", "RawContent": PDF}],
            }
        },
    )
    message = only_message(server)
    assert message["Subject"] == "Invoice 42"
    body, pdf = message.iter_parts()
    assert body.get_content() == "Invoice 42 attached."
    assert pdf.get_filename() == "invoice-42.pdf" and pdf.get_content() == PDF


def test_attachments_ses_refuses(server: RunningInbound, v2: Any) -> None:
    def send(attachment: dict[str, Any]) -> tuple[str, int, str]:
        return error(
            v2.send_email,
            FromEmailAddress="sender@example.com",
            Destination=TO,
            Content={
                "Simple": {
                    "Subject": {"Data": "s"},
                    "Body": {"Text": {"Data": "b"}},
                    "Attachments": [attachment],
                }
            },
        )

    code, status, message = send({"FileName": "setup.EXE", "RawContent": b"MZ"})
    assert (code, status) == ("MessageRejected", 400) and "(.exe)" in message
    assert send({"FileName": "x" * 256, "RawContent": b"x"})[0] == "BadRequestException"
    assert send({"FileName": "a.txt", "RawContent": b"x", "ContentId": "c" * 79})[0] == (
        "BadRequestException"
    )
    assert server.sent() == []


def test_send_bulk_email_with_inline_template_content(server: RunningInbound, v2: Any) -> None:
    answer = v2.send_bulk_email(
        FromEmailAddress="sender@example.com",
        DefaultContent={
            "Template": {
                "TemplateContent": {
                    "Subject": "Hello {{name}}",
                    "Text": "Dear {{name}}, your code is {{code}}.",
                    "Html": "<p>Dear {{name}}</p>",
                },
                "TemplateData": '{"name": "friend", "code": "none"}',
                "Attachments": [{"FileName": "terms.txt", "RawContent": b"Terms\r\n"}],
            }
        },
        BulkEmailEntries=[
            {
                "Destination": {"ToAddresses": ["success@simulator.amazonses.com"]},
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {"ReplacementTemplateData": '{"name": "Ann"}'}
                },
            },
            {
                "Destination": {"ToAddresses": ["success+2@simulator.amazonses.com"]},
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {
                        "ReplacementTemplateData": '{"name": "Bo", "code": "B-2"}'
                    }
                },
            },
        ],
    )
    statuses = [entry["Status"] for entry in answer["BulkEmailEntryResults"]]
    assert statuses == ["SUCCESS", "SUCCESS"]
    sent = server.sent()
    assert [e["messageId"] for e in sent] == [
        e["MessageId"] for e in answer["BulkEmailEntryResults"]
    ]
    texts = []
    for entry in sent:
        message = entry["message"]
        body, terms = message.iter_parts()
        assert terms.get_filename() == "terms.txt" and terms.get_content() == "Terms\r\n"
        text, _html = body.iter_parts()
        texts.append((message["Subject"], text.get_content()))
    assert texts == [
        ("Hello Ann", "Dear Ann, your code is none."),
        ("Hello Bo", "Dear Bo, your code is B-2."),
    ]
    # inline content that is not a valid template is refused for the whole call
    code, _, message = error(
        v2.send_bulk_email,
        FromEmailAddress="sender@example.com",
        DefaultContent={"Template": {"TemplateContent": {"Subject": "{{#if x}}", "Text": "t"}}},
        BulkEmailEntries=[{"Destination": {"ToAddresses": ["success@simulator.amazonses.com"]}}],
    )
    assert code == "BadRequestException" and message.startswith("The template content is invalid")
    assert len(server.sent()) == 2
