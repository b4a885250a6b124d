"""Open and click tracking (issue 11 item 9): the HTML rewrite at build time, and what a GET on
the pixel or on a rewritten link publishes.

SES tracks a message sent with a configuration set that has an event destination for open or
click events ("To use open tracking, you must ... create an event destination ... configure
the event destination to publish open event notifications ... specify the configuration set",
DG, "Amazon SES email sending metrics FAQs"; likewise for clicks). Then:
* opens: "At the bottom of each email sent through Amazon SES, we insert a 1 pixel by 1 pixel
  transparent GIF image"; the `{{ses:openTracker}}` placeholder, when the HTML has one, places
  it there instead (its first occurrence; the others are removed);
* clicks: every http(s) link of the HTML is replaced by a redirect, SES's shape
  `https://<region>.awstrack.me/L0/<target, percent-encoded>/1/<MessageId>/<signature>`,
  except links with the `ses:no-track` attribute; a link's `ses:tags="name:value;..."` become
  the Click event's `linkTags`. Both attributes are SES's own and removed from the sent HTML.
The text part is never changed. Here the redirect and the pixel are on this engine's HTTP port
(`<http_url>/track/click/L0/...` and `/track/open/I0/<MessageId>`), served by api/tracking.py,
so a test can open and click for real; a CustomRedirectDomain is not used (the engine could not
answer on it; docs/behaviour.md). The last segment of a link is its number in the message, not
a signature: a click is checked against the links the message was built with (its trace's
`tracking` step), so the redirect only ever leads to a link of the message.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from inbound.records import SentMessage, SentStatus
from inbound.sending import destinations, mime
from inbound.sending.events import Click, EventType, Open
from inbound.sending.sent_mail import SentEvents
from inbound.store import Store

OPEN_PATH = "/track/open/I0/"
CLICK_PATH = "/track/click/L0/"
PLACEHOLDER = "{{ses:openTracker}}"
NO_TRACK, LINK_TAGS = "ses:no-track", "ses:tags"
# SES's pixel, as it appears in tracked mail
PIXEL = '<img alt="" src="{src}" style="display: none; width: 1px; height: 1px;">'
# a transparent 1x1 GIF
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@dataclass(frozen=True)
class Tracking:
    """What a message's configuration set tracks."""

    opens: bool
    clicks: bool

    @classmethod
    def of(cls, configuration_set: Mapping[str, Any]) -> Tracking:
        return cls(
            opens=destinations.publishes(configuration_set, EventType.OPEN),
            clicks=destinations.publishes(configuration_set, EventType.CLICK),
        )


def open_url(base: str, message_id: str) -> str:
    return f"{base}{OPEN_PATH}{message_id}"


def click_url(base: str, message_id: str, link: str, number: int) -> str:
    return f"{base}{CLICK_PATH}{quote(link, safe=':=')}/1/{message_id}/{number}"


def link_tags(value: str | None) -> dict[str, list[str]]:
    """`ses:tags="product:book;genre:fiction;"` → {"product": ["book"], "genre": ["fiction"]}."""
    found: dict[str, list[str]] = {}
    for pair in (value or "").split(";"):
        name, colon, tag = pair.partition(":")
        if colon and name.strip():
            found.setdefault(name.strip(), []).append(tag.strip())
    return found


# ── the rewrite ─────────────────────────────────────────────────────────────────────────────
class _Anchors(HTMLParser):
    """Every `<a>` start tag: where it starts (line, column), its text and attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[tuple[int, int], str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.found.append((self.getpos(), self.get_starttag_text() or "", attrs))


def _tag(attrs: list[tuple[str, str | None]]) -> str:
    written = (f" {n}" if v is None else f' {n}="{html.escape(v)}"' for n, v in attrs)
    return "<a" + "".join(written) + ">"


def rewrite_html(
    text: str, base: str, message_id: str, tracking: Tracking, first: int = 1
) -> tuple[str, list[dict[str, Any]]]:
    """`text` with its links rewritten and the pixel added, as `tracking` asks, and the links
    tracked (numbered from `first`), each `{"link", "tags"}`."""
    links: list[dict[str, Any]] = []
    if tracking.clicks:
        parser = _Anchors()
        parser.feed(text)
        parser.close()
        line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        pieces, done = [], 0
        for (line, column), written, attrs in parser.found:
            start = line_starts[line - 1] + column
            if text[start : start + len(written)] != written:
                continue
            names = {name for name, _ in attrs}
            href = dict(attrs).get("href")
            kept = [(n, v) for n, v in attrs if n not in (NO_TRACK, LINK_TAGS)]
            trackable = href is not None and href.strip().lower().startswith(
                ("http://", "https://")
            )
            if trackable and NO_TRACK not in names:
                assert href is not None
                number = first + len(links)
                links.append({"link": href, "tags": link_tags(dict(attrs).get(LINK_TAGS))})
                url = click_url(base, message_id, href, number)
                kept = [(n, url if n == "href" else v) for n, v in kept]
            elif not names & {NO_TRACK, LINK_TAGS}:
                continue
            pieces += [text[done:start], _tag(kept)]
            done = start + len(written)
        text = "".join([*pieces, text[done:]])
    if tracking.opens:
        pixel = PIXEL.format(src=html.escape(open_url(base, message_id)))
        if PLACEHOLDER in text:
            text = text.replace(PLACEHOLDER, pixel, 1).replace(PLACEHOLDER, "")
        else:
            end = text.lower().rfind("</body")
            text = text + pixel if end < 0 else text[:end] + pixel + text[end:]
    return text, links


def rewrite(
    raw: bytes, base: str, message_id: str, tracking: Tracking
) -> tuple[bytes, list[dict[str, Any]]]:
    """The message with every inline HTML part rewritten (`rewrite_html`), and the links
    tracked; `raw` itself when nothing changed (no HTML part)."""
    links: list[dict[str, Any]] = []

    def edit(subtype: str, text: str) -> str:
        new, found = rewrite_html(text, base, message_id, tracking, first=len(links) + 1)
        if new != text:
            links.extend(found)
        return new

    return mime.edit_text_parts(raw, ("html",), edit), links


# ── the GETs ────────────────────────────────────────────────────────────────────────────────
class Tracker:
    """Publishes the Open and Click events of tracked messages (api/tracking.py asks)."""

    def __init__(self, store: Store, events: SentEvents) -> None:
        self._store = store
        self._events = events

    def _tracked(self, message_id: str) -> tuple[dict[str, Any], SentMessage] | None:
        record = self._store.sent_message(message_id)
        if record is None or record.status == SentStatus.RENDERING_FAILURE:
            return None
        step = next((s for s in record.trace if s.get("step") == "tracking"), None)
        return None if step is None else (step, record)

    async def opened(self, message_id: str, ip_address: str, user_agent: str) -> bool:
        """A GET on the pixel: an Open event; False when the message has no pixel."""
        found = self._tracked(message_id)
        if found is None or not found[0].get("open"):
            return False
        await self._events.publish(found[1], Open(ip_address, datetime.now(UTC), user_agent))
        return True

    async def clicked(
        self, message_id: str, number: int, target: str, ip_address: str, user_agent: str
    ) -> str | None:
        """A GET on a rewritten link: a Click event, and the link to redirect to; None when
        the message has no such link."""
        found = self._tracked(message_id)
        links = [] if found is None else found[0].get("links", [])
        if not 1 <= number <= len(links) or links[number - 1]["link"] != target:
            return None
        link = links[number - 1]
        tags = {name: tuple(values) for name, values in link["tags"].items()}
        click = Click(ip_address, datetime.now(UTC), user_agent, link["link"], tags or None)
        assert found is not None
        await self._events.publish(found[1], click)
        return str(link["link"])
