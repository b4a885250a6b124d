"""Byte-level mutations of seed messages, shared by the DSN and MIME targets: what a broken
or hostile sender makes of a well-formed message."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

SEEDS = tuple(
    path.read_bytes()
    for path in sorted((Path(__file__).parents[2] / "fixtures" / "dsn").glob("*.eml"))
)
# Bytes that mean something to a MIME or header parser.
TOKENS = (
    b"\r\n",
    b"\n",
    b"\r",
    b"\x00",
    b"\r\n\r\n",
    b"\r\n ",
    b":",
    b";",
    b"=?utf-8?b?",
    b"=?x-unknown?q?=FF?=",
    b"?=",
    b"--",
    b'boundary="',
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
    b"Content-Type: message/delivery-status\r\n",
    b"Content-Type: message/global-delivery-status\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Final-Recipient: rfc822; ",
    b"Final-Recipient: utf-8; ",
    b"Action: ",
    b"Status: ",
    b"Diagnostic-Code: smtp; ",
    b"Arrival-Date: ",
    b"Reporting-MTA: dns; ",
    b"\\x",
    b"+2B",
    b"\xff\xfe",
    "ü日".encode(),
)


@st.composite
def mutated(draw: st.DrawFn, seeds: tuple[bytes, ...] = SEEDS) -> bytes:
    """A seed with a few edits: spans deleted, duplicated or replaced by tokens or bytes."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        end = min(len(data), at + draw(st.integers(0, 80)))
        edit = draw(st.sampled_from(["delete", "duplicate", "token", "bytes", "truncate"]))
        if edit == "delete":
            del data[at:end]
        elif edit == "duplicate":
            data[at:at] = data[at:end]
        elif edit == "token":
            data[at:end] = draw(st.sampled_from(TOKENS))
        elif edit == "bytes":
            data[at:end] = draw(st.binary(max_size=20))
        else:
            del data[at:]
    return bytes(data)
