"""Open and click tracking through the real interfaces: boto3 sends with a configuration set
whose SNS destination takes open and click events, the stored message is parsed with the
email package and html.parser, and the pixel and the links are fetched over HTTP (from
another origin, as an email client would) while a real SNS HTTP subscriber collects the
events."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import escape as html_escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit

import dkim
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbound.sending import tracking
from inbound.testing import RunningInbound
from tests.sending.conftest import FAST
from tests.sending.test_dkim import published
from tests.webhook import Webhook as Subscriber

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
TARGET = "https://www.example.org/a/b?x=1&y=two%20words#frag"
HTML = (
    "<html><body><p>Hello</p>\n"
    f'<a href="{TARGET.replace("&", "&amp;")}" ses:tags="campaign:spring;kind:cta;">Buy</a>\n'
    '<a ses:no-track href="https://example.org/secret?token=1">Magic link</a>\n'
    '<a href="mailto:help@example.com">Mail us</a>\n'
    "</body></html>"
)
TEXT = "Hello, see https://www.example.org/a/b"
EMAIL_CLIENT = {
    "User-Agent": "Mozilla/5.0 (TestMail)",
    "Origin": "https://webmail.example.net",  # another origin: the guard must let GETs pass
    "Sec-Fetch-Site": "cross-site",
}


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []
        self.images: list[dict[str, str | None]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs))
        if tag == "img":
            self.images.append(dict(attrs))


def parts(raw: bytes) -> tuple[EmailMessage, EmailMessage | None, Anchors]:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    found = Anchors()
    assert html is not None
    found.feed(html.get_content())
    return message, text, found  # type: ignore[return-value]


def get(url: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """One GET, redirects not followed."""
    parts_ = urlsplit(url)
    connection = http.client.HTTPConnection(parts_.netloc, timeout=10)
    connection.request(
        "GET", parts_.path + (f"?{parts_.query}" if parts_.query else ""), headers=headers or {}
    )
    response = connection.getresponse()
    response.read()
    return response


def events(subscriber: Subscriber, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while len(subscriber.received) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return [json.loads(envelope["Message"]) for _, envelope in subscriber.received]


def configuration_set(server: RunningInbound, name: str, types: list[str]) -> None:
    """A configuration set with one SNS destination for `types`."""
    ses = server.ses()
    ses.create_configuration_set(ConfigurationSet={"Name": name})
    ses.create_configuration_set_event_destination(
        ConfigurationSetName=name,
        EventDestination={
            "Name": "to-sns",
            "Enabled": True,
            "MatchingEventTypes": types,
            "SNSDestination": {"TopicARN": TOPIC},
        },
    )


@pytest.fixture
def tracked(
    inbound_factory: Callable[..., RunningInbound], subscriber: Subscriber
) -> RunningInbound:
    server = inbound_factory(sns_subscribers={TOPIC: (subscriber.url,)}, sending=FAST)
    configuration_set(server, "Tracked", ["open", "click"])
    server.ses().create_configuration_set_tracking_options(
        ConfigurationSetName="Tracked", TrackingOptions={"CustomRedirectDomain": "t.example.com"}
    )
    return server


def send(server: RunningInbound, configuration_set: str | None = "Tracked", **body: Any) -> str:
    extra = {"ConfigurationSetName": configuration_set} if configuration_set else {}
    return str(
        server.ses().send_email(
            Source="sender@example.com",
            Destination={"ToAddresses": ["user@example.com"]},
            Message={
                "Subject": {"Data": "Spring sale"},
                "Body": body or {"Text": {"Data": TEXT}, "Html": {"Data": HTML}},
            },
            Tags=[{"Name": "campaign", "Value": "spring"}],
            **extra,
        )["MessageId"]
    )


def raw_of(server: RunningInbound, message_id: str) -> bytes:
    body = server.get(f"/api/sent/{message_id}/raw")
    assert isinstance(body, bytes)
    return body


def test_links_are_rewritten_and_the_pixel_added(tracked: RunningInbound) -> None:
    message_id = send(tracked)
    message, text, html = parts(raw_of(tracked, message_id))
    assert text is not None and text.get_content().rstrip("\r\n") == TEXT  # text untouched
    tracked_link, secret, mail = html.links
    prefix = f"{tracked.api_url}/track/click/L0/"
    assert tracked_link["href"] == (
        f"{prefix}https:%2F%2Fwww.example.org%2Fa%2Fb%3Fx=1%26y=two%2520words%23frag"
        f"/1/{message_id}/1"
    )
    assert "ses:tags" not in tracked_link
    assert secret == {"href": "https://example.org/secret?token=1"}  # ses:no-track: kept, dropped
    assert mail == {"href": "mailto:help@example.com"}
    [pixel] = html.images
    assert pixel == {
        "alt": "",
        "src": f"{tracked.api_url}/track/open/I0/{message_id}",
        "style": "display: none; width: 1px; height: 1px;",
    }
    assert html.tags[-1] == "img"  # at the bottom, inside the body
    part = message.get_body(("html",))
    assert part is not None and part["Content-Type"] == 'text/html; charset="UTF-8"'
    [sent] = tracked.sent()
    [step] = [s for s in sent["trace"] if s["step"] == "tracking"]
    assert step == {
        "step": "tracking",
        "open": True,
        "links": [{"link": TARGET, "tags": {"campaign": ["spring"], "kind": ["cta"]}}],
    }


def test_opening_publishes_an_open_event(tracked: RunningInbound, subscriber: Subscriber) -> None:
    message_id = send(tracked)
    [pixel] = parts(raw_of(tracked, message_id))[2].images
    assert pixel["src"] is not None
    response = get(pixel["src"], EMAIL_CLIENT)
    assert response.status == 200 and response.getheader("Content-Type") == "image/gif"
    assert "no-cache" in (response.getheader("Cache-Control") or "")
    [record] = events(subscriber, 1)
    assert record["eventType"] == "Open"
    assert record["mail"]["messageId"] == message_id
    assert record["mail"]["tags"]["campaign"] == ["spring"]
    assert record["mail"]["tags"]["ses:configuration-set"] == ["Tracked"]
    assert record["open"]["ipAddress"] == "127.0.0.1"
    assert record["open"]["userAgent"] == EMAIL_CLIENT["User-Agent"]
    assert record["open"]["timestamp"].endswith("Z")
    get(pixel["src"])  # every open is an event
    assert [r["eventType"] for r in events(subscriber, 2)] == ["Open", "Open"]


def test_the_gif_is_a_transparent_pixel() -> None:
    gif = tracking.GIF
    assert gif[:6] == b"GIF89a" and gif[6:10] == b"\x01\x00\x01\x00" and gif.endswith(b";")


def test_clicking_redirects_and_publishes_a_click_event(
    tracked: RunningInbound, subscriber: Subscriber
) -> None:
    message_id = send(tracked)
    link = parts(raw_of(tracked, message_id))[2].links[0]["href"]
    assert link is not None
    response = get(link, EMAIL_CLIENT)
    assert response.status == 302
    assert response.getheader("Location") == TARGET
    [record] = events(subscriber, 1)
    assert record["eventType"] == "Click"
    assert record["mail"]["messageId"] == message_id
    click = record["click"]
    assert click["link"] == TARGET
    assert click["linkTags"] == {"campaign": ["spring"], "kind": ["cta"]}
    assert click["ipAddress"] == "127.0.0.1" and click["userAgent"] == EMAIL_CLIENT["User-Agent"]


def test_unknown_or_altered_links_are_404(tracked: RunningInbound) -> None:
    message_id = send(tracked)
    link = parts(raw_of(tracked, message_id))[2].links[0]["href"]
    assert link is not None
    other = link.replace("www.example.org", "evil.example")  # no open redirect
    assert get(other).status == 404
    assert get(link[: link.rfind("/")] + "/2").status == 404
    assert get(link.replace(message_id, "0100-nope-000000")).status == 404
    assert get(f"{tracked.api_url}/track/open/I0/0100-nope-000000").status == 404


def test_only_destinations_for_opens_or_clicks_turn_tracking_on(
    tracked: RunningInbound,
) -> None:
    configuration_set(tracked, "DeliveryOnly", ["delivery"])
    for name in ("DeliveryOnly", None):
        raw = raw_of(tracked, send(tracked, name))
        assert b"/track/" not in raw and b"ses:no-track" in raw
    configuration_set(tracked, "OpensOnly", ["open"])
    message_id = send(tracked, "OpensOnly")
    html = parts(raw_of(tracked, message_id))[2]
    assert html.links[0]["href"] == TARGET and len(html.images) == 1


def test_send_raw_email_placeholder_places_the_pixel(tracked: RunningInbound) -> None:
    raw = (
        b"From: sender@example.com\r\nTo: user@example.com\r\nSubject: raw\r\n"
        b"X-SES-CONFIGURATION-SET: Tracked\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'
        b'<p>{{ses:openTracker}}Top</p><a href="http://example.org/">x</a>'
        b"<p>{{ses:openTracker}}</p>\r\n"
    )
    message_id = tracked.ses().send_raw_email(RawMessage={"Data": raw})["MessageId"]
    message, _, html = parts(raw_of(tracked, message_id))
    content = message.get_body(("html",))
    assert content is not None
    body = content.get_content()
    assert body.index("<img") < body.index("Top") and "{{ses:openTracker}}" not in body
    assert len(html.images) == 1
    assert html.links[0]["href"] == (
        f"{tracked.api_url}/track/click/L0/http:%2F%2Fexample.org%2F/1/{message_id}/1"
    )


def test_dkim_signs_the_rewritten_body(tracked: RunningInbound) -> None:
    ses = tracked.ses()
    ses.verify_domain_dkim(Domain="example.com")
    raw = raw_of(tracked, send(tracked))
    assert b"/track/click/L0/" in raw
    assert dkim.verify(raw, dnsfunc=published(tracked, "example.com")[1])


def test_rewrite_html_keeps_everything_but_the_links() -> None:
    text = '<P>x &amp; y</P><A HREF="https://a.example/?q=1&amp;r=2" class=btn>go</A><a>none</a>'
    new, links = tracking.rewrite_html(
        text, "http://h", "M", tracking.Tracking(opens=False, clicks=True)
    )
    assert links == [{"link": "https://a.example/?q=1&r=2", "tags": {}}]
    assert new == (
        '<P>x &amp; y</P><a href="http://h/track/click/L0/https:%2F%2Fa.example%2F%3Fq=1%26r=2'
        '/1/M/1" class="btn">go</A><a>none</a>'
    )


LINKS = st.lists(
    st.builds(
        lambda scheme, rest: f"{scheme}://{rest}",
        st.sampled_from(["http", "https", "HTTPS"]),
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40),
    ),
    max_size=5,
)


@given(links=LINKS)
def test_every_rewritten_link_leads_back_to_its_target(links: list[str]) -> None:
    """What the click route reads back from a rewritten href (its raw path, split and
    unquoted as api/tracking.py does) is the link the HTML had."""
    text = "".join(f'<p><a href="{html_escape(link)}">{n}</a></p>' for n, link in enumerate(links))
    new, found = tracking.rewrite_html(
        text, "http://h", "M-1", tracking.Tracking(opens=False, clicks=True)
    )
    assert [f["link"] for f in found] == links
    anchors = Anchors()
    anchors.feed(new)
    for number, (anchor, link) in enumerate(zip(anchors.links, links, strict=True), 1):
        href = anchor["href"]
        assert href is not None
        path = urlsplit(href).path
        target, one, message_id, n = path[len(tracking.CLICK_PATH) :].rsplit("/", 3)
        assert (unquote(target), one, message_id, n) == (link, "1", "M-1", str(number))


def test_an_html_part_its_charset_cannot_hold_is_sent_as_utf8(tracked: RunningInbound) -> None:
    raw = (
        b"From: sender@example.com\nTo: user@example.com\nSubject: 8bit\n"
        b"X-SES-CONFIGURATION-SET: Tracked\nMIME-Version: 1.0\n"
        b"Content-Type: text/html\nContent-Transfer-Encoding: 8bit\n\n"
        b'<p>Gr\xc3\xbc\xc3\x9fe</p><a href="https://example.org/">x</a>\n'
    )
    message_id = tracked.ses().send_raw_email(RawMessage={"Data": raw})["MessageId"]
    message, _, html = parts(raw_of(tracked, message_id))
    assert message.get_content_charset() == "utf-8"
    assert "Grüße" in message.get_content() and len(html.images) == 1
