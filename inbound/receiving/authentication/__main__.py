"""The child process of offload.py: `python -m inbound.receiving.authentication`, started by
the server. It reads a zone's records, then messages, and answers each with its verdicts, one
at a time, until its input ends."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

from inbound.dns.zone import Zone, ZoneSource
from inbound.frames import Unframer, frame
from inbound.receiving.authentication import DnsAuthenticator
from inbound.receiving.authentication.offload import MAX_FRAME
from inbound.receiving.verdicts import AuthResult


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the server stops the child itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr, not into the frames
    requests = _frames(sys.stdin.fileno())
    records = next(requests, None)
    if records is None:  # the server stopped before it sent the zone
        return
    authenticator = DnsAuthenticator(ZoneSource(Zone(MappingProxyType(records))))
    for ident, message in requests:
        try:
            result: AuthResult | None = authenticator.evaluate(message)
        except Exception:
            logging.exception("evaluating a message failed")
            result = None
        out.write(frame((ident, result)))
        out.flush()


def _frames(fd: int) -> Iterator[Any]:
    """What the server sends, frame by frame, until its input ends."""
    frames = Unframer(MAX_FRAME)
    while (found := frames.read(fd)) is not None:
        yield from found


if __name__ == "__main__":
    logging.basicConfig(format="inbound authentication: %(message)s")
    main()
