"""`inbound` command line: serve | init | replay | rules validate/export/apply | s3 get | dsn |
smtp-password."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from inbound import config, logs
from inbound.cli import defaults, dsn, replay, rules, s3, serve, smtp_password
from inbound.errors import ConfigError

DISTRIBUTION = "inbound-ses"  # the name on the package index (`inbound` there is another's)


class _Version(argparse.Action):
    """`--version`: the installed distribution's version, looked up only when asked (a serving
    process would keep importlib.metadata's ~1 MB for nothing)."""

    def __init__(self, option_strings: list[str], dest: str, **_: Any) -> None:
        help = "show program's version number and exit"  # argparse's own "version" action's
        super().__init__(option_strings, argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib import metadata

        print(f"{parser.prog} {metadata.version(DISTRIBUTION)}")
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="inbound", description=__doc__)
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", required=True)
    serve.add_arguments(
        commands.add_parser("serve", help="run the SMTP and HTTP servers"), _config_option
    )
    defaults.add_arguments(
        commands.add_parser("init", help="write the default config files for editing")
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
    if args.command == "init":
        return defaults.run(args)
    run = {
        "serve": serve.run,
        "replay": replay.run,
        "rules": rules.run,
        "s3": s3.run,
        "smtp-password": smtp_password.run,
    }[args.command]
    args.config = defaults.find_config(args.config, os.environ)
    try:
        settings = config.load(args.config, os.environ)
        logs.setup(
            verbose=getattr(args, "verbose", False),
            form=getattr(args, "log_format", None) or settings.log_format,
        )
        return run(settings, args)
    except ConfigError as exc:
        print(f"inbound: configuration error: {exc}", file=sys.stderr)
        return 2


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        help="inbound.toml (default: $INBOUND_CONFIG, ./inbound.toml, ./config/inbound.toml, "
        "else the one shipped in the package)",
    )
