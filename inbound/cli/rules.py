"""`inbound rules validate`, `inbound rules export` and `inbound rules apply FILE`.

Both work on what the server uses: the rules saved in the data dir (changed through the API),
or the configured rules.json when the data dir has none. `apply` validates the file as the API
would (all-or-nothing); if a server is listening on the configured HTTP address it is applied
there at once (`PUT /api/rules`), otherwise it is saved in the data dir for the next start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inbound import config
from inbound.actions.registry import REGISTRY
from inbound.app import check_executors
from inbound.config import Settings
from inbound.errors import ConfigError, SesError
from inbound.model import ReceiptState
from inbound.receiving import keeper as state
from inbound.rules import codec
from inbound.store import Store


def add_arguments(
    parser: argparse.ArgumentParser, config_option: Callable[[argparse.ArgumentParser], None]
) -> None:
    commands = parser.add_subparsers(dest="rules_command", required=True)
    config_option(commands.add_parser("validate", help="validate config and rules"))
    export = commands.add_parser("export", help="print the rules in use, as rules.json")
    apply = commands.add_parser("apply", help="load a rules.json (all-or-nothing)")
    apply.add_argument("file", type=Path, metavar="FILE")
    for sub in (export, apply):
        config_option(sub)
        sub.add_argument("--data", metavar="DIR", type=Path, help="data directory (.inbound)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.rules_command == "validate":
        check_executors(settings, REGISTRY)
        print(f"{args.config}: OK")
        return 0
    if args.data:
        settings = settings.clone(data_dir=args.data)
    if args.rules_command == "apply":
        print(f"{args.file}: {apply(settings, args.file)}")
        return 0
    print(json.dumps(export(settings), indent=2))
    return 0


def export(settings: Settings) -> dict[str, Any]:
    store = Store(settings.data_dir)
    if not store.exists():
        return codec.rules_to_json(settings.state)
    store.open()
    try:
        saved = state.read_saved(store, settings.state)
    finally:
        store.close()
    return codec.rules_to_json(saved or settings.state)


def apply(settings: Settings, path: Path) -> str:
    """Returns where the rules went; raises ConfigError when SES would reject them."""
    try:
        new = codec.parse_rules(
            json.loads(path.read_text(encoding="utf-8")), settings.state.verified
        )
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(path, "-", str(exc)) from None
    except SesError as exc:
        raise codec.config_error(path, exc) from None
    config.check_targets(settings.clone(state=new), path)
    url = f"http://{settings.http}/api/rules"
    try:
        request = urllib.request.Request(url, data=path.read_bytes(), method="PUT")
        with urllib.request.urlopen(request, timeout=10):
            return f"applied to the running server at {settings.http}"
    except urllib.error.HTTPError as exc:
        raise ConfigError(path, "-", json.loads(exc.read()).get("error", str(exc))) from None
    except OSError:
        pass  # no server listening: save for the next start
    asyncio.run(_save(settings, new))
    return f"saved in {settings.data_dir}; used at the next start"


async def _save(settings: Settings, new: ReceiptState) -> None:
    store = Store(settings.data_dir)
    store.open()
    try:
        await state.save(store, settings.state, new)
    finally:
        store.close()
