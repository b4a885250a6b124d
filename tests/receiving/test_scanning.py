"""Spam and virus scanning by the real daemons (docs/authentication.md, "Scanning"): spamd and
clamd are started here, each on a unix socket in its own temporary folder, and skip visibly
when their binaries are missing (.ci/run installs them). clamd runs on a signature database
written here (EICAR, and a marker only clamd knows): freshclam's databases need the internet.
The failure cases use real sockets: a closed port, a missing socket, a server that accepts and
never answers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from inbound.config import Address, ScanningSettings
from inbound.receiving.scanning import Clamd, ScanChain, Spamd
from inbound.receiving.verdicts import EICAR, EICAR_SCANNER, GTUBE, GTUBE_SCANNER, Status
from inbound.testing import RunningInbound
from tests.rulesets import message, rule, rules, sns

SPAM_PHRASE = "inbound-test-spam-phrase"  # scores 100 in the spamd started here
VIRUS_MARKER = b"inbound-test-virus-marker"  # a signature of the clamd started here
HAM = message(body="Lunch tomorrow at noon?\r\n")


def _daemon(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.skip(f"{name} is not installed (Debian: apt-get install {name})")
    return found


def _folder(name: str) -> Path:
    """A folder spamd can read after it drops root for `nobody` (pytest's are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix=f"inbound-{name}-"))
    folder.chmod(0o755)
    return folder


def _wait_for(socket_path: Path, ping: bytes, pong: bytes, process: subprocess.Popen[bytes]):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited: {process.stdout.read()!r}")  # type: ignore[union-attr]
        try:
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(str(socket_path))
                client.sendall(ping)
                if pong in client.recv(100):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{process.args[0]} did not answer within 60 s")


def _run(args: list[str], folder: Path, socket_path: Path, ping: bytes, pong: bytes):
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for(socket_path, ping, pong, process)
        yield socket_path
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def spamd() -> Iterator[Path]:
    binary = _daemon("spamd")
    folder = _folder("spamd")
    for pre in glob.glob("/etc/spamassassin/*.pre"):  # the plugins: --siteconfigpath replaces
        shutil.copy(pre, folder)
    (folder / "local.cf").write_text(
        f"body INBOUND_TEST_SPAM /{SPAM_PHRASE}/\nscore INBOUND_TEST_SPAM 100\n"
    )
    sock = folder / "spamd.sock"
    args = [binary, "--local", "--nouser-config", "--max-children=2", "--syslog=stderr",
            f"--siteconfigpath={folder}", f"--socketpath={sock}"]  # fmt: skip
    if os.geteuid() == 0:
        args.append("--username=nobody")
    yield from _run(args, folder, sock, b"PING SPAMC/1.5\r\n\r\n", b"PONG")


@pytest.fixture(scope="module")
def clamd() -> Iterator[Path]:
    binary = _daemon("clamd")
    folder = _folder("clamd")
    (folder / "db").mkdir()
    (folder / "db" / "inbound.ndb").write_text(
        f"Inbound.Test.EICAR:0:*:{EICAR.hex()}\nInbound.Test.Marker:0:*:{VIRUS_MARKER.hex()}\n"
    )
    sock = folder / "clamd.sock"
    conf = folder / "clamd.conf"
    conf.write_text(
        f"LocalSocket {sock}\nDatabaseDirectory {folder / 'db'}\nForeground yes\nLogVerbose no\n"
    )
    yield from _run([binary, f"--config-file={conf}"], folder, sock, b"zPING\0", b"PONG")


@contextlib.contextmanager
def _tcp_server(handle: Callable[[socket.socket], None]) -> Iterator[Address]:
    """A TCP server on an ephemeral port whose thread gives each connection to `handle`."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                handle(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield Address(*server.getsockname()[:2])
    finally:
        stop.set()
        thread.join(5)
        server.close()


@pytest.fixture
def silent() -> Iterator[Address]:
    """A TCP server that accepts every connection and never answers."""
    held: list[socket.socket] = []
    with _tcp_server(held.append) as address:
        yield address
    for client in held:
        client.close()


def _closed_port() -> Address:
    with socket.create_server(("127.0.0.1", 0)) as server:
        return Address(*server.getsockname()[:2])


def _attachment(data: bytes) -> bytes:
    return (
        b"From: s@sender.test\r\nTo: user@example.com\r\nSubject: att\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n'
        b"\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data) + b"--b--\r\n"
    )


# ── the daemons themselves ──────────────────────────────────────────────────────────────────
def test_spamd_fails_gtube_and_passes_ham(spamd: Path) -> None:
    daemon = Spamd(spamd, 500 * 1024)
    assert asyncio.run(daemon.ask(message(body=GTUBE.decode() + "\r\n"))) is Status.FAIL
    assert asyncio.run(daemon.ask(HAM)) is Status.PASS


def test_clamd_finds_eicar_in_an_attachment_and_passes_clean_mail(clamd: Path) -> None:
    daemon = Clamd(clamd, 25 * 1024 * 1024)
    assert asyncio.run(daemon.ask(_attachment(EICAR))) is Status.FAIL
    assert asyncio.run(daemon.ask(HAM)) is Status.PASS


# ── failures: PROCESSING_FAILED within the timeout ──────────────────────────────────────────
def _timed(chain: ScanChain, raw: bytes) -> tuple[Status, float]:
    started = time.monotonic()
    status = asyncio.run(chain.scan(raw))
    return status, time.monotonic() - started


def test_a_daemon_that_is_down_gives_processing_failed_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for daemon in (Spamd(_closed_port(), 1000), Clamd(tmp_path / "missing.sock", 1000)):
        status, took = _timed(ScanChain(GTUBE_SCANNER, daemon, timeout=5), HAM)
        assert status is Status.PROCESSING_FAILED
        assert took < 2
    logged = [r.getMessage() for r in caplog.records if r.name == "inbound.scanning"]
    assert [line.split(" at ")[0] for line in logged] == ["Spamd", "Clamd"]
    assert all("could not scan" in line for line in logged)


def test_a_daemon_that_never_answers_gives_processing_failed_at_the_timeout(
    silent: Address,
) -> None:
    for daemon in (Spamd(silent, 500 * 1024), Clamd(silent, 25 * 1024 * 1024)):
        status, took = _timed(ScanChain(EICAR_SCANNER, daemon, timeout=0.5), HAM)
        assert status is Status.PROCESSING_FAILED
        assert 0.45 <= took < 2


def test_a_message_over_the_daemon_s_size_limit_is_not_sent(silent: Address) -> None:
    """spamc passes a larger message on unchecked (GRAY); clamd would refuse it (its own
    PROCESSING_FAILED): neither is sent, so the silent server's timeout is never waited for."""
    big = HAM + b"x" * 2000
    for daemon, expected in ((Spamd(silent, 1000), Status.GRAY),
                             (Clamd(silent, 1000), Status.PROCESSING_FAILED)):  # fmt: skip
        status, took = _timed(ScanChain(GTUBE_SCANNER, daemon, timeout=5), big)
        assert (status, took < 2) == (expected, True)


def test_the_builtin_signatures_need_no_daemon(silent: Address) -> None:
    """GTUBE is FAIL before any daemon is asked (the silent one would time out)."""
    status, took = _timed(
        ScanChain(GTUBE_SCANNER, Spamd(silent, 1000), timeout=5), message(body=GTUBE.decode())
    )
    assert (status, took < 2) == (Status.FAIL, True)


# ── end to end: SMTP in, the SNS action's notification out ──────────────────────────────────
SCANNING_RULES = rules(rule("scan", sns(), ScanEnabled=True), rule("plain", sns()))


def _verdicts(server: RunningInbound, raw: bytes) -> dict[str, tuple[str, str | None]]:
    """Per rule: (spamVerdict, X-SES-Spam-Verdict) + (virusVerdict, X-SES-Virus-Verdict)."""
    server.reset()
    server.send("s@sender.test", ["user@example.com"], raw)
    found = {}
    for note in server.notifications():
        body = note["message"]
        headers = {h["name"]: h["value"] for h in body["mail"]["headers"]}
        rule_name = "scan" if "X-SES-Virus-Verdict" in headers else "plain"
        receipt = body["receipt"]
        found[rule_name] = (
            receipt["spamVerdict"]["status"],
            headers.get("X-SES-Spam-Verdict"),
            receipt["virusVerdict"]["status"],
            headers.get("X-SES-Virus-Verdict"),
        )
    return found


def test_the_daemons_verdicts_reach_the_receipt_and_the_headers(
    inbound_factory, spamd: Path, clamd: Path
) -> None:
    server = inbound_factory(
        SCANNING_RULES, scanning=ScanningSettings(spamd=spamd, clamd=clamd, timeout=30)
    )
    flagged = _attachment(VIRUS_MARKER).replace(b"see attached", SPAM_PHRASE.encode())
    assert _verdicts(server, flagged) == {
        "scan": ("FAIL", "FAIL", "FAIL", "FAIL"),
        "plain": ("DISABLED", None, "DISABLED", None),
    }
    assert _verdicts(server, HAM)["scan"] == ("PASS", "PASS", "PASS", "PASS")


def test_a_silent_daemon_does_not_hold_the_message(inbound_factory, silent: Address) -> None:
    server = inbound_factory(
        SCANNING_RULES, scanning=ScanningSettings(spamd=silent, clamd=silent, timeout=0.5)
    )
    started = time.monotonic()
    found = _verdicts(server, HAM)
    assert found["scan"] == ("PROCESSING_FAILED",) * 2 * 2
    assert time.monotonic() - started < 5


def _answering(reply: bytes, asked: list[int]) -> contextlib.AbstractContextManager[Address]:
    """A daemon that reads each request to its end, counts it in `asked` and says `reply`."""

    def answer(client: socket.socket) -> None:
        with client:
            client.settimeout(10)
            while client.recv(65536):  # the client half-closes after its request
                pass
            asked.append(1)
            client.sendall(reply)

    return _tcp_server(answer)


@pytest.fixture
def counting() -> Iterator[tuple[Address, list[int]]]:
    """A spamd that says "not spam" to everything and counts the messages it was asked about."""
    asked: list[int] = []
    with _answering(b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\n", asked) as address:
        yield address, asked


@pytest.mark.parametrize(
    ("kind", "reply"),
    [
        (Spamd, b"SPAMD/1.0 76 Bad header line: (Content-length mismatch)\r\n"),
        (Spamd, b"SPAMD/1.1 0 EX_OK\r\n\r\n"),  # no Spam header
        (Clamd, b"INSTREAM size limit exceeded. ERROR\0"),
        (Clamd, b"stream: Can't allocate memory ERROR\0"),
        (Clamd, b""),
    ],
    ids=["spamd-status", "spamd-no-verdict", "clamd-size", "clamd-error", "clamd-nothing"],
)
def test_a_daemon_that_answers_an_error_gives_processing_failed(
    kind: type[Spamd] | type[Clamd], reply: bytes
) -> None:
    asked: list[int] = []
    with _answering(reply, asked) as address:
        status, _ = _timed(ScanChain(GTUBE_SCANNER, kind(address, 1000), timeout=5), HAM)
    assert (status, asked) == (Status.PROCESSING_FAILED, [1])


def test_a_message_is_scanned_once_and_only_when_a_matching_rule_scans(
    inbound_factory, counting: tuple[Address, list[int]]
) -> None:
    address, asked = counting
    server = inbound_factory(
        rules(
            rule("a", sns(), ScanEnabled=True, recipients=["user@example.com"]),
            rule("b", sns(), ScanEnabled=True, recipients=["user@example.com"]),
            rule("c", sns(), recipients=["plain@example.com"]),
        ),
        scanning=ScanningSettings(spamd=address, timeout=10),
    )
    server.send("s@sender.test", ["user@example.com"], HAM)
    [first] = server.messages()
    assert len(asked) == 1
    [row] = [t for t in server.trace(first["messageId"]) if t["kind"] == "verdicts"]
    assert row["detail"]["spamVerdict"] == {"status": "PASS"} and row["detail"]["forced"] == {}
    server.send("s@sender.test", ["plain@example.com"], HAM)
    assert len(server.messages()) == 2 and len(asked) == 1
    plain = [n for n in server.notifications() if n["message"]["receipt"]["recipients"] == [
        "plain@example.com"]]  # fmt: skip
    assert plain[0]["message"]["receipt"]["spamVerdict"] == {"status": "DISABLED"}
