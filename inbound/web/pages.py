"""The UI's pages: message lists (received, sent), a message's page (its path through the rules,
its content), the embedded services' records, the receipt rules.

Pages are jinja2 templates with autoescaping: every value from mail, the trace or the rules is
escaped where it is written. Each page carries a Content-Security-Policy that allows only this
server's own script and style; a message's HTML is served apart (`/html`) into a sandboxed
frame, under a policy of its own that blocks remote content unless `?remote=1`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from aiohttp import web
from aiohttp.typedefs import Handler

from inbound import model
from inbound.records import (
    Direction,
    Listing,
    MessageFilter,
    MessageRecord,
    MessageStatus,
    SentMessage,
    SentStatus,
    Summary,
)
from inbound.rules import codec
from inbound.store.browse import FAILED
from inbound.web import mime, trace
from inbound.web.digests import Digester

if TYPE_CHECKING:
    import jinja2

    from inbound.api.services import Services

PAGE_SIZE = 50
RAW_SHOWN = 512 * 1024  # bytes of the raw source shown on the page (all of it: /api/.../raw)
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# A message's HTML: no script, no plugin, no form, no navigation of the page (the frame's
# `sandbox` attribute and this policy's `sandbox` both say so); remote content only on request.
HTML_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
HTML_POLICY_REMOTE = (
    "sandbox; default-src 'none'; style-src * 'unsafe-inline'; img-src * data:; font-src *; "
    "media-src *"
)
SECTIONS = (
    ("/ui/received", "Received"),
    ("/ui/sent", "Sent"),
    ("/ui/rules", "Rules"),
    ("/ui/s3", "S3"),
    ("/ui/notifications", "Notifications"),
    ("/ui/lambda", "Lambda"),
    ("/ui/outbox", "Outbox"),
    ("/ui/workmail", "WorkMail"),
)
ACTION_TYPES = sorted(
    t.NOTIFICATION_TYPE for t in model.Action.__subclasses__() if hasattr(t, "NOTIFICATION_TYPE")
)


@functools.cache
def _templates() -> jinja2.Environment:
    """Built by the first page served: a server nobody browses never loads jinja2."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("inbound.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, here: str, status: int = 200, **values: Any) -> web.Response:
    body = _templates().get_template(template).render(sections=SECTIONS, here=here, **values)
    return web.Response(
        status=status,
        text=body,
        content_type="text/html",
        headers={
            "Content-Security-Policy": PAGE_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )


def _page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def _wanted(request: web.Request) -> MessageFilter:
    query = request.query
    return MessageFilter(
        query.get("q", "")[:500],
        query.get("status") or None,
        query.get("rule") or None,
        query.get("type") or None,
    )


def handlers(services: Services) -> tuple[dict[str, Handler], Callable[[], Awaitable[None]]]:
    """Each page's handler, by its name in `routes.ROUTES`, and what stops them (the digests
    under way)."""
    store = services.store
    digester = Digester(store)

    async def home(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/ui/received")

    async def received(request: web.Request) -> web.Response:
        await digester.catch_up(Direction.RECEIVED)
        wanted = _wanted(request)
        page = _page_number(request)
        found = store.browse_received(wanted, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        rules = services.keeper.current.active_rule_set
        return _list(
            request,
            Direction.RECEIVED,
            wanted,
            page,
            found,
            statuses=[*MessageStatus, FAILED],
            rules=[r.name for r in rules.rules] if rules else [],
            types=ACTION_TYPES,
        )

    async def sent(request: web.Request) -> web.Response:
        await digester.catch_up(Direction.SENT)
        wanted = dataclasses.replace(_wanted(request), rule=None, action=None)
        page = _page_number(request)
        found = store.browse_sent(wanted, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        return _list(request, Direction.SENT, wanted, page, found, statuses=list(SentStatus))

    async def received_message(request: web.Request) -> web.Response:
        record = store.message(request.match_info["id"])
        if record is None:
            return _missing("received message")
        retries = store.retries(message_id=record.id)
        state = services.keeper.snapshot(record.state_id)
        return await _message_page(
            request,
            Direction.RECEIVED,
            record,
            await store.read_raw(record.id),
            _envelope(record),
            pending=record.status is MessageStatus.PENDING,
            path=trace.path(store, record, state, store.trace(record.id), retries),
            dsns=trace.dsn_links(store, retries),
            sent_trace=None,
        )

    async def sent_message(request: web.Request) -> web.Response:
        record = store.sent_message(request.match_info["id"])
        if record is None:
            return _missing("sent message")
        return await _message_page(
            request,
            Direction.SENT,
            record,
            store.sent_raw(record.id),
            _sent_envelope(record),
            pending=record.status is SentStatus.ACCEPTED,
            path=None,
            dsns=[],
            sent_trace=[json.dumps(step, indent=2, ensure_ascii=False) for step in record.trace],
        )

    async def raw_of(request: web.Request) -> bytes | None:
        message_id = request.match_info["id"]
        if request.match_info["direction"] == Direction.RECEIVED:
            return await store.read_raw(message_id)
        return store.sent_raw(message_id)

    async def html_part(request: web.Request) -> web.Response:
        raw = await raw_of(request)
        content = None if raw is None else await _content(raw)
        if content is None or content.html is None:
            raise web.HTTPNotFound(text="no HTML part")
        remote = request.query.get("remote") == "1"
        return web.Response(
            text=content.html,
            content_type="text/html",
            headers={
                "Content-Security-Policy": HTML_POLICY_REMOTE if remote else HTML_POLICY,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
        )

    async def download(request: web.Request) -> web.Response:
        raw = await raw_of(request)
        index = request.match_info["index"]
        found = None if raw is None else await asyncio.to_thread(mime.attachment, raw, int(index))
        if found is None:
            raise web.HTTPNotFound(text="no such attachment")
        part, body = found
        name = part.filename or f"attachment-{part.index}"
        return web.Response(
            body=body,
            content_type="application/octet-stream",  # never rendered: mail is hostile
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )

    async def rules(request: web.Request) -> web.Response:
        state = services.keeper.current
        return render(
            "rules.html",
            "/ui/rules",
            state=state,
            settings=trace.settings,
            document=json.dumps(codec.rules_to_json(state), indent=2, ensure_ascii=False),
        )

    def records(
        title: str,
        here: str,
        listing: Callable[[int, int], Listing[Any]],
        links: Callable[[Any], Mapping[str, str]],
        note: Callable[[], str] = lambda: "",
    ) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            page = _page_number(request)
            found = listing(PAGE_SIZE, (page - 1) * PAGE_SIZE)
            columns = [f.name for f in dataclasses.fields(found[0])] if found else []
            table = [
                [(_cell(v), links(r).get(k, "")) for k, v in dataclasses.asdict(r).items()]
                for r in found
            ]
            return render(
                "records.html",
                here,
                title=title,
                note=note(),
                columns=columns,
                table=table,
                total=found.total,
                pager=_pager(request, page, found.total),
            )

        return handler

    def relay_note() -> str:
        relay = services.relay
        if relay is None:
            return "No relay: [relay] smarthost is not configured; mail stays in the outbox."
        return f"Relaying to {relay.settings.smarthost}."

    def message_link(r: Any) -> dict[str, str]:
        return {"message_id": f"/ui/received/{quote(r.message_id)}"} if r.message_id else {}

    pages: dict[str, Handler] = {
        "home": home,
        "received": received,
        "sent": sent,
        "received_message": received_message,
        "sent_message": sent_message,
        "html_part": html_part,
        "download": download,
        "rules": rules,
        "s3": records(
            "S3 objects",
            "/ui/s3",
            store.objects,
            lambda r: {
                **message_link(r),
                "key": f"/api/s3/{quote(r.bucket, safe='')}/{quote(r.key)}",
            },
        ),
        "notifications": records(
            "SNS notifications", "/ui/notifications", store.notifications, message_link
        ),
        "lambda": records("Lambda invocations", "/ui/lambda", store.invocations, message_link),
        "outbox": records(
            "Outbox",
            "/ui/outbox",
            store.outbox,
            lambda r: {**message_link(r), "id": f"/api/outbox/{quote(r.id)}/raw"},
            relay_note,
        ),
        "workmail": records(
            "WorkMail mailboxes", "/ui/workmail", store.mailbox_deliveries, message_link
        ),
    }
    return pages, digester.stop


def _list(
    request: web.Request,
    direction: Direction,
    wanted: MessageFilter,
    page: int,
    found: Listing[Summary[Any]] | None,
    **choices: Any,
) -> web.Response:
    summaries = found if found is not None else Listing([], 0)
    values: dict[str, Any] = {
        "direction": direction,
        "rows": [_row(direction, s) for s in summaries],
        "total": summaries.total,
    }
    if request.query.get("fragment") == "rows":
        response = render("rows.html", "", **values)
        response.headers["X-Total-Count"] = str(summaries.total)
        return response
    return render(
        "list.html",
        f"/ui/{direction}",
        title="Received mail" if direction is Direction.RECEIVED else "Sent mail",
        wanted=wanted,
        pager=_pager(request, page, summaries.total),
        **values,
        **choices,
    )


def _row(direction: Direction, summary: Summary[Any]) -> dict[str, Any]:
    record = summary.record
    status: str = record.status
    if isinstance(record, MessageRecord):
        at, sender = record.received_at, record.mail_from
    else:
        assert isinstance(record, SentMessage)
        at, sender = record.created, record.source
    return {
        "id": record.id,
        "url": f"/ui/{direction}/{quote(record.id)}",
        "at": at,
        "time": at[11:19] if len(at) >= 19 else at,
        "date": at[:10],
        "sender": sender,
        "recipients": ", ".join(record.recipients),
        "subject": summary.subject,
        "size": _size(record.size),
        "status": FAILED if summary.failed else status,
        "rules": summary.rules,
    }


async def _message_page(
    request: web.Request,
    direction: Direction,
    record: MessageRecord | SentMessage,
    raw: bytes | None,
    envelope: list[tuple[str, str]],
    **parts: Any,
) -> web.Response:
    api = "messages" if direction is Direction.RECEIVED else "sent"
    return render(
        "message.html",
        f"/ui/{direction}",
        direction=direction,
        record=record,
        envelope=envelope,
        content=await _content(raw),
        raw=_shown(raw),
        raw_url=f"/api/{api}/{quote(record.id)}/raw",
        remote=request.query.get("remote") == "1",
        **parts,
    )


def _pager(request: web.Request, page: int, total: int) -> dict[str, str]:
    def url(number: int) -> str:
        query = {k: v for k, v in request.query.items() if k not in ("page", "fragment")}
        return "?" + urlencode({**query, "page": str(number)})

    found = {}
    if page > 1:
        found["newer"] = url(page - 1)
    if page * PAGE_SIZE < total:
        found["older"] = url(page + 1)
    return found


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 300 else text[:300] + "…"


def _envelope(record: MessageRecord) -> list[tuple[str, str]]:
    return [
        ("Message ID", record.id),
        ("Received", record.received_at),
        ("Envelope from", record.mail_from),
        ("Envelope to", ", ".join(record.recipients)),
        ("Client", f"{record.client_ip} (HELO {record.helo}){' over TLS' if record.tls else ''}"),
        ("Size", _size(record.size)),
        ("Status", str(record.status)),
        ("Finished", record.finished_at or "not yet"),
    ]


def _sent_envelope(record: SentMessage) -> list[tuple[str, str]]:
    return [
        ("Message ID", record.id),
        ("Accepted", record.created),
        ("Operation", record.operation),
        ("Source", record.source),
        ("Envelope from", record.mail_from),
        ("Recipients", ", ".join(record.recipients)),
        ("Configuration set", record.configuration_set or "none"),
        ("Size", _size(record.size)),
        ("Status", str(record.status)),
    ]


async def _content(raw: bytes | None) -> mime.Content | None:
    if raw is None:
        return None
    return await asyncio.to_thread(mime.content, raw)


def _shown(raw: bytes | None) -> tuple[str, bool] | None:
    """The raw source as text, and whether it was cut."""
    if raw is None:
        return None
    return raw[:RAW_SHOWN].decode("utf-8", "replace"), len(raw) > RAW_SHOWN


def _missing(what: str) -> web.Response:
    return render("missing.html", "", status=404, what=what)
