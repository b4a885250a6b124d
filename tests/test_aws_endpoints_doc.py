"""docs/aws-endpoints.md's examples, run as a reader would run them: each `python` block marked
`<!-- run -->` in a process of its own with only the page's `sh` environment (the engine's
addresses replaced by a real `inbound serve`'s ephemeral ones), against the shipped config
plus the page's `<!-- lambda.functions -->` line; `# file: NAME` blocks are written beside the
config first."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.receiving.test_restart import _start

ROOT = Path(__file__).parent.parent
PAGE = ROOT / "docs" / "aws-endpoints.md"
HTTP, SMTP = "http://127.0.0.1:4525", '"127.0.0.1", 2525'  # as the examples write them
BLOCK = re.compile(r"^(<!-- [\w.]+ -->\n)?```(\w+)\n(.*?)^```$", re.S | re.M)


def blocks(language: str, marker: str = "") -> list[str]:
    """The page's blocks in `language`, only those after `<!-- marker -->` if one is given."""
    found = BLOCK.findall(PAGE.read_text())
    wanted = f"<!-- {marker} -->\n" if marker else None
    return [b for m, lang, b in found if lang == language and wanted in (None, m)]


def examples() -> list[str]:
    return blocks("python", "run")


def environment(http_url: str) -> dict[str, str]:
    """The page's `export`s, on top of the test's environment without its AWS_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    exports = next(b for b in blocks("sh") if "AWS_ENDPOINT_URL=" in b)
    for line in exports.splitlines():
        assignments = line.removeprefix("export ").split()
        env.update(a.replace(HTTP, http_url).split("=", 1) for a in assignments)
    return env


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("config")
    for name in ("inbound.toml", "rules.json", "handlers.py", "dns.zone"):
        shutil.copy(ROOT / "config" / name, folder / name)
    for file in (b for b in blocks("python") if b.startswith("# file: ")):
        (folder / file.split("\n", 1)[0].removeprefix("# file: ")).write_text(file)
    config = folder / "inbound.toml"
    [functions] = blocks("toml", "lambda.functions")
    config.write_text(
        config.read_text().replace("[lambda.functions]\n", f"[lambda.functions]\n{functions}")
    )
    process, smtp_port, http_url = _start(config, folder / "data")
    yield folder, smtp_port, http_url
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0


def test_the_page_has_an_example_of_each_service() -> None:
    text = PAGE.read_text()
    for client in (
        'client("ses")',
        'client("sesv2")',
        'client("s3")',
        'client("kms")',
        'client("sns")',
    ):
        assert any(client in example for example in examples()), client
    assert any(b.startswith("# file: ") and "boto3.client" in b for b in blocks("python")), text


@pytest.mark.parametrize("number", range(len(examples())))
def test_each_example_runs_against_the_engine(engine, number: int) -> None:
    folder, smtp_port, http_url = engine
    code = examples()[number].replace(HTTP, http_url).replace(SMTP, f'"127.0.0.1", {smtp_port}')
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=environment(http_url),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
