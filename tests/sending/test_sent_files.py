"""Large sent messages kept as files (store/sent.py) and the SMTP interface's DATA written to a
file as it arrives (receiving/data.py), through the real interfaces: smtplib with AUTH and boto3
SendRawEmail send 3 MB messages, which are kept as `DATA/sent/<MessageId>` and served byte for
byte by `GET /api/sent/{id}/raw`; small ones stay in the table; a refused message leaves no
file; a kill's leftovers go at the next start and a reset removes the files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from inbound.testing import RunningInbound
from tests.sending.conftest import FAST
from tests.sending.test_submission import KEY_ID, SECRET, logged_in

MB = 1024 * 1024
SIMULATOR = "success@simulator.amazonses.com"


@pytest.fixture
def server(inbound_factory: Callable[..., RunningInbound]) -> RunningInbound:
    return inbound_factory(verified=["example.com"], sending=FAST, api_credentials={KEY_ID: SECRET})


def big(size: int, sender: str = "sender@example.com") -> bytes:
    """A message of about `size` bytes whose lines include some that start with a dot."""
    head = f"From: {sender}\r\nTo: {SIMULATOR}\r\nSubject: big\r\n\r\n".encode()
    lines = (b"x" * 76 + b"\r\n") * 9 + b".starts with a dot\r\n"
    return head + lines * (size // len(lines))


def body(raw: bytes) -> bytes:
    return raw.partition(b"\r\n\r\n")[2]


def by_smtp(server: RunningInbound, raw: bytes) -> tuple[int, str]:
    with logged_in(server) as smtp:
        smtp.mail("sender@example.com")
        smtp.rcpt(SIMULATOR)
        code, text = smtp.data(raw)  # smtplib stuffs the dots; the server unstuffs them
    return code, text.decode()


def by_send_raw_email(server: RunningInbound, raw: bytes) -> str:
    return str(server.ses().send_raw_email(RawMessage={"Data": raw})["MessageId"])


def files(server: RunningInbound, folder: str) -> list[str]:
    path = server.settings.data_dir / folder
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else []


def test_a_large_message_is_kept_as_a_file_byte_for_byte(server: RunningInbound) -> None:
    raw = big(3 * MB)
    code, text = by_smtp(server, raw)
    assert code == 250, text
    over_smtp = text.split()[1]
    over_api = by_send_raw_email(server, raw)
    small = by_send_raw_email(server, big(10 * 1024))
    assert {s["messageId"]: s["status"] for s in server.sent()} == {
        over_smtp: "done",
        over_api: "done",
        small: "done",
    }
    assert files(server, "sent") == sorted([over_smtp, over_api])  # the small one: a blob
    assert files(server, "spool-partial") == []  # DATA's file went once the message was sent
    for message_id in (over_smtp, over_api):
        kept = (server.settings.data_dir / "sent" / message_id).read_bytes()
        assert body(kept) == body(raw)
        assert f"Message-ID: <{message_id}@email.amazonses.com>".encode() in kept
        served = server.get(f"/api/sent/{message_id}/raw")  # streamed from the file
        assert served == kept
    assert body(server.get(f"/api/sent/{small}/raw")) == body(big(10 * 1024))


def test_a_refused_large_message_leaves_no_file(server: RunningInbound) -> None:
    code, text = by_smtp(server, big(3 * MB, sender="sender@unverified.test"))
    assert code == 554 and text.startswith("Message rejected: Email address is not verified.")
    assert files(server, "spool-partial") == files(server, "sent") == []
    assert server.sent() == []


def test_files_a_killed_server_left_go_at_the_next_start_and_a_reset_removes_them(
    server: RunningInbound, inbound_factory: Callable[..., RunningInbound]
) -> None:
    kept = by_send_raw_email(server, big(3 * MB))
    server.wait_idle()
    server.stop()
    data: Path = server.settings.data_dir
    (data / "sent" / "never-committed").write_bytes(b"x" * 1000)  # a kill before the row
    restarted = inbound_factory(
        verified=["example.com"], sending=FAST, api_credentials={KEY_ID: SECRET}, data_dir=data
    )
    assert files(restarted, "sent") == [kept]
    assert body(restarted.get(f"/api/sent/{kept}/raw")) == body(big(3 * MB))
    assert restarted.delete("/api/messages") == {"reset": True}
    assert files(restarted, "sent") == []
