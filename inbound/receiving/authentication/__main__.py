"""The child process of offload.py: `python -m inbound.receiving.authentication`, started by
the server. It reads a zone's records, then messages, and answers each with its verdicts, one
at a time, until its input ends."""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import MappingProxyType

from inbound.dns.zone import Zone, ZoneSource
from inbound.frames import frame, read_frame
from inbound.receiving.authentication import DnsAuthenticator
from inbound.receiving.authentication.offload import MAX_FRAME
from inbound.receiving.verdicts import AuthResult


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the server stops the child itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr, not into the frames
    source = sys.stdin.buffer
    authenticator = DnsAuthenticator(
        ZoneSource(Zone(MappingProxyType(read_frame(source, MAX_FRAME))))
    )
    while (request := read_frame(source, MAX_FRAME)) is not None:
        ident, message = request
        try:
            result: AuthResult | None = authenticator.evaluate(message)
        except Exception:
            logging.exception("evaluating a message failed")
            result = None
        out.write(frame((ident, result)))
        out.flush()


if __name__ == "__main__":
    logging.basicConfig(format="inbound authentication: %(message)s")
    main()
