"""A server that receives mail without DNS, WorkMail or a browser never loads the libraries only
those need (issue 15 item 4: idle RSS; benchmarks/RESULTS.md, "Memory"): each is megabytes a
running process would keep. Nor the engine's own modules for what a server may never be asked:
the S3, KMS and SNS APIs, the embedded Lambda, the OpenAPI description, SES v2's operations,
the outbox's relay, the UI's pages (issue 16: the default server keeps its memory;
docs/aws-endpoints.md, "Memory"). With a zone, unsigned mail does not load what DKIM needs
either.
Checked in a fresh interpreter, since this one has loaded them all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# What each library is for: it loads with the first use of that, not before.
SIGNED = {
    "dkim": "the first DKIM-signed message",
    "cryptography": "DKIM verification, key generation in a child process",
    "nacl": "ed25519 DKIM (dkimpy)",
}
DNS = {
    "spf": "SPF ([dns])",
    "publicsuffixlist": "DMARC ([dns])",
    "dns": "[dns] zone or resolver",
}
LAZY = {
    **SIGNED,
    **DNS,
    "jinja2": "the web UI's first page",
    "mailbox": "the first WorkMail delivery",
    "botocore": "the first SES API call",
    "importlib.metadata": "inbound --version",
    "inbound.api.aws.s3": "the first S3 API request",
    "inbound.api.aws.kms": "the first KMS API request",
    "inbound.api.aws.sns": "the first SNS API request",
    "inbound.backends.local_lambda": "the first Lambda function invoked or checked",
    "inbound.api.openapi": "the first GET /api/openapi.json",
    "inbound.api.v2.operations": "the first SES v2 request",
    "inbound.outbox.relay": "a [relay] smarthost",
    "inbound.web.pages": "the web UI's first page",
}

SCRIPT = """
import asyncio, contextlib, dataclasses, io, json, smtplib, sys, urllib.request
from pathlib import Path
from inbound import config, eventloop
from inbound.app import InboundServer
from inbound.cli import main
from inbound.rules import codec

with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(["serve", "--help"])  # the parser `inbound serve` builds, built

ACTIONS = [
    {"AddHeaderAction": {"HeaderName": "X-Rule", "HeaderValue": "1"}},
    {"S3Action": {"BucketName": "mail"}},
    {"SNSAction": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:mail"}},
]
RULE = {"Name": "all", "Enabled": True, "Recipients": ["example.com"], "Actions": ACTIONS}
RULES = {"ActiveRuleSet": "s", "RuleSets": [{"Metadata": {"Name": "s"}, "Rules": [RULE]}]}


def send(host, port):
    with smtplib.SMTP(host, port) as client:
        client.sendmail("a@sender.test", ["u@example.com"], b"Subject: hi\\r\\n\\r\\nhello\\r\\n")


async def run(data, zone):
    at = config.Address("127.0.0.1", 0)
    settings = config.Settings(smtp=at, http=at, data_dir=data, verified=frozenset({"example.com"}))
    settings = settings.clone(
        state=codec.parse_rules(RULES, settings.verified, settings.region),
        sending=dataclasses.replace(settings.sending, smtp=None, smtps=None),
    )
    if zone:
        from inbound.dns.zone import Zone

        settings = settings.clone(dns=config.DnsSettings(zone=Zone.from_text(zone)))
    server = InboundServer(settings)
    await server.start()
    try:
        await asyncio.to_thread(send, *server.smtp_address)
        await server.engine.drain()
        stats = await asyncio.to_thread(urllib.request.urlopen, server.http_url + "/api/stats")
        assert json.loads(stats.read())["pending"] == 0
        assert [m.status for m in server.store.messages()] == ["done"]
    finally:
        await server.stop()


eventloop.run(run(Path(sys.argv[1]), sys.argv[2]))
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(data: Path, zone: str = "") -> set[str]:
    """Every module (and its top-level package) a fresh server has loaded once it has received
    and processed one unsigned message."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data), zone],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {
        n for name in json.loads(done.stdout.splitlines()[-1]) for n in (name, name.split(".")[0])
    }


def test_receiving_without_dns_loads_none_of_the_optional_libraries(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path / "data")
    assert "aiohttp" in loaded and "inbound" in loaded  # the check sees what the server loaded
    assert {name: LAZY[name] for name in LAZY.keys() & loaded} == {}


def test_unsigned_mail_with_a_zone_loads_nothing_dkim_needs(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path / "data", 'sender.test. 300 IN TXT "v=spf1 -all"\n')
    assert DNS.keys() <= loaded  # authentication ran: SPF and DMARC were evaluated
    assert {name: SIGNED[name] for name in SIGNED.keys() & loaded} == {}
