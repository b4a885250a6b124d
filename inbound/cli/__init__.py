"""`inbound` command line: serve | replay | rules validate/export/apply | s3 get | dsn |
smtp-password."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from inbound import config
from inbound.cli import dsn, replay, rules, s3, serve, smtp_password
from inbound.errors import ConfigError

DEFAULT_CONFIG = Path("config/inbound.toml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="inbound", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve.add_arguments(
        commands.add_parser("serve", help="run the SMTP and HTTP servers"), _config_option
    )
    replay.add_arguments(
        commands.add_parser("replay", help="run a message file through the rules"),
        _config_option,
    )
    rules.add_arguments(
        commands.add_parser("rules", help="check, print or load the receipt rules"),
        _config_option,
    )
    s3.add_arguments(
        commands.add_parser("s3", help="read objects from the configured S3 backend"),
        _config_option,
    )
    dsn.add_arguments(
        commands.add_parser("dsn", help="write a DSN for a message file (no config needed)")
    )
    smtp_password.add_arguments(
        commands.add_parser("smtp-password", help="print the SMTP interface's credentials"),
        _config_option,
    )

    args = parser.parse_args(argv)
    if args.command == "dsn":
        return dsn.run(args)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    run = {
        "serve": serve.run,
        "replay": replay.run,
        "rules": rules.run,
        "s3": s3.run,
        "smtp-password": smtp_password.run,
    }[args.command]
    try:
        return run(config.load(args.config), args)
    except ConfigError as exc:
        print(f"inbound: configuration error: {exc}", file=sys.stderr)
        return 2


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help=f"inbound.toml ({DEFAULT_CONFIG})"
    )
