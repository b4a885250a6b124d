"""The web UI over HTTP, without a browser: where it is served, what it shows, and that mail
content stays inert (escaped, sandboxed, downloaded). tests/web/test_browser.py drives it."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
import urllib.request
from typing import Any

import pytest

from inbound.testing import RunningInbound
from tests.rulesets import message
from tests.web.conftest import ATTACHMENT, UI_RULES, failing_once, fetch, rich_message

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # a browser's Accept


def _send(server: RunningInbound, raw: bytes, to: str = "user@example.com") -> str:
    server.send("alice@sender.test", [to], raw)
    server.wait_idle()
    return str(server.listing("/api/messages")[-1]["messageId"])


def test_a_browser_visit_to_the_root_gets_the_ui(inbound_server: RunningInbound) -> None:
    visit = fetch(inbound_server.api_url + "/", Accept=HTML)
    assert visit.status == 303
    assert visit.headers["Location"] == "/ui/received"
    page = fetch(inbound_server.api_url + "/ui/received", Accept=HTML)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<h1>Received mail</h1>" in page.text


def test_ses_clients_on_the_root_are_answered_as_before(inbound_server: RunningInbound) -> None:
    url = inbound_server.api_url + "/"
    # a GET naming an operation, even from a browser, is the Query API's
    listed = fetch(url + "?Action=ListReceiptRuleSets", Accept=HTML)
    assert listed.status == 200
    assert b"<ListReceiptRuleSetsResponse" in listed.body
    posted = fetch(
        url,
        method="POST",
        data=b"Action=ListReceiptRuleSets",
        Accept=HTML,
        Content_Type="application/x-www-form-urlencoded",
    )
    assert b"<ListReceiptRuleSetsResponse" in posted.body
    # no Action and no HTML asked for: the Query API's own error, unchanged
    bare = fetch(url)
    assert bare.status == 400
    assert b"<Code>MissingAction</Code>" in bare.body
    assert inbound_server.ses().list_receipt_rule_sets()["RuleSets"]


@pytest.mark.inbound_rules(UI_RULES)
def test_the_list_shows_each_message_escaped_with_its_rules(
    inbound_server: RunningInbound,
) -> None:
    hostile = '<script>alert("x")</script> & <b>bold</b>'
    _send(inbound_server, message(subject=hostile))
    page = fetch(inbound_server.api_url + "/ui/received")
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src")
    assert "<script>alert" not in page.text
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page.text
    )
    row = re.search(r'<tr data-id="[^"]+" class="status-done">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert "alice@sender.test" in row[1]
    assert "user@example.com" in row[1]
    assert "archive" in row[1]  # the rule that matched
    assert ">done<" in row[1]


@pytest.mark.inbound_rules(UI_RULES)
def test_search_finds_words_of_the_sender_recipients_subject_and_body(
    inbound_server: RunningInbound,
) -> None:
    first = _send(inbound_server, rich_message("Quarterly numbers", body="zebra crossing"))
    second = _send(inbound_server, message(subject="Lunch", to="bob@example.com"))

    def found(query: str, **filters: str) -> list[str]:
        url = "/ui/received?" + urllib.parse.urlencode({"q": query, **filters, "fragment": "rows"})
        return re.findall(r'<tr data-id="([^"]+)"', fetch(inbound_server.api_url + url).text)

    assert found("zebra") == [first]  # body
    assert found("quarter") == [first]  # subject, as a prefix
    assert found("bob@example") == [second]  # a recipient of the headers
    assert found("alice@sender.test") == [second, first]  # the sender, newest first
    assert found("lunch zebra") == []  # every word must occur
    assert found("nothing-like-it") == []
    for syntax in ['"', "a OR", "*", "NEAR(", "col:x"]:  # FTS5 syntax is searched for, inert
        assert (
            fetch(inbound_server.api_url + "/ui/received?q=" + urllib.parse.quote(syntax)).status
            == 200
        )
    assert found("lunch", rule="archive") == [second]
    assert found("", rule="sales-only") == []
    assert found("", type="S3") == [second, first]
    assert found("", type="Lambda") == []
    assert found("", status="pending") == []


def test_a_failed_action_is_listed_as_failed_and_its_trace_offers_a_retry(
    inbound_factory: Any,
) -> None:
    server = failing_once(inbound_factory)
    message_id = _send(server, message(subject="Flaky"))
    failed = fetch(server.api_url + "/ui/received?status=failed&fragment=rows").text
    assert message_id in failed
    page = fetch(server.api_url + f"/ui/received/{message_id}").text
    assert 'Rule 1: <span class="name">archive</span>' in page
    assert "NoSuchBucket: mail-archive (call 1)" in page


@pytest.mark.inbound_rules(UI_RULES)
def test_the_message_page_draws_the_path_and_the_content(inbound_server: RunningInbound) -> None:
    message_id = _send(inbound_server, rich_message("Path <test>"))
    page = fetch(inbound_server.api_url + f"/ui/received/{message_id}").text
    assert "<h1>Path &lt;test&gt;</h1>" in page
    assert "no filter covers 127.0.0.1: accepted" in page
    # every rule of the set, in order, with why it matched or did not
    assert re.search(r"archive</span> <span class=\"badge\">matched</span>", page)
    assert "user@example.com: domain example.com" in page
    assert re.search(r"sales-only</span> <span class=\"badge\">not matched</span>", page)
    assert "no recipient (user@example.com) matches sales@other.test" in page
    assert re.search(r"switched-off</span> <span class=\"badge\">disabled</span>", page)
    # the action, with its object
    key = f"in/{message_id}"
    assert f'href="/api/s3/mail-archive/in/{message_id}"' in page
    assert fetch(inbound_server.api_url + f"/api/s3/mail-archive/{key}").body.startswith(
        b"Return-Path"
    )
    # content: text, headers, attachment link, raw; the HTML only in a sandboxed frame
    assert "plain text body" in page
    assert "report.pdf" in page
    assert "<script>parent" not in page
    assert re.search(r'<iframe class="mail-html" sandbox=""', page)


@pytest.mark.inbound_rules(UI_RULES)
def test_the_html_part_is_served_sandboxed_without_remote_content(
    inbound_server: RunningInbound,
) -> None:
    message_id = _send(
        inbound_server, rich_message("HTML", remote_image="http://tracker.test/p.gif")
    )
    url = inbound_server.api_url + f"/ui/received/{message_id}/html"
    blocked = fetch(url)
    assert blocked.status == 200
    policy = blocked.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;")
    assert "img-src data:" in policy
    assert "*" not in policy
    assert b"http://tracker.test/p.gif" in blocked.body  # as sent: the policy blocks it
    allowed = fetch(url + "?remote=1").headers["Content-Security-Policy"]
    assert allowed.startswith("sandbox;")
    assert "img-src * data:" in allowed


@pytest.mark.inbound_rules(UI_RULES)
def test_attachments_are_downloaded_never_rendered(inbound_server: RunningInbound) -> None:
    message_id = _send(inbound_server, rich_message("Attached"))
    page = fetch(inbound_server.api_url + f"/ui/received/{message_id}").text
    [link] = re.findall(r'href="(/ui/received/[^"]+/parts/\d+)"', page)
    part = fetch(inbound_server.api_url + link)
    assert part.body == ATTACHMENT
    assert part.headers["Content-Type"] == "application/octet-stream"
    assert part.headers["Content-Disposition"] == "attachment; filename*=UTF-8''report.pdf"
    assert fetch(inbound_server.api_url + link.rsplit("/", 1)[0] + "/0").status == 404


def test_a_sent_message_is_listed_and_shown(inbound_server: RunningInbound) -> None:
    ses = inbound_server.ses()
    ses.verify_email_identity(EmailAddress="me@example.com")
    sent = ses.send_email(
        Source="me@example.com",
        Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
        Message={"Subject": {"Data": "Invoice 42"}, "Body": {"Text": {"Data": "pay me"}}},
    )["MessageId"]
    inbound_server.wait_idle()
    listed = fetch(inbound_server.api_url + "/ui/sent?q=invoice&fragment=rows").text
    assert f'data-id="{sent}"' in listed
    page = fetch(inbound_server.api_url + f"/ui/sent/{sent}").text
    assert "<h1>Invoice 42</h1>" in page
    assert "pay me" in page


def test_the_event_stream_announces_a_message(inbound_server: RunningInbound) -> None:
    seen: list[bytes] = []
    opened = threading.Event()

    def read() -> None:
        with urllib.request.urlopen(inbound_server.api_url + "/ui/events", timeout=30) as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            opened.set()
            for line in stream:
                seen.append(line)
                if line.startswith(b"data: ") and len(line) > 7:
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert opened.wait(10)
    message_id = _send(inbound_server, message())
    reader.join(10)
    assert b"event: received\n" in seen
    assert f"data: {message_id}\n".encode() in seen


def test_the_guard_still_refuses_cross_origin_writes(inbound_factory: Any) -> None:
    server = failing_once(inbound_factory)
    message_id = _send(server, message())
    url = server.api_url + f"/api/messages/{message_id}/retry"
    refused = fetch(url, method="POST", Origin="http://evil.test")
    assert refused.status == 403
    own = fetch(url, method="POST", Origin=server.api_url)  # what the UI's fetch() sends
    assert own.status == 202
    server.wait_idle()
    page = fetch(server.api_url + f"/ui/received/{message_id}").text
    assert "retry: delivered" in page


def test_the_rules_page_shows_every_rule_and_its_document(inbound_server: RunningInbound) -> None:
    page = fetch(inbound_server.api_url + "/ui/rules").text
    assert "catch-all" in page
    document = re.search(r'<textarea id="rules-document"[^>]*>(.*?)</textarea>', page, re.S)
    assert document is not None
    import html

    parsed: dict[str, Any] = json.loads(html.unescape(document[1]))
    assert parsed["ActiveRuleSet"] == "default"


@pytest.mark.parametrize(
    "path", ["/ui/s3", "/ui/notifications", "/ui/lambda", "/ui/outbox", "/ui/workmail"]
)
def test_the_record_tabs_answer(inbound_server: RunningInbound, path: str) -> None:
    page = fetch(inbound_server.api_url + path)
    assert page.status == 200
    assert 'aria-current="page"' in page.text


def test_an_unknown_message_is_a_404_page(inbound_server: RunningInbound) -> None:
    missing = fetch(inbound_server.api_url + "/ui/received/nope")
    assert missing.status == 404
    assert "<h1>Not found</h1>" in missing.text
