"""Screenshots of the web UI for docs/ui.md and the README: the main views at 1280x800 in the
light and the dark theme, and at a phone's 390 px width. Run from the repository root:

    .venv/bin/python -m tests.web.screenshots          # writes docs/img/ui-*.png

A real server on ephemeral ports with a demo rule set, mail sent over SMTP (one action fails
on purpose, so the trace shows a retry), and the same headless chromium the tests drive.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from inbound.config import RetrySettings
from inbound.testing import RunningInbound, make_settings
from tests.receiving.test_retries import FlakyObjects
from tests.rulesets import TOPIC, add_header, rule, rules, s3, sns, stop
from tests.web.conftest import DESKTOP, chromium, emulate, rich_message

PHONE = (390, 844)
DEMO_RULES = rules(
    rule(
        "archive",
        add_header("X-Archived", "yes"),
        s3("mail-archive", prefix="in/"),
        sns(TOPIC),
        recipients=["example.com"],
    ),
    rule("support-desk", s3("support"), stop(), recipients=["support@example.com"]),
    rule("sales-only", recipients=["sales@other.test"]),
    {**rule("legacy-forward"), "Enabled": False},
)
MAIL = (
    ("alice@sender.test", "user@example.com", "Quarterly numbers"),
    ("bob@partner.test", "support@example.com", "Printer on fire"),
    ("carol@shop.test", "orders@example.com", "Your order #4411 has shipped"),
    ("dave@news.test", "user@example.com", "Weekly digest: what changed"),
)


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp())
    flaky = FlakyObjects(failures=1)  # the first S3 write fails: a retry to show
    settings = make_settings(
        work / "data", DEMO_RULES, retries=RetrySettings(initial_seconds=3600, max_seconds=3600)
    )
    server = RunningInbound(settings, make_backends=flaky.factory)
    browser = chromium(work / "downloads")
    if browser is None:
        sys.exit("chromium and chromium-driver are not installed")
    try:
        for sender, to, subject in MAIL:
            server.send(sender, [to], rich_message(subject, to=to, body=f"About {subject}."))
        server.wait_idle()
        first = server.listing("/api/messages")[0]["messageId"]
        views = {
            "list": "/ui/received",
            "message": f"/ui/received/{first}#path",
            "rules": "/ui/rules",
        }
        for scheme in ("light", "dark"):
            for name, path in views.items():
                shot(
                    browser,
                    server.api_url + path,
                    DESKTOP,
                    scheme,
                    folder / f"ui-{name}-{scheme}.png",
                )
        for name in ("list", "message"):
            shot(
                browser,
                server.api_url + views[name],
                PHONE,
                "light",
                folder / f"ui-{name}-phone.png",
            )
    finally:
        browser.quit()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def shot(browser: Any, url: str, size: tuple[int, int], scheme: str, path: Path) -> None:
    emulate(browser, *size, scheme)
    browser.get(url)
    time.sleep(0.5)  # the frame with the message's HTML loads
    browser.save_screenshot(str(path))
    print(path)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/img"))
