"""Who asked for a send, as SES's events and notifications name it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """Who asked for the send: the events' and notifications' `mail.sourceIp` (`ses:source-ip`)
    and `mail.callerIdentity` (`ses:caller-identity`), recorded with the message so that events
    published after a restart still name them (docs/behaviour.md, "The caller")."""

    source_ip: str  # the client's IP address: the HTTP request's or the SMTP session's peer
    identity: str  # the access key id that signed (SigV4) or authenticated (SMTP), else "root"


# The account itself ("root": SES's callerIdentity for the account's own credentials) from the
# loopback address: an unsigned request's identity, and the origin of messages stored before
# origins were recorded.
LOCAL = Origin("127.0.0.1", "root")
