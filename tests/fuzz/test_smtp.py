"""Fuzz the SMTP dialogue of a running server: a hypothesis state machine speaking over real
sockets, with commands from SMTP's grammar filled with hostile arguments (paths, parameters,
names with control characters, over-long lines), messages from the MIME target's generator,
STARTTLS, and random lines, in any order, over one or more connections.

After every reply: it is a well-formed SMTP reply (each line `ddd` + `-`/space, one code), and
never aiosmtpd's exception reply (`500 Error: (SomeError) ...`); the server's log has no
traceback. At the end of every case: a fresh connection is still greeted and served a whole
transaction, and every message answered `250 Ok <id>` is stored and processed
(tests/receiving/test_malformed_smtp.py's `assert_survived`).
"""

from __future__ import annotations

import re
import ssl

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from inbound.testing import RunningInbound
from tests.api.strategies import HOSTILE
from tests.fuzz import budget
from tests.fuzz.test_mime import messages
from tests.receiving.test_malformed_smtp import QUEUED, Raw, assert_survived

TARGET = "smtp"
_REPLY_LINE = re.compile(rb"^([2-5][0-9][0-9])([ -])")
_EXCEPTION_REPLY = re.compile(rb"^500 Error: \(\w+\)")
_CONTROL = st.sampled_from(["\r", "\x00", "\x7f", "\x1b", "\t", "\x0b", "\u2028", "\x85"])
_WORD = st.sampled_from([*HOSTILE, "example.com", "ü.example", "[192.0.2.1]", "a" * 300]) | st.text(
    st.characters(exclude_characters="\n"), max_size=30
)
_ADDRESSES = st.sampled_from(
    [
        "someone@example.com",
        "a+label@example.com",
        "Someone@EXAMPLE.COM",
        "nobody@unverified.test",
        "0@",
        "@",
        "a@",
        "<a@b@c>",
        '"quoted local"@example.com',
        '"a\\"b"@example.com',
        "jörg@example.com",
        "@relay.test:someone@example.com",
        "",
    ]
)
_PATH = st.one_of(
    _ADDRESSES.map(lambda a: f"<{a}>"),
    _ADDRESSES,
    st.tuples(_ADDRESSES, _CONTROL).map(lambda t: f"<{t[0][:2]}{t[1]}{t[0][2:]}>"),
    _WORD,
)
_PARAMS = st.lists(
    st.sampled_from(
        [
            "SIZE=100",
            "SIZE=999999999999",
            "SIZE=x",
            "BODY=8BITMIME",
            "BODY=BINARYMIME",
            "SMTPUTF8",
            "NOTIFY=FAILURE",
            "ORCPT=rfc822;a@b",
            "RET=HDRS",
            "ENVID=x",
            "AUTH=<>",
            "X=\x00",
            "=",
        ]
    )
    | _WORD,
    max_size=3,
).map(" ".join)
_VERBS = st.sampled_from(
    [
        "EHLO",
        "HELO",
        "MAIL FROM:",
        "RCPT TO:",
        "DATA",
        "RSET",
        "NOOP",
        "VRFY",
        "EXPN",
        "HELP",
        "BDAT",
        "AUTH",
        "TURN",
        "ehlo",
        "mail from:",
        "MAIL",
        "RCPT",
        "QUIT",
        "STARTTLS",
    ]
)


def _check(reply: bytes) -> bytes:
    for line in reply.split(b"\r\n"):
        if _EXCEPTION_REPLY.match(line) or not _REPLY_LINE.match(line):
            raise budget.server_error(TARGET, f"reply {reply!r}")
    codes = {line[:3] for line in reply.split(b"\r\n")}
    assert len(codes) == 1, reply
    return reply


class Session(RuleBasedStateMachine):
    """One case: any commands over connections to the server under test (`SERVER`)."""

    SERVER: RunningInbound

    def __init__(self) -> None:
        super().__init__()
        budget.case(TARGET)
        self.accepted: list[str] = []
        self.raw: Raw | None = None

    def _connection(self) -> Raw:
        if self.raw is None:
            self.raw = Raw(self.SERVER)
            assert _check(self.raw.greeting)[:3] == b"220", self.raw.greeting
        return self.raw

    def _command(self, line: bytes) -> bytes | None:
        """The reply to `line`, or None when the server closed the connection (QUIT, 421).
        An LF would end the command there and make two, so arguments never carry one."""
        line = line.replace(b"\n", b"")
        raw = self._connection()
        try:
            reply = _check(raw.command(line))
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError):
            self._drop()
            return None
        if reply[:3] in (b"221", b"421"):
            self._drop()
        return reply

    def _drop(self) -> None:
        if self.raw is not None:
            self.raw.close()
            self.raw = None

    @rule(
        verb=st.sampled_from(["EHLO", "HELO"]), name=_WORD | st.tuples(_WORD, _CONTROL).map("".join)
    )
    def hello(self, verb: str, name: str) -> None:
        self._command(f"{verb} {name}".encode("utf-8", "surrogatepass"))

    @rule(path=_PATH, params=_PARAMS)
    def mail(self, path: str, params: str) -> None:
        self._command(f"MAIL FROM:{path} {params}".rstrip().encode("utf-8", "surrogatepass"))

    @rule(path=_PATH | st.just("<someone@example.com>"), params=_PARAMS)
    def rcpt(self, path: str, params: str) -> None:
        self._command(f"RCPT TO:{path} {params}".rstrip().encode("utf-8", "surrogatepass"))

    @rule(content=messages(), stuffed=st.booleans())
    def data(self, content: bytes, stuffed: bool) -> None:
        self._data(content, stuffed)

    def _data(self, content: bytes, stuffed: bool) -> None:
        reply = self._command(b"DATA")
        if reply is None or reply[:3] != b"354":
            return
        if stuffed:  # dot-stuffed as a client must; otherwise a line "." may end it early
            content = content.replace(b"\n.", b"\n..")
            content = b"." + content if content.startswith(b".") else content
        else:  # unstuffed, but never a line "." that would leave the rest to be commands
            while content.startswith(b".\r\n") or b"\r\n.\r\n" in content:
                content = content.removeprefix(b".\r\n").replace(b"\r\n.\r\n", b"\r\n")
        if not content.endswith(b"\r\n"):
            content += b"\r\n"
        assert self.raw is not None
        self.raw.send(content + b".\r\n")
        try:
            verdict = _check(self.raw.reply())
        except (ConnectionError, TimeoutError, OSError):
            self._drop()
            return
        queued = QUEUED.match(verdict)
        if queued:
            self.accepted.append(queued.group(1).decode())

    @rule(content=messages(), rcpt=_ADDRESSES)
    def transaction(self, content: bytes, rcpt: str) -> None:
        """A well-formed transaction around a generated message, wherever the session is."""
        for line in ("EHLO fuzz.test", "MAIL FROM:<fuzz@sender.test>", f"RCPT TO:<{rcpt}>"):
            if self._command(line.encode()) is None:
                return
        self._data(content, stuffed=True)

    @rule(verb=_VERBS, argument=_WORD)
    def other(self, verb: str, argument: str) -> None:
        if verb.upper() in ("DATA", "BDAT"):
            argument = ""  # DATA has its own rule; BDAT is not offered
        self._command(f"{verb} {argument}".rstrip().encode("utf-8", "surrogatepass"))

    @rule(line=st.binary(max_size=300).filter(lambda b: b"\n" not in b) | st.just(b"x" * 5000))
    def garbage(self, line: bytes) -> None:
        self._command(line)

    @rule()
    def starttls(self) -> None:
        reply = self._command(b"STARTTLS")
        if reply is None or reply[:3] != b"220":
            return
        assert self.raw is not None
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        try:
            self.raw.sock = context.wrap_socket(self.raw.sock)
        except (ssl.SSLError, OSError):
            self._drop()

    @rule()
    def reconnect(self) -> None:
        self._drop()
        self._connection()

    @invariant()
    def no_traceback(self) -> None:
        crashed = LOGGED.take() if LOGGED is not None else []
        if crashed:
            raise budget.server_error(TARGET, f"traceback in the log: {crashed}")

    def teardown(self) -> None:
        if self.raw is not None:
            self._command(b"QUIT")
            self._drop()
        assert_survived(self.SERVER, self.accepted)
        budget.STORED[TARGET] += len(self.accepted)


LOGGED: budget.Tracebacks | None = None


@pytest.fixture
def smtp_server(fuzzed: RunningInbound) -> RunningInbound:
    return fuzzed


def test_any_smtp_dialogue_keeps_the_server_whole(smtp_server: RunningInbound) -> None:
    global LOGGED
    Session.SERVER = smtp_server
    with budget.tracebacks() as LOGGED:
        run_state_machine_as_test(Session, settings=budget.examples(ci=12, deep=2_000))
    LOGGED = None
