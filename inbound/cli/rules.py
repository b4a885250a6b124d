"""`inbound rules validate [FILE]`, `inbound rules export` and `inbound rules apply FILE`.

All three work on what the server uses: a running server's rules through its JSON API
(`--http ADDRESS`: GET and PUT /api/rules), else the rules saved in the data dir (changed
through the API), or the configured rules.json when the data dir has none. Files are validated
by the API's own validation (`codec.parse_rules`: names, limits, ARNs and their Region, bucket
names), all-or-nothing. `apply` without `--http` writes into the data dir only when no server
is running on it (`store.claim`): a running server would never see the change, so it is
refused, naming the server's address to pass as `--http`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from inbound.store import make_store
from inbound.store.claim import running_server


def add_arguments(
    parser: argparse.ArgumentParser, config_option: Callable[[argparse.ArgumentParser], None]
) -> None:
    commands = parser.add_subparsers(dest="rules_command", required=True)
    validate = commands.add_parser("validate", help="validate config and rules (or FILE)")
    validate.add_argument("file", type=Path, metavar="FILE", nargs="?")
    config_option(validate)
    export = commands.add_parser("export", help="print the rules in use, as rules.json")
    apply = commands.add_parser("apply", help="load a rules.json (all-or-nothing)")
    apply.add_argument("file", type=Path, metavar="FILE")
    for sub in (export, apply):
        config_option(sub)
        data_options(sub)


def data_options(parser: argparse.ArgumentParser) -> None:
    """Where the rules in use are: a running server or a data dir (also `inbound replay`)."""
    parser.add_argument("--data", metavar="DIR", type=Path, help="data directory (.inbound)")
    parser.add_argument(
        "--http", metavar="ADDRESS", help="a running server's HTTP address (host:port or URL)"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.rules_command == "validate":
        check_executors(settings, REGISTRY)
        if args.file is not None:
            read(settings, args.file)
        print(f"{args.file or args.config}: OK")
        return 0
    if args.data:
        settings = settings.clone(data_dir=args.data)
    if args.rules_command == "apply":
        print(f"{args.file}: {apply(settings, args.file, args.http)}")
        return 0
    print(json.dumps(export(settings, args.http), indent=2))
    return 0


def in_use(settings: Settings, http: str | None) -> ReceiptState:
    """The receipt state the server uses (see the module docstring), validated."""
    data = export(settings, http)
    try:
        return codec.parse_rules(data, settings.state.verified, settings.region)
    except SesError as exc:
        raise codec.config_error(_url(http) if http else settings.data_dir, exc) from None


def export(settings: Settings, http: str | None) -> dict[str, Any]:
    if http:
        return _request(settings, _url(http), None)
    store = make_store(settings.data_dir, settings.store.url)
    if not store.exists():
        return codec.rules_to_json(settings.state)
    store.open(read_only=True)
    try:
        saved = state.read_saved(store, settings.state, settings.region)
    finally:
        store.close()
    return codec.rules_to_json(saved or settings.state)


def read(settings: Settings, path: Path) -> ReceiptState:
    """A rules file, validated as the API validates (raises ConfigError naming where)."""
    new = codec.load_rules(path, settings.state.verified, settings.region)
    config.check_targets(settings.clone(state=new), path)
    return new


def apply(settings: Settings, path: Path, http: str | None) -> str:
    """Returns where the rules went; raises ConfigError when SES would reject them."""
    new = read(settings, path)
    if http:
        _request(settings, _url(http), path.read_bytes())
        return f"applied to the running server at {http}"
    running = running_server(settings.data_dir)
    if running is not None:
        raise ConfigError(
            settings.data_dir,
            "-",
            f"a server is running on this data dir; apply through it: --http {running}",
        )
    asyncio.run(_save(settings, new))
    return f"saved in {settings.data_dir}; used at the next start"


def _url(http: str) -> str:
    base = http if "://" in http else f"http://{http}"
    return f"{base.rstrip('/')}/api/rules"


def _request(settings: Settings, url: str, body: bytes | None) -> dict[str, Any]:
    """GET (no body) or PUT /api/rules, with the configured `[api] token` when there is one;
    its refusals and an unreachable server are ConfigErrors (exit 2)."""
    token = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
    method = "GET" if body is None else "PUT"
    request = urllib.request.Request(url, data=body, method=method, headers=token)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        with contextlib.suppress(json.JSONDecodeError, AttributeError):
            text = json.loads(text).get("error", text)
        raise ConfigError(url, "-", f"{exc.code}: {text}") from None
    except OSError as exc:
        raise ConfigError(url, "-", f"no server answers: {exc}") from None


async def _save(settings: Settings, new: ReceiptState) -> None:
    store = make_store(settings.data_dir, settings.store.url)
    store.open()
    try:
        await state.save(store, state.seed(settings.state), new)
    finally:
        store.close()
