"""`inbound serve`: run the SMTP and HTTP servers until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from inbound import eventloop, logs
from inbound.app import InboundServer
from inbound.cli.startup import Bound, announce, freeze_start_up, overrides
from inbound.config import Settings
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
        "--workers",
        metavar="N",
        type=int,
        help="engine processes serving the same ports ([server] workers, 1)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every decision and HTTP request"
    )
    parser.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        help="text lines or JSON objects ([server] log_format)",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    settings = overrides(settings, args)
    if settings.workers > 1:  # a supervisor of worker processes (docs/workers.md)
        from inbound.cli import workers

        return workers.supervise(settings, args)
    return eventloop.run(_serve(settings, args.config))


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
    announce(settings, config, Bound.of(server))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    freeze_start_up()
    await stop.wait()
    print("inbound: stopping", flush=True)
    await server.stop()
    return 0
