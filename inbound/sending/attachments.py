"""Attachments of SES v2 SendEmail and SendBulkEmail content (Simple and Template): the files a
caller gives as `Attachment` objects, made into the MIME message SES builds around the body.

"When you send an email with attachments through SES, the service handles the complex MIME
message construction automatically" (DG, [Working with email attachments in
SES](https://docs.aws.amazon.com/ses/latest/dg/attachments.html)), from FileName (required,
"must include file extension"), ContentType (else derived from the FileName's extension),
ContentDisposition (`ATTACHMENT`, the default, or `INLINE`), ContentDescription, ContentId
("used for referencing attachments with INLINE disposition in HTML content") and
ContentTransferEncoding (`SEVEN_BIT`, the default, `BASE64` or `QUOTED_PRINTABLE`). Here:

* inline attachments go with the HTML body in a `multipart/related` (the HTML first, as RFC
  2387 puts the root; inside the text/HTML `multipart/alternative` when there is one), the
  others after the body in a `multipart/mixed`; the boundaries have JavaMail's form, as SES's
  other messages;
* `SEVEN_BIT` content that is not 7-bit text (bytes over 127, NUL, lines over 998 octets)
  cannot travel as 7bit: it is sent as base64 (a decision: what SES does is unknown);
* a FileName with an extension on SES's list of unsupported attachment types is refused
  (`MessageRejected`, the text is UNCONFIRMED), the list of the DG page "Unsupported attachment
  types".
Pure: bytes in, bytes out.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from inbound.errors import MessageRejected
from inbound.sending import mime

# DG, "Unsupported attachment types" (the same list for raw and API attachments).
UNSUPPORTED = frozenset(
    (
        "ade",
        "adp",
        "app",
        "asp",
        "bas",
        "bat",
        "cer",
        "chm",
        "cmd",
        "com",
        "cpl",
        "crt",
        "csh",
        "der",
        "exe",
        "fxp",
        "gadget",
        "hlp",
        "hta",
        "inf",
        "ins",
        "isp",
        "its",
        "js",
        "jse",
        "ksh",
        "lib",
        "lnk",
        "mad",
        "maf",
        "mag",
        "mam",
        "maq",
        "mar",
        "mas",
        "mat",
        "mau",
        "mav",
        "maw",
        "mda",
        "mdb",
        "mde",
        "mdt",
        "mdw",
        "mdz",
        "msc",
        "msh",
        "msh1",
        "msh2",
        "mshxml",
        "msh1xml",
        "msh2xml",
        "msi",
        "msp",
        "mst",
        "ops",
        "pcd",
        "pif",
        "plg",
        "prf",
        "prg",
        "reg",
        "scf",
        "scr",
        "sct",
        "shb",
        "shs",
        "sys",
        "ps1",
        "ps1xml",
        "ps2",
        "ps2xml",
        "psc1",
        "psc2",
        "tmp",
        "url",
        "vb",
        "vbe",
        "vbs",
        "vps",
        "vsmacros",
        "vss",
        "vst",
        "vsw",
        "vxd",
        "ws",
        "wsc",
        "wsf",
        "wsh",
        "xnk",
    )
)
_ENCODINGS = {"SEVEN_BIT": "7bit", "BASE64": "base64", "QUOTED_PRINTABLE": "quoted-printable"}


@dataclass(frozen=True)
class Attachment:
    """One file, with the model's Attachment members in Python names."""

    content: bytes
    file_name: str
    content_type: str | None = None
    inline: bool = False
    description: str | None = None
    content_id: str | None = None
    transfer_encoding: str = "SEVEN_BIT"


def check(attachment: Attachment) -> None:
    extension = attachment.file_name.rpartition(".")[2].lower()
    if "." in attachment.file_name and extension in UNSUPPORTED:
        raise MessageRejected(
            f"Attachment {attachment.file_name} has a file type SES does not accept (.{extension})."
        )


def _seven_bit(data: bytes) -> bool:
    return (
        data.isascii()
        and b"\0" not in data
        and all(len(line.rstrip(b"\r")) <= mime.MAX_LINE for line in data.split(b"\n"))
    )


def _part(attachment: Attachment) -> EmailMessage:
    kind = attachment.content_type or mimetypes.guess_type(attachment.file_name)[0]
    maintype, _, subtype = (kind or "application/octet-stream").partition("/")
    cte = _ENCODINGS[attachment.transfer_encoding]
    if cte == "7bit" and not _seven_bit(attachment.content):
        cte = "base64"
    part = EmailMessage(policy=policy.SMTP)
    part.set_content(
        attachment.content,
        maintype,
        subtype or "octet-stream",
        cte=cte,
        disposition="inline" if attachment.inline else "attachment",
        filename=attachment.file_name,
    )
    del part["MIME-Version"]  # the message has one; its parts do not
    if attachment.description:
        part["Content-Description"] = attachment.description
    if attachment.content_id:
        cid = attachment.content_id.strip("<>")
        part["Content-ID"] = f"<{cid}>"
    return part


def _html_part(message: EmailMessage) -> EmailMessage:
    """Where inline attachments go: the HTML body (inside the text/HTML alternative, so a
    text-only reader never sees them), else the body itself."""
    if message.get_content_type() == "multipart/alternative":
        for part in message.iter_parts():
            if part.get_content_type() == "text/html" and isinstance(part, EmailMessage):
                return part
    return message


def attach(raw: bytes, attachments: Sequence[Attachment]) -> bytes:
    """The built message `raw` with `attachments` around its body."""
    if not attachments:
        return raw
    message = BytesParser(policy=policy.SMTP, _class=EmailMessage).parsebytes(raw)
    inline = [a for a in attachments if a.inline]
    others = [a for a in attachments if not a.inline]
    if inline:
        root = _html_part(message)
        root.make_related(boundary=mime.boundary())
        for attachment in inline:
            root.attach(_part(attachment))
    if others:
        message.make_mixed(boundary=mime.boundary())
        for attachment in others:
            message.attach(_part(attachment))
    return message.as_bytes()
