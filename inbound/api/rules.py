"""Whole-state rules endpoints, for `inbound rules export/apply` against a running server.

GET /api/rules   the current receipt state in rules.json form
PUT /api/rules   replace it with a rules.json document: the API's validation, all-or-nothing
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from inbound.api.query.operations.receipt_rules import check_targets
from inbound.errors import SesError
from inbound.rules import codec

if TYPE_CHECKING:
    from inbound.api.services import Services


def add_routes(app: web.Application, services: Services) -> None:
    keeper = services.keeper

    async def export(request: web.Request) -> web.Response:
        return web.json_response(codec.rules_to_json(keeper.current))

    async def apply(request: web.Request) -> web.Response:
        assert services.backends is not None
        try:
            new = codec.parse_rules(
                json.loads(await request.read()), keeper.configured.verified, services.region
            )
            for rule_set in new.rule_sets:
                for rule in rule_set.rules:
                    await check_targets(services.backends, services.region, rule)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return web.json_response({"error": f"invalid JSON: {exc}"}, status=400)
        except SesError as exc:
            return web.json_response({"error": exc.message, "code": exc.code}, status=400)
        await keeper.edit(lambda _: new)
        return web.json_response(codec.rules_to_json(new))

    app.router.add_get("/api/rules", export)
    app.router.add_put("/api/rules", apply)
