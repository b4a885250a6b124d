"""`inbound smtp-password`: the SMTP credentials of the SMTP interface (docs/behaviour.md, "The
SMTP interface"), one line per access key, `<user name>\t<password>`.

The keys are those of `[api] credentials`, or the one given with `--access-key-id` and
`--secret-access-key`; the Region is the configured one unless `--region` says otherwise (SES
SMTP passwords are per Region, and the server takes only its own Region's).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from inbound.config import Settings
from inbound.sending.credentials import smtp_password


def add_arguments(
    parser: argparse.ArgumentParser, config_option: Callable[[argparse.ArgumentParser], None]
) -> None:
    config_option(parser)
    parser.add_argument("--region", help="AWS Region ([account] region)")
    parser.add_argument("--access-key-id", metavar="ID", help="a key instead of [api] credentials")
    parser.add_argument("--secret-access-key", metavar="SECRET", help="its secret access key")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if bool(args.access_key_id) != bool(args.secret_access_key):
        print("inbound: smtp-password: give --access-key-id and --secret-access-key together",
              file=sys.stderr)  # fmt: skip
        return 2
    keys = (
        {args.access_key_id: args.secret_access_key}
        if args.access_key_id
        else dict(settings.api_credentials)
    )
    if not keys:
        print(
            "inbound: smtp-password: no access keys in [api] credentials "
            "(or give --access-key-id and --secret-access-key)",
            file=sys.stderr,
        )
        return 1
    region = args.region or settings.region
    for key_id, secret in sorted(keys.items()):
        print(f"{key_id}\t{smtp_password(secret, region)}")
    return 0
