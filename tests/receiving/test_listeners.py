"""The SMTP listeners' TLS and start-up edges (issue 18 item 3), on the receiving port and the
SMTP interface's: a second STARTTLS is refused with 503, an aborted TLS handshake is one log
line and never a traceback, and the listen backlog is the configured one."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from inbound.receiving import replies
from inbound.testing import RunningInbound
from tests.receiving.test_limits import LISTENERS, address, closed, code, connect
from tests.sending.test_submission import trusting

TLS_ACTIVE = str(replies.S503_TLS_ACTIVE).encode()


@pytest.mark.parametrize("listener", LISTENERS)
def test_a_second_starttls_is_503(serve: Callable[..., RunningInbound], listener: str) -> None:
    server = serve()
    raw = connect(server, listener)
    assert code(raw.command(b"EHLO client.test")) == 250
    assert code(raw.command(b"STARTTLS")) == 220
    raw.sock = trusting().wrap_socket(raw.sock)
    assert code(raw.command(b"EHLO client.test")) == 250
    assert raw.command(b"STARTTLS") == TLS_ACTIVE
    assert raw.command(b"NOOP")[:3] == b"250"  # the session goes on, still over TLS
    raw.close()


def test_starttls_on_the_tls_wrapper_port_is_503(serve: Callable[..., RunningInbound]) -> None:
    server = serve()
    assert server.submission_tls_address is not None
    plain = socket.create_connection(server.submission_tls_address, timeout=10)
    with trusting().wrap_socket(plain) as tls:
        stream = tls.makefile("rb")
        assert stream.readline()[:3] == b"220"
        tls.sendall(b"EHLO client.test\r\n")
        while stream.readline()[3:4] == b"-":
            pass
        tls.sendall(b"STARTTLS\r\n")
        assert stream.readline().rstrip(b"\r\n") == TLS_ACTIVE


@pytest.mark.parametrize("listener", LISTENERS)
@pytest.mark.parametrize(
    "hello",
    [b"", b"\x16\x03\x01\x00\x05garbage", b"GET / HTTP/1.1\r\n\r\n"],
    ids=["eof", "bad-record", "http"],
)
def test_an_aborted_tls_handshake_is_one_log_line(
    serve: Callable[..., RunningInbound],
    listener: str,
    hello: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = serve()
    raw = connect(server, listener)
    assert code(raw.command(b"EHLO client.test")) == 250
    assert code(raw.command(b"STARTTLS")) == 220
    raw.send(hello)
    raw.sock.shutdown(socket.SHUT_WR)
    assert closed(raw)
    fresh = connect(server, listener)  # and the listener still serves
    assert code(fresh.greeting) == 220
    fresh.close()
    lines = [r for r in caplog.records if "TLS handshake failed" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def test_garbage_on_the_tls_wrapper_port_logs_no_traceback(
    serve: Callable[..., RunningInbound], caplog: pytest.LogCaptureFixture
) -> None:
    server = serve()
    assert server.submission_tls_address is not None
    with socket.create_connection(server.submission_tls_address, timeout=10) as plain:
        plain.sendall(b"EHLO not-tls.test\r\n")
        plain.shutdown(socket.SHUT_WR)
        plain.recv(1024)
    with trusting().wrap_socket(socket.create_connection(server.submission_tls_address)) as tls:
        assert tls.makefile("rb").readline()[:3] == b"220"
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def _backlog(port: int) -> int:
    """The backlog of the socket listening on `port`: `ss` shows it as the Send-Q."""
    out = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[2])


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to read the backlog")
@pytest.mark.parametrize("listener", LISTENERS)
def test_the_listen_backlog_is_configurable(
    serve: Callable[..., RunningInbound], listener: str
) -> None:
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    assert _backlog(address(serve(), listener)[1]) == min(socket.SOMAXCONN, somaxconn)
    assert _backlog(address(serve(listen_backlog=7), listener)[1]) == 7
