"""`inbound s3 get BUCKET KEY [--decrypt]`: an object's bytes from the configured S3 backend.

With `--decrypt`, an object in SES's client-side KMS format (spec receiving.md §3.3) is
decrypted with the configured KMS (the data dir's local keys, or AWS KMS); other objects are
printed as they are. The bytes go to stdout (or `--output FILE`) unchanged. It only reads:
nothing is created in the data dir, not even on a missing one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from inbound.backends import BackendError, s3_encryption
from inbound.backends.factory import make_backends
from inbound.config import Settings
from inbound.store import make_store


def add_arguments(
    parser: argparse.ArgumentParser, config_option: Callable[[argparse.ArgumentParser], None]
) -> None:
    commands = parser.add_subparsers(dest="s3_command", required=True)
    get = commands.add_parser("get", help="print an object (decrypting SES's KMS format)")
    get.add_argument("bucket", metavar="BUCKET")
    get.add_argument("key", metavar="KEY")
    get.add_argument("--decrypt", action="store_true", help="decrypt SES-format KMS objects")
    get.add_argument("--output", "-o", type=Path, metavar="FILE", help="write here, not stdout")
    get.add_argument("--data", metavar="DIR", type=Path, help="data directory (.inbound)")
    config_option(get)


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.data:
        settings = settings.clone(data_dir=args.data)
    try:
        body = asyncio.run(fetch(settings, args.bucket, args.key, decrypt=args.decrypt))
    except (BackendError, s3_encryption.DecryptionError) as exc:
        print(f"inbound: s3 get: {exc}", file=sys.stderr)
        return 1
    if args.output:
        args.output.write_bytes(body)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    return 0


async def fetch(settings: Settings, bucket: str, key: str, *, decrypt: bool = False) -> bytes:
    store = make_store(settings.data_dir, settings.store.url)
    store.open(read_only=True)
    try:
        backends = make_backends(store, settings, f"http://{settings.http}")
        try:
            body, metadata = await backends.objects.get_object(bucket, key)
            if not decrypt or not s3_encryption.is_encrypted(metadata):
                return body
            return await s3_encryption.decrypt_with_kms(backends.kms, body, metadata)
        finally:
            await backends.close()
    finally:
        store.close()
