"""The web UI in a real browser (headless chromium, Selenium), end to end against a running
server: mail sent over SMTP appears without reload, is found by search, opened, its trace
followed, its attachment downloaded, its failed action retried; its HTML runs no script and
loads nothing remote until asked."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import ATTACHMENT, UI_RULES, emulate, failing_once, rich_message

WAIT = 15


@pytest.fixture
def remote() -> Iterator[tuple[str, list[str]]]:
    """An image server outside inbound: the paths it was asked for."""
    asked: list[str] = []

    class Pixel(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.end_headers()
            self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pixel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pixel.gif", asked
    server.shutdown()


def _until(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _text(browser: Any, selector: str) -> str:
    """The text of an element read in one step: the live trace replaces elements."""
    return str(
        browser.execute_script("return document.querySelector(arguments[0]).textContent", selector)
    )


def test_mail_is_seen_live_searched_opened_traced_downloaded_and_retried(
    browser: Any, inbound_factory: Any, remote: tuple[str, list[str]]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    pixel, asked = remote
    server = failing_once(inbound_factory)
    browser.get(server.api_url + "/")
    assert browser.current_url == server.api_url + "/ui/received"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Received mail"
    _until(lambda: browser.execute_script("return window.EventSource && true"), "the page")
    time.sleep(0.3)  # the event stream connects

    server.send(
        "alice@sender.test", ["user@example.com"], rich_message("Zebra report", remote_image=pixel)
    )
    row = _until(
        lambda: browser.find_elements(By.PARTIAL_LINK_TEXT, "Zebra report"), "the row, live"
    )[0]
    assert "/ui/received/" in row.get_attribute("href")

    search = browser.find_element(By.ID, "q")
    browser.find_element(By.TAG_NAME, "body").send_keys("/")  # the search shortcut
    assert browser.switch_to.active_element == search
    search.send_keys("zebr", Keys.ENTER)
    _until(lambda: "q=zebr" in browser.current_url, "the search")
    assert browser.find_elements(By.PARTIAL_LINK_TEXT, "Zebra report")
    browser.find_element(By.ID, "q").clear()
    browser.find_element(By.ID, "q").send_keys("giraffe", Keys.ENTER)
    _until(lambda: "q=giraffe" in browser.current_url, "the second search")
    assert not browser.find_elements(By.PARTIAL_LINK_TEXT, "Zebra report")
    browser.back()

    browser.find_element(By.PARTIAL_LINK_TEXT, "Zebra report").click()
    _until(lambda: browser.find_elements(By.ID, "path"), "the message page")
    path = browser.find_element(By.ID, "path").text
    assert "archive matched" in path
    assert "sales-only not matched" in path
    assert "switched-off disabled" in path
    action = browser.find_element(By.CSS_SELECTOR, "ol.actions > li")
    assert "retrying" in action.text
    assert "NoSuchBucket" in action.text

    # the HTML: sandboxed, its script inert, its remote image not fetched
    frame = browser.find_element(By.CSS_SELECTOR, "iframe.mail-html")
    assert frame.get_attribute("sandbox") == ""
    browser.switch_to.frame(frame)
    assert _until(lambda: browser.find_elements(By.ID, "greeting"), "the HTML")[0].text.startswith(
        "Hello"
    )
    assert browser.execute_script("return document.getElementById('remote').naturalWidth") == 0
    browser.switch_to.default_content()
    assert browser.title != "owned"
    time.sleep(0.3)
    assert asked == []

    # the attachment, downloaded
    browser.find_element(By.LINK_TEXT, "report.pdf").click()
    saved = Path(browser.downloads) / "report.pdf"
    _until(saved.exists, "the download")
    assert _until(lambda: saved.read_bytes() == ATTACHMENT, "the whole download")

    # retry now: the trace updates itself
    browser.find_element(By.XPATH, "//button[text()='Retry now']").click()
    _until(lambda: "delivered" in _text(browser, "ol.actions > li"), "the retried action")
    assert "s3://mail-archive/in/" in _text(browser, "#path")

    # remote content only when asked
    browser.find_element(By.LINK_TEXT, "Load remote content").click()
    _until(lambda: asked, "the remote image, once asked for")
    assert asked == ["/pixel.gif"]


def test_the_rules_editor_saves_through_the_api_validation(
    browser: Any, inbound_server: Any
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(inbound_server.api_url + "/ui/rules")
    editor = browser.find_element(By.ID, "rules-document")
    document = json.loads(editor.get_property("value"))
    rule = document["RuleSets"][0]["Rules"][0]

    def save(changed: dict[str, Any]) -> None:
        area = browser.find_element(By.ID, "rules-document")
        browser.execute_script("arguments[0].value = arguments[1]", area, json.dumps(changed))
        browser.find_element(By.XPATH, "//button[text()='Save rules']").click()

    rule["Name"] = "not a valid name!"
    save(document)
    status = _until(lambda: _text(browser, "#rules-status").startswith("not saved"), "the refusal")
    assert status
    assert "ValidationError: 1 validation error detected" in _text(browser, "#rules-status")
    assert inbound_server.get("/api/rules")["RuleSets"][0]["Rules"][0]["Name"] == "catch-all"

    rule["Name"] = "renamed"
    save(document)
    _until(lambda: browser.find_elements(By.XPATH, "//h3/span[text()='renamed']"), "the new rule")
    assert inbound_server.get("/api/rules")["RuleSets"][0]["Rules"][0]["Name"] == "renamed"


@pytest.mark.inbound_rules(UI_RULES)
def test_keyboard_phone_width_and_dark_theme(browser: Any, inbound_server: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    inbound_server.send("alice@sender.test", ["user@example.com"], rich_message("Keyboard"))
    inbound_server.wait_idle()
    browser.get(inbound_server.api_url + "/ui/received")
    try:
        # the first Tab reaches "Skip to content", visibly focused; Enter moves into main
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        skip = browser.switch_to.active_element
        assert skip.text == "Skip to content"
        assert skip.value_of_css_property("outline-style") == "solid"
        skip.send_keys(Keys.ENTER)
        assert browser.switch_to.active_element.get_attribute("id") == "main"
        # then the search, the filters, and the first message, in reading order
        order = []
        for _ in range(6):
            browser.switch_to.active_element.send_keys(Keys.TAB)
            order.append(browser.switch_to.active_element.text or "")
            order[-1] = browser.switch_to.active_element.get_attribute("id") or order[-1]
        assert order == ["q", "status", "rule", "type", "Filter", "Keyboard"]
        opened = browser.switch_to.active_element
        assert opened.text == "Keyboard"
        opened.send_keys(Keys.ENTER)
        _until(lambda: browser.find_elements(By.ID, "path"), "the message, opened by keyboard")

        # a phone's width: nothing wider than the screen
        emulate(browser, 390, 844, "light")
        browser.get(inbound_server.api_url + "/ui/received")
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390
        browser.back()
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390

        # the system's dark setting gives the dark theme
        emulate(browser, 1280, 800, "dark")
        browser.get(inbound_server.api_url + "/ui/received")
        background = browser.find_element(By.TAG_NAME, "body").value_of_css_property(
            "background-color"
        )
        assert background == "rgba(13, 17, 23, 1)"
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
