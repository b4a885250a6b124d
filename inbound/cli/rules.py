"""`inbound rules export` and `inbound rules apply FILE`.

Both work on what the server uses: the rules saved in the data dir (changed through the API),
or the configured rules.json when the data dir has none. `apply` validates the file as the API
would (all-or-nothing); if a server is listening on the configured HTTP address it is applied
there at once (`PUT /api/rules`), otherwise it is saved in the data dir for the next start.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from inbound import config
from inbound.config import Settings
from inbound.errors import ConfigError, SesError
from inbound.model import ReceiptState
from inbound.receiving import keeper as state
from inbound.rules import codec
from inbound.store import Store


def export(settings: Settings) -> dict[str, Any]:
    store = Store(settings.data_dir)
    if not store.path.exists():
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
        raise ConfigError(path, getattr(exc, "path", exc.code), exc.message) from None
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
