"""Helpers of the web UI's tests: mail with every kind of content, plain HTTP requests."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.message import Message as HttpHeaders
from pathlib import Path
from typing import Any

import pytest

from inbound.config import RetrySettings
from inbound.testing import RunningInbound
from tests.receiving.test_retries import FlakyObjects, start
from tests.rulesets import rule, rules, s3

DESKTOP = (1280, 800)
ATTACHMENT = b"%PDF-1.4 not really a pdf\x00\x01\x02"
UI_RULES = rules(
    rule("archive", s3("mail-archive", prefix="in/"), recipients=["example.com"]),
    rule("sales-only", recipients=["sales@other.test"]),
    {**rule("switched-off"), "Enabled": False},
)


def rich_message(
    subject: str, *, body: str = "plain text body", remote_image: str = "", to: str = ""
) -> bytes:
    """Text, HTML (with hostile markup and, if given, a remote image) and a PDF attachment."""
    mail = EmailMessage()
    mail["From"] = "Alice <alice@sender.test>"
    mail["To"] = to or "user@example.com"
    mail["Subject"] = subject
    mail.set_content(body)
    image = f'<img id="remote" src="{remote_image}" alt="tracker">' if remote_image else ""
    mail.add_alternative(
        f"<html><body><h1 id='greeting'>Hello <b>{subject}</b></h1>{image}"
        "<script>parent.document.title='owned'</script></body></html>",
        subtype="html",
    )
    mail.add_attachment(ATTACHMENT, maintype="application", subtype="pdf", filename="report.pdf")
    return mail.as_bytes()


def failing_once(inbound_factory: Any) -> RunningInbound:
    """A server with `UI_RULES` whose S3 action fails once; automatic retries are an hour off,
    so only "retry now" retries it."""
    return start(  # type: ignore[no-any-return]
        inbound_factory,
        FlakyObjects(failures=1),
        UI_RULES,
        retries=RetrySettings(initial_seconds=3600, max_seconds=3600),
    )


@dataclass
class Answer:
    status: int
    headers: HttpHeaders
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


def fetch(url: str, *, method: str = "GET", data: bytes | None = None, **headers: str) -> Answer:
    """One request, its answer whatever the status; redirects are not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(
        url, data=data, method=method, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )
    try:
        with opener.open(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


def chromium(downloads: Path) -> Any:
    """Headless Debian chromium through chromedriver at the desktop size, saving downloads
    into `downloads`; None when either is not installed."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        return None
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    session = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))
    session.downloads = downloads
    return session


def emulate(browser: Any, width: int, height: int, scheme: str) -> None:
    """A screen of `width` x `height` CSS pixels (a phone's below 600) whose system setting
    is the `scheme` ("light" or "dark") theme."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One browser per test worker; skips visibly without chromium (.ci/run installs it)."""
    session = chromium(tmp_path_factory.mktemp("downloads"))
    if session is None:
        pytest.skip("chromium and chromium-driver are not installed (apt-get install them)")
    yield session
    session.quit()
