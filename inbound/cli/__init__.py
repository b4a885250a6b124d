"""`inbound` command line: serve | replay | rules validate/export/apply | s3 get | dsn."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import tempfile
from pathlib import Path

from inbound import config
from inbound.actions.registry import REGISTRY
from inbound.app import InboundServer, check_executors
from inbound.backends.dry import DryRun
from inbound.cli import dsn as dsn_command
from inbound.cli import rules as rules_command
from inbound.cli import s3 as s3_command
from inbound.config import Address, ConfigError, Settings

DEFAULT_CONFIG = Path("config/inbound.toml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="inbound", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the SMTP and HTTP servers")
    _config_option(serve)
    serve.add_argument("--smtp", metavar="HOST:PORT", help="SMTP address (127.0.0.1:2525)")
    serve.add_argument("--http", metavar="HOST:PORT", help="HTTP address (127.0.0.1:4525)")
    serve.add_argument("--data", metavar="DIR", type=Path, help="data directory (.inbound)")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every decision")

    replay = commands.add_parser("replay", help="run a message file through the rules")
    _config_option(replay)
    replay.add_argument("file", type=Path, metavar="FILE.eml")
    replay.add_argument("--mail-from", required=True, metavar="ADDR")
    replay.add_argument("--rcpt", required=True, action="append", metavar="ADDR")
    replay.add_argument("--ip", default="127.0.0.1", help="client IP seen by the IP filters")
    replay.add_argument("--helo", default="localhost")
    replay.add_argument("--tls", action="store_true", help="as if sent over STARTTLS")
    replay.add_argument("--dry-run", action="store_true", help="perform no side effects")
    replay.add_argument("--data", metavar="DIR", type=Path, help="data directory (.inbound)")

    rules = commands.add_parser("rules", help="check, print or load the receipt rules")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    _config_option(rules_commands.add_parser("validate", help="validate config and rules"))
    export = rules_commands.add_parser("export", help="print the rules in use, as rules.json")
    apply = rules_commands.add_parser("apply", help="load a rules.json (all-or-nothing)")
    apply.add_argument("file", type=Path, metavar="FILE")
    for sub in (export, apply):
        _config_option(sub)
        sub.add_argument("--data", metavar="DIR", type=Path, help="data directory (.inbound)")

    s3 = commands.add_parser("s3", help="read objects from the configured S3 backend")
    s3_command.add_arguments(s3, _config_option)

    dsn = commands.add_parser("dsn", help="write a DSN for a message file (no config needed)")
    dsn_command.add_arguments(dsn)

    args = parser.parse_args(argv)
    if args.command == "dsn":
        return dsn_command.run(args)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = config.load(args.config)
        if args.command == "serve":
            return _serve(_overrides(settings, args))
        if args.command == "replay":
            return _replay(settings, args)
        if args.command == "s3":
            return s3_command.run(settings, args)
        if args.rules_command == "validate":
            check_executors(settings, REGISTRY)
            print(f"{args.config}: OK")
            return 0
        if args.data:
            settings = settings.clone(data_dir=args.data)
        if args.rules_command == "apply":
            print(f"{args.file}: {rules_command.apply(settings, args.file)}")
            return 0
        print(json.dumps(rules_command.export(settings), indent=2))
        return 0
    except ConfigError as exc:
        print(f"inbound: configuration error: {exc}", file=sys.stderr)
        return 2


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help=f"inbound.toml ({DEFAULT_CONFIG})"
    )


def _overrides(settings: Settings, args: argparse.Namespace) -> Settings:
    changes: dict[str, object] = {}
    if args.smtp:
        changes["smtp"] = Address.parse(args.smtp, key="--smtp")
    if args.http:
        changes["http"] = Address.parse(args.http, key="--http")
    if args.data:
        changes["data_dir"] = args.data
    return settings.clone(**changes)


def _serve(settings: Settings) -> int:
    async def run() -> int:
        server = InboundServer(settings)
        try:
            await server.start()
        except OSError as exc:  # the address is taken, or does not exist here
            print(
                f"inbound: cannot listen on SMTP {settings.smtp} / HTTP {settings.http}: {exc}",
                file=sys.stderr,
            )
            await server.stop()
            return 2
        host, port = server.smtp_address
        domain = next((v for v in sorted(settings.state.verified) if "@" not in v), "example.com")
        print(f"inbound: SMTP on {host}:{port} ({settings.smtp_hostname})", flush=True)
        print(f"inbound: HTTP on {server.http_url} (JSON API at {server.http_url}/api/messages)")
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

    return asyncio.run(run())


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    raw = args.file.read_bytes()
    dry = DryRun() if args.dry_run else None
    with contextlib.ExitStack() as stack:
        if dry is not None:
            settings = settings.clone(
                data_dir=Path(stack.enter_context(tempfile.TemporaryDirectory()))
            )
        elif args.data:
            settings = settings.clone(data_dir=args.data)
        report = asyncio.run(_replay_run(settings, args, raw, dry))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if report.get("messageId") else 1


async def _replay_run(
    settings: Settings, args: argparse.Namespace, raw: bytes, dry: DryRun | None
) -> dict[str, object]:
    server = InboundServer(
        settings, backends=(lambda *_: dry.backends()) if dry is not None else None
    )
    await server.start(listen=False)
    try:
        engine = server.engine
        assert engine is not None
        replies = {r: str(engine.check_rcpt(args.ip, r, args.tls)) for r in args.rcpt}
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
