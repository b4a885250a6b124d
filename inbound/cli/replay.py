"""`inbound replay FILE.eml`: run a message file through the rules, as if received over SMTP.

Prints each recipient's reply, the message id and its trace as JSON; `--dry-run` performs no
side effects (a throwaway data dir, backends that only record what they would have done) and
evaluates the rules the server really uses: the active state of a running server (`--http`) or
of the data dir, as `inbound rules export` prints it. Without `--dry-run` the message is
received into the data dir, which is refused while a server runs on it (`store.claim`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from inbound.app import InboundServer
from inbound.backends.dry import DryRun
from inbound.cli import rules
from inbound.config import Settings
from inbound.errors import ConfigError
from inbound.store.claim import running_server


def add_arguments(
    parser: argparse.ArgumentParser, config_option: Callable[[argparse.ArgumentParser], None]
) -> None:
    config_option(parser)
    parser.add_argument("file", type=Path, metavar="FILE.eml")
    parser.add_argument("--mail-from", required=True, metavar="ADDR")
    parser.add_argument("--rcpt", required=True, action="append", metavar="ADDR")
    parser.add_argument("--ip", default="127.0.0.1", help="client IP seen by the IP filters")
    parser.add_argument("--helo", default="localhost")
    parser.add_argument("--tls", action="store_true", help="as if sent over STARTTLS")
    parser.add_argument("--dry-run", action="store_true", help="perform no side effects")
    rules.data_options(parser)


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        raw = args.file.read_bytes()
    except OSError as exc:
        raise ConfigError(args.file, "-", f"cannot read the message: {exc.strerror}") from None
    if args.data:
        settings = settings.clone(data_dir=args.data)
    dry = DryRun() if args.dry_run else None
    with contextlib.ExitStack() as stack:
        if dry is not None:
            settings = settings.clone(
                state=rules.in_use(settings, args.http),
                data_dir=Path(stack.enter_context(tempfile.TemporaryDirectory())),
            )
        elif args.http or (running := running_server(settings.data_dir)) is not None:
            raise ConfigError(
                settings.data_dir,
                "-",
                f"a server is running on it ({args.http or running}): replay --dry-run, or "
                "send the message to it over SMTP",
            )
        report = asyncio.run(_replay(settings, args, raw, dry))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if report.get("messageId") else 1


async def _replay(
    settings: Settings, args: argparse.Namespace, raw: bytes, dry: DryRun | None
) -> dict[str, object]:
    server = InboundServer(
        settings, backends=(lambda *_: dry.backends()) if dry is not None else None
    )
    await server.start(listen=False)
    try:
        engine = server.engine
        assert engine is not None
        replies = {r: str(await engine.check_rcpt(args.ip, r, args.tls)) for r in args.rcpt}
        accepted = [r for r, reply in replies.items() if reply.startswith("250")]
        report: dict[str, object] = {"rcpt": replies}
        if not accepted:
            return report
        message_id = await engine.accept(
            mail_from=args.mail_from,
            recipients=accepted,
            raw=raw,
            client_ip=args.ip,
            helo=args.helo,
            tls=args.tls,
        )
        await engine.drain()
        report["messageId"] = message_id
        report["trace"] = [r.to_json() for r in server.store.trace(message_id)]
        if dry is not None:
            report["sideEffects"] = "none (dry run)"
            report["wouldHave"] = dry.calls
        return report
    finally:
        await server.stop()
