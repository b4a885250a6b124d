"""What `inbound serve` and its worker processes (cli/workers.py) share: the command line's
overrides of the settings, and the lines that say where the server listens."""

from __future__ import annotations

import argparse
import dataclasses
import gc
from dataclasses import dataclass
from pathlib import Path

from inbound.app import InboundServer
from inbound.config import Address, Key, SendingSettings, ServerSettings, Settings


def overrides(settings: Settings, args: argparse.Namespace) -> Settings:
    """`settings` with the command line's options (a worker process applies them too)."""
    changes: dict[str, object] = {}
    if args.workers is not None:
        parse = ServerSettings.keys()["workers"].metadata["parse"]
        changes["workers"] = parse(args.workers, Key(Path("<command line>"), "--workers"))
    if args.smtp:
        changes["smtp"] = Address.parse(args.smtp, key="--smtp")
    if args.http:
        changes["http"] = Address.parse(args.http, key="--http")
    if args.data:
        changes["data_dir"] = args.data
    if args.submission is not None:
        smtp = Address.parse(args.submission, key="--submission") if args.submission else None
        sending = dataclasses.replace(settings.sending, smtp=smtp)
        # the config's own cross-key check (plain AUTH only on loopback) holds for it too
        SendingSettings.check(vars(sending), Key(Path("<command line>"), "--submission"))
        changes["sending"] = sending
    return settings.clone(**changes)


@dataclass(frozen=True)
class Bound:
    """The addresses a server listens on, as its start-up lines tell them."""

    smtp: tuple[str, int]
    http_url: str
    submission: tuple[str, int] | None
    submission_tls: tuple[str, int] | None

    @classmethod
    def of(cls, server: InboundServer) -> Bound:
        return cls(
            server.smtp_address,
            server.http_url,
            server.submission_address,
            server.submission_tls_address,
        )


def announce(settings: Settings, config: Path, bound: Bound) -> None:
    host, port = bound.smtp
    print(f"inbound: config {config}, data in {settings.data_dir}")
    domain = next((v for v in sorted(settings.state.verified) if "@" not in v), "example.com")
    print(f"inbound: SMTP on {host}:{port} ({settings.smtp_hostname})", flush=True)
    url = bound.http_url
    print(f"inbound: HTTP on {url} (web UI at {url}/, JSON API at {url}/api/messages)")
    for kind, address in (("STARTTLS", bound.submission), ("TLS", bound.submission_tls)):
        if address is not None:
            print(f"inbound: SES SMTP interface ({kind}) on {address[0]}:{address[1]}")
    print(
        "inbound: try  python3 -c \"import smtplib; smtplib.SMTP('"
        f"{host}', {port}).sendmail('me@sender.test', ['hello@{domain}'], "
        "'Subject: hi\\n\\nhello')\"",
        flush=True,
    )


# The youngest generation's threshold from then on (CPython's default: 700). A collection
# walks the objects of the messages in flight, and the tracked objects allocated less those
# freed only drift as they come and go: at 700 that drift started one every 10-20 messages
# (24-118 us of the event loop per message, pauses of 0.4-6 ms), and found about 160 objects
# of garbage in cycles per 3,000 messages (docs/cpu.md, "Third round").
YOUNG_THRESHOLD = 20_000


def freeze_start_up() -> None:
    """Once a server listens: what start-up made lives as long as the process, so it is frozen
    out of the garbage collector's generations and a full collection no longer walks it
    (16-38 ms every few thousand received messages before; docs/cpu.md, "Pauses"); the
    youngest generation is collected at `YOUNG_THRESHOLD`."""
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    gc.collect()
    gc.freeze()
