"""The MAIL/RCPT path parser's fast path gives aiosmtpd's answer for every argument.

`SesSMTP._getaddr` takes a plain `<local@domain>` as is and hands everything else to
aiosmtpd's parser (the email package's RFC 5322 grammar); both must agree exactly, or the
engine would accept, refuse or record an address differently from aiosmtpd. The one
deliberate difference: where aiosmtpd finds no address (it returns `(None, None)`, or its
parser raises IndexError, as for `0@`), `SesSMTP` raises `UnparsablePath`, which MAIL and RCPT
answer with their 501 syntax reply.
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Callable, Iterator
from functools import partial

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import example, given
from hypothesis import strategies as st

from inbound.config import LimitSettings
from inbound.receiving.connections import Connections
from inbound.receiving.smtp import SesSMTP, UnparsablePath

ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
atoms = st.text(ATEXT, min_size=1, max_size=8)
labels = st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=6)
tails = st.sampled_from(
    ["", " SIZE=100", "  BODY=8BITMIME SIZE=1", "\tX=1", " ", "(c)", " (comment) SIZE=1", "x", ">"]
)
# Paths the fast path takes, or nearly: dot-atoms on both sides, then any tail.
plain_paths = st.builds(
    "<{}@{}>{}".format,
    st.lists(atoms, min_size=1, max_size=3).map(".".join),
    st.lists(labels, min_size=1, max_size=4).map(".".join),
    tails,
)
# Paths for aiosmtpd's parser: empty atoms, quoted strings, literals, odd labels, a lead.
odd_paths = st.builds(
    "{}<{}@{}>{}".format,
    st.sampled_from(["", " ", "("]),
    st.lists(st.one_of(atoms, st.just(""), st.just('"q u"')), min_size=1, max_size=3).map(".".join),
    st.one_of(
        st.lists(st.text("ab-_.", max_size=4), max_size=3).map(".".join), st.just("[1.2.3.4]")
    ),
    tails,
)


@pytest.fixture(scope="module")
def protocols() -> Iterator[tuple[SesSMTP, SesSMTP]]:
    """Two parsers: aiosmtpd's default local-part limit (none) and RFC 5321's 64 octets."""
    loop = asyncio.new_event_loop()
    make = partial(SesSMTP, None, loop=loop, limits=LimitSettings(), connections=Connections(1, 1))
    limited = make()
    limited.local_part_limit = 64
    try:
        yield make(), limited
    finally:
        loop.close()


@given(arg=st.one_of(plain_paths, odd_paths, st.text(max_size=40)))
@example(arg="<>")
@example(arg="0@")
@example(arg="<a@b.c> SIZE=10")
@example(arg="<a@b.c>\tSIZE=10")
@example(arg="<" + "x" * 65 + "@example.com>")
@example(arg="<a..b@example.com>")
@example(arg="<.a@example.com>")
@example(arg="<a@example.com.>")
@example(arg="<a@-example.com>")
def test_fast_path_agrees_with_aiosmtpd(protocols: tuple[SesSMTP, SesSMTP], arg: str) -> None:
    for protocol in protocols:
        ours = _outcome(protocol._getaddr, arg)
        theirs = _outcome(partial(SMTP._getaddr, protocol), arg)
        if theirs in {(None, None), IndexError}:
            assert ours is UnparsablePath
        else:
            assert ours == theirs


def _outcome(parse: Callable[[str], object], arg: str) -> object:
    """The parse result, or the type of what it raised (any exception but aiosmtpd's
    IndexError would show up here as a difference)."""
    try:
        return parse(arg)
    except Exception as exc:
        return type(exc)


def test_plain_paths_take_the_fast_path(
    protocols: tuple[SesSMTP, SesSMTP], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The common forms never reach the email package (the point of the fast path)."""
    monkeypatch.setattr(SMTP, "_getaddr", lambda self, arg: pytest.fail(f"slow path: {arg}"))
    plain, _ = protocols
    assert plain._getaddr("<u1+tag@mail.example.com> SIZE=10240") == (
        "u1+tag@mail.example.com",
        "SIZE=10240",
    )
    assert plain._getaddr("<first.last@example.com>") == ("first.last@example.com", "")
