"""`inbound serve`: run the SMTP and HTTP servers until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from inbound import logs
from inbound.app import InboundServer
from inbound.config import Address, Key, SendingSettings, Settings
from inbound.store import StorageError


def add_arguments(
    parser: argparse.ArgumentParser, config_option: Callable[[argparse.ArgumentParser], None]
) -> None:
    config_option(parser)
    parser.add_argument("--smtp", metavar="HOST:PORT", help="SMTP address (127.0.0.1:2525)")
    parser.add_argument("--http", metavar="HOST:PORT", help="HTTP address (127.0.0.1:4525)")
    parser.add_argument(
        "--submission",
        metavar="HOST:PORT",
        help='the SMTP interface\'s STARTTLS address (127.0.0.1:2587; "" for off)',
    )
    parser.add_argument("--data", metavar="DIR", type=Path, help="data directory (.inbound)")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every decision and HTTP request"
    )
    parser.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        help="text lines or JSON objects ([server] log_format)",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_serve(_overrides(settings, args), args.config))


def _overrides(settings: Settings, args: argparse.Namespace) -> Settings:
    changes: dict[str, object] = {}
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


async def _serve(settings: Settings, config: Path) -> int:
    server = InboundServer(settings)
    try:
        await server.start()
    except StorageError as exc:  # e.g. a read-only data dir: nothing could be stored
        print(f"inbound: cannot write to the data dir {settings.data_dir}: {exc}", file=sys.stderr)
        await server.stop()
        return 2
    except OSError as exc:  # the address is taken, or does not exist here
        print(
            f"inbound: cannot listen on SMTP {settings.smtp} / HTTP {settings.http} / "
            f"the SMTP interface: {exc}",
            file=sys.stderr,
        )
        await server.stop()
        return 2
    host, port = server.smtp_address
    print(f"inbound: config {config}, data in {settings.data_dir}")
    domain = next((v for v in sorted(settings.state.verified) if "@" not in v), "example.com")
    print(f"inbound: SMTP on {host}:{port} ({settings.smtp_hostname})", flush=True)
    url = server.http_url
    print(f"inbound: HTTP on {url} (web UI at {url}/, JSON API at {url}/api/messages)")
    for kind, bound in (
        ("STARTTLS", server.submission_address),
        ("TLS", server.submission_tls_address),
    ):
        if bound is not None:
            print(f"inbound: SES SMTP interface ({kind}) on {bound[0]}:{bound[1]}")
    print(
        "inbound: try  python3 -c \"import smtplib; smtplib.SMTP('"
        f"{host}', {port}).sendmail('me@sender.test', ['hello@{domain}'], "
        "'Subject: hi\\n\\nhello')\"",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    print("inbound: stopping", flush=True)
    await server.stop()
    return 0
