"""Large messages are spooled to disk as they arrive (issue 18 item 2, receiving/data.py).

The spooling path must end DATA, unstuff dots, and apply the size and line limits exactly as
the one-search path does, wherever the client's writes split the bytes: a property test feeds
both paths the same bytes in the same pieces through a real `asyncio.StreamReader`, the
spooling one writing through the store's real `BodyWriter`. Then, through real sockets: a
message above the threshold is stored byte for byte as a file of the data dir, processed,
and answered only once on disk; one over the size limit is drained and refused leaving no file;
what a killed server left unaccepted goes at the next start; a reset removes the files.
"""

from __future__ import annotations

import asyncio
import smtplib
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound.receiving import data as data_module
from inbound.receiving.data import Data, DataReader
from inbound.store.bodies import BodyWriter, SpooledBody
from inbound.testing import RunningInbound
from tests import disks
from tests.rulesets import add_header, rule, rules, s3

MB = 1024 * 1024
TOO_MUCH = "552 Error: Too much mail data"

# Lines as clients send them, and as they must not: dot-stuffed, bare LF, bare CR, a lone dot
# after a bare LF (not an end), long lines, the end of data itself followed by what a
# pipelining client sends next.
_SAMPLES = [b"Subject: x\r\n", b"Received: a\r\n", b"received:b\r\n", b"\r\n", b"..\r\n",
            b".x\r\n", b"a\nb\r\n", b"\n.\n", b"a\r.\r\n", b".\r", b"\r\n.\r\n",
            b"x" * 40 + b"\r\n"]  # fmt: skip
_LINE = st.one_of(st.sampled_from(_SAMPLES), st.binary(max_size=30))


async def _read(content: bytes, pieces: list[int], reader: DataReader) -> tuple[Data, bytes]:
    """`reader` over `content` written to the stream in `pieces`; what DATA gave and what the
    stream still has (the next commands)."""
    # A line limit below `spool_above`, as aiosmtpd's 1001 is below the real threshold.
    stream = asyncio.StreamReader(limit=4)

    async def client() -> None:
        at = 0
        for size in [*pieces, len(content)]:
            stream.feed_data(content[at : at + size])
            at += size
            for _ in range(4):  # the reader takes what it can before the next piece comes
                await asyncio.sleep(0)
        stream.feed_eof()

    feeding = asyncio.create_task(client())
    try:
        data = await reader.read(stream)
    except asyncio.IncompleteReadError:
        data = Data(b"", -1, "client left")
    await feeding
    return data, await stream.read()


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(_LINE, max_size=40),
    pieces=st.lists(st.integers(1, 60), max_size=30),
    spool_above=st.integers(5, 200),
    size_limit=st.sampled_from([0, 50, 200, 10_000]),
    max_line_length=st.sampled_from([8, 42, 1000]),
)
def test_spooling_reads_data_as_the_one_search_does(
    tmp_path: Path,
    lines: list[bytes],
    pieces: list[int],
    spool_above: int,
    size_limit: int,
    max_line_length: int,
) -> None:
    content = b"".join(lines) + b"\r\n.\r\nQUIT\r\n"
    whole = DataReader(size_limit, max_line_length, TOO_MUCH)
    spooling = DataReader(
        size_limit,
        max_line_length,
        TOO_MUCH,
        spool=lambda: BodyWriter(tmp_path / "partial"),
        spool_above=spool_above,
    )

    async def both() -> tuple[tuple[Data, bytes], tuple[Data, bytes]]:
        return await _read(content, pieces, whole), await _read(content, pieces, spooling)

    (expected, expected_rest), (got, rest) = asyncio.run(both())
    message = got.message
    if isinstance(message, SpooledBody):
        assert message.size == message.path.stat().st_size
        message = message.path.read_bytes()
    assert (message, got.hops, got.error, rest) == (
        expected.message,
        expected.hops,
        expected.error,
        expected_rest,
    )
    leftovers = list((tmp_path / "partial").glob("*")) if (tmp_path / "partial").exists() else []
    assert len(leftovers) == isinstance(got.message, SpooledBody)  # refused: no file stays
    for leftover in leftovers:
        leftover.unlink()


def _big(size: int) -> bytes:
    """A message of about `size` bytes whose lines start with a dot now and then."""
    block = (b"x" * 70 + b"\r\n") * 50 + b".leading dot\r\n"
    head = b"From: s@sender.test\r\nTo: someone@example.com\r\nSubject: big\r\n\r\n"
    return head + block * (size // len(block))


def _files(server: RunningInbound, folder: str) -> list[str]:
    path = server.settings.data_dir / folder
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def _send(server: RunningInbound, raw: bytes) -> str:
    """Sends `raw`; its message id (from `250 Ok <id>`)."""
    with server.smtp() as client:
        client.ehlo("big.test")
        client.mail("s@sender.test")
        client.rcpt("someone@example.com")
        code, reply = client.data(raw)  # smtplib stuffs the dots; the server unstuffs them
    assert code == 250, reply
    return reply.decode().split()[-1]


@pytest.mark.inbound_rules(rules(rule("r", add_header("X-A", "1"), s3("b", "mail/"))))
def test_a_large_message_is_kept_as_a_file_byte_for_byte(inbound_server: RunningInbound) -> None:
    raw = _big(3 * MB)
    message_id = _send(inbound_server, raw)
    small_id = _send(inbound_server, b"Subject: small\r\n\r\nhi\r\n")
    assert {m["messageId"]: m["status"] for m in inbound_server.messages()} == {
        message_id: "done",
        small_id: "done",
    }
    data = inbound_server.settings.data_dir
    assert (data / "spool" / message_id).read_bytes() == raw
    assert _files(inbound_server, "spool") == [message_id]  # the small one: in the table
    assert _files(inbound_server, "spool-partial") == []
    url = f"{inbound_server.api_url}/api/messages/{message_id}/raw"
    with urllib.request.urlopen(url) as response:  # streamed from the file
        assert response.headers["Content-Type"] == "message/rfc822"
        assert response.read() == raw
    stored = (data / "s3" / "b" / "mail" / message_id).read_bytes()
    assert stored.startswith(b"X-A: 1\r\n") and stored.endswith(b"\r\n" + raw)


def test_a_spooled_message_over_the_size_limit_is_refused_and_leaves_no_file(
    inbound_factory: Callable[..., RunningInbound],
) -> None:
    server = inbound_factory(max_message_size=3 * MB)
    with server.smtp() as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("s@sender.test", ["someone@example.com"], _big(5 * MB))
        assert refused.value.smtp_code == 552
        assert client.noop()[0] == 250  # read to its end: the session goes on
    kept = _send(server, _big(int(2.5 * MB)))
    assert [m["messageId"] for m in server.messages()] == [kept]
    assert _files(server, "spool") == [kept]
    assert _files(server, "spool-partial") == []


def test_bodies_a_killed_server_left_unaccepted_go_at_the_next_start(
    inbound_factory: Callable[..., RunningInbound], tmp_path: Path
) -> None:
    server = inbound_factory()
    kept = _send(server, _big(3 * MB))
    server.wait_idle()
    server.stop()
    data = server.settings.data_dir
    (data / "spool-partial").mkdir(exist_ok=True)
    (data / "spool-partial" / "half-written").write_bytes(b"x" * 1000)
    (data / "spool" / "never-committed").write_bytes(b"x" * 1000)
    restarted = inbound_factory(data_dir=data)
    assert _files(restarted, "spool") == [kept]
    assert _files(restarted, "spool-partial") == []
    assert restarted.get(f"/api/messages/{kept}/raw") == _big(3 * MB)


def test_a_reset_removes_the_body_files(inbound_server: RunningInbound) -> None:
    _send(inbound_server, _big(3 * MB))
    inbound_server.wait_idle()
    assert len(_files(inbound_server, "spool")) == 1
    assert inbound_server.delete("/api/messages") == {"reset": True}
    assert _files(inbound_server, "spool") == []


def test_a_large_message_on_a_full_disk_is_451_and_leaves_no_file(
    inbound_factory: Callable[..., RunningInbound], tmp_path: Path
) -> None:
    with disks.tmpfs(tmp_path / "disk", "16m") as disk:
        server = inbound_factory(data_dir=disk / "data")
        ballast = disks.fill(disk)
        with server.smtp() as client:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail("s@sender.test", ["someone@example.com"], _big(3 * MB))
            assert (refused.value.smtp_code, refused.value.smtp_error) == (
                451,
                b"4.3.0 Temporary service failure",
            )
            assert _files(server, "spool-partial") == []
            ballast.unlink()  # space returns: the client's retry is accepted
            client.rset()
            client.sendmail("s@sender.test", ["someone@example.com"], _big(3 * MB))
        assert [m["status"] for m in server.messages()] == ["done"]
        assert len(_files(server, "spool")) == 1


@given(
    data=st.binary(max_size=3000).map(lambda data: data.replace(b"a", b"\n")),
    limit=st.integers(0, 1200),
)
def test_the_line_limit_check_is_measuring_every_line(data: bytes, limit: int) -> None:
    """The check skips splitting the message into lines when every block has an LF: the same
    answer as measuring each line."""
    assert data_module._has_line_over(data, limit) == (max(map(len, data.split(b"\n"))) > limit)
