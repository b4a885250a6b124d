"""`[limits]`: what one client may hold or send on both SMTP listeners."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from inbound.config.section import Section, toml
from inbound.config.values import positive, seconds


@dataclass(frozen=True)
class LimitSettings(Section):
    """`[limits]`: what one client may hold or send on both SMTP listeners (the receiving port
    and the SMTP interface's), each listener counting its own connections (docs/behaviour.md,
    "Limits and timeouts").

    SES documents the replies, not the figures: `421 Too many concurrent SMTP connections` and
    `451 Timeout waiting for data from client` (DG, "Amazon SES SMTP issues"). The defaults
    are Postfix's, whose texts SES's receiving endpoint uses (spec receiving.md §11), and RFC
    5321's: `smtpd_timeout` 300 s (RFC 5321 §4.5.3.2.7: at least 5 minutes), 100 recipients
    (§4.5.3.1.8, spec §11's recommendation), 1,000-octet lines (§4.5.3.1.6), `hopcount_limit`
    50 `Received:` headers; connections: `smtpd_client_connection_count_limit` is 50 beside
    100 processes, raised here because every local client shares one loopback address. The
    listen backlog is the kernel's maximum (`SOMAXCONN`, which the kernel caps at
    `net.core.somaxconn`): with asyncio's 100, a burst of 1,000 connections lost some
    (docs/reliability.md).
    """

    max_connections: int = field(default=1000, metadata=toml(int, positive))
    max_connections_per_ip: int = field(default=100, metadata=toml(int, positive))
    command_timeout: float = field(default=300.0, metadata=toml((int, float), seconds))
    # the longest wait for more of the message between DATA's 354 and its final dot
    data_timeout: float = field(default=300.0, metadata=toml((int, float), seconds))
    max_recipients: int = field(default=100, metadata=toml(int, positive))
    # octets of a DATA line without its CRLF
    max_line_length: int = field(default=1000, metadata=toml(int, positive))
    max_received_headers: int = field(default=50, metadata=toml(int, positive))
    # connections the kernel queues before the server accepts them (listen(2)'s backlog)
    listen_backlog: int = field(default=socket.SOMAXCONN, metadata=toml(int, positive))
