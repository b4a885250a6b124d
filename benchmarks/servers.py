"""Start, probe and stop the servers under test: the bare sink and the engine.

Each measurement gets a fresh server process, so its CPU time and peak RSS (VmHWM) belong to
that measurement alone. CPU time is utime+stime of the server process from /proc/<pid>/stat
(threads included); peak RSS is VmHWM from /proc/<pid>/status.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The module run as the engine (``python -m <module> serve ...``): another build can stand in.
ENGINE_MODULE = os.environ.get("INBOUND_BENCH_ENGINE", "inbound")

ACTIONS: list[dict[str, Any]] = [
    {"AddHeaderAction": {"HeaderName": "X-Inbound", "HeaderValue": "bench"}},
    {"S3Action": {"BucketName": "bench-bucket", "ObjectKeyPrefix": "mail/"}},
    {
        "SNSAction": {
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:bench",
            "Encoding": "UTF-8",
        }
    },
]

TOML = """\
[server]
rules = "rules.json"
[account]
region = "us-east-1"
account_id = "123456789012"
[identities]
verified = ["example.com"]
"""

# The SMTP interface stays off unless a sending scenario needs it: on its default port it would
# collide with any other engine running on the machine.
RECEIVING_ONLY = """\
[sending]
smtp = ""
"""

# Sending at full speed: out of the sandbox (any recipient), quotas that never throttle, and
# AUTH without TLS on the loopback SMTP interface, with credentials from this access key.
ACCESS_KEY = ("AKIAINBOUNDBENCH0000", "inbound-benchmark-secret")
SENDING = """\
[api.credentials]
{key} = "{secret}"
[sending]
production = true
max_send_rate = 1000000
max_24_hour_send = 1000000000
smtp = "127.0.0.1:{port}"
smtp_allow_plain_auth = true
"""


def rule(name: str, recipients: list[str]) -> dict[str, Any]:
    return {
        "Name": name,
        "Enabled": True,
        "TlsPolicy": "Optional",
        "ScanEnabled": False,
        "Recipients": recipients,
        "Actions": ACTIONS,
    }


def rule_set(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Filters": [],
        "ActiveRuleSet": "default",
        "RuleSets": [{"Metadata": {"Name": "default"}, "Rules": rules}],
    }


def system_busy_seconds() -> float:
    """CPU time spent by all processes on all CPUs (user + nice + system), in seconds."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[1]) + int(fields[2]) + int(fields[3])) / CLK_TCK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Where the engine runs from (``python -m inbound`` finds the package in its working directory).
# ``snapshot_engine`` points it at a copy, so that edits to inbound/ during a run do not mix
# engine versions within one set of figures.
ENGINE_DIR = ROOT


def snapshot_engine(dest: Path, rev: str | None = None) -> Path:
    """Copy the ``inbound`` package (from the working tree, or as of git revision ``rev``) to
    ``dest``/inbound and run the engine from there. As of a revision, ``config/`` comes too:
    the package's ``defaults/`` are links to it."""
    global ENGINE_DIR
    if rev is None:
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / "inbound", dest / "inbound", ignore=ignore)
    else:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", rev, "inbound", "config"],
            cwd=ROOT,
            capture_output=True,
        )
        if archive.returncode != 0:
            raise SystemExit(f"git archive {rev}: {archive.stderr.decode().strip()}")
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(dest, filter="data")
    ENGINE_DIR = dest
    return dest


def _env(first: Path = ROOT) -> dict[str, str]:
    env = dict(os.environ)
    paths = (str(first), str(ROOT), env.get("PYTHONPATH"))
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in paths if p))
    return env


def engine_available() -> tuple[bool, str]:
    """Whether ``python -m inbound --help`` works with this interpreter (and why not)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", ENGINE_MODULE, "--help"],
            cwd=ENGINE_DIR,
            env=_env(ENGINE_DIR),
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
    return proc.returncode == 0, tail[0]


@dataclass
class Server:
    """A server process listening for SMTP on 127.0.0.1:``smtp_port``."""

    argv: list[str]
    smtp_port: int
    log: Path
    http_port: int | None = None
    submission_port: int | None = None  # the SES SMTP interface, when the engine serves it
    cwd: Path = ROOT
    proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def sink(cls, workdir: Path, *, raw: bool = False) -> Server:
        port = free_port()
        argv = [sys.executable, "-m", "benchmarks.sink", "--port", str(port)]
        return cls(argv + (["--raw"] if raw else []), port, workdir / "server.log")

    @classmethod
    def engine(
        cls, workdir: Path, rules: dict[str, Any], *, sending: bool = False, zone: str = ""
    ) -> Server:
        """The engine with ``rules``; with ``sending``, also set up to send (``SENDING``); with
        a ``zone``, that zone file as its DNS (without one it has no DNS: authentication is
        not evaluated)."""
        submission = free_port() if sending else None
        key, secret = ACCESS_KEY
        extra = SENDING.format(key=key, secret=secret, port=submission) if sending else None
        (workdir / "inbound.toml").write_text(TOML + (extra or RECEIVING_ONLY))
        (workdir / "rules.json").write_text(json.dumps(rules))
        if zone:  # `dns.zone` beside the config is the [dns] default
            (workdir / "dns.zone").write_text(zone)
        (workdir / "data").mkdir()
        smtp, http = free_port(), free_port()
        argv = [
            *(sys.executable, "-m", ENGINE_MODULE, "serve"),
            *("--config", str(workdir / "inbound.toml")),
            *("--smtp", f"127.0.0.1:{smtp}", "--http", f"127.0.0.1:{http}"),
            *("--data", str(workdir / "data")),
        ]
        log = workdir / "server.log"
        return cls(argv, smtp, log, http_port=http, submission_port=submission, cwd=ENGINE_DIR)

    async def start(self, timeout: float = 30.0) -> None:
        with self.log.open("wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                self.argv, cwd=self.cwd, env=_env(self.cwd), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if await self._greeting():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"no 220 greeting within {timeout}s: {self.log_tail()}")
            await asyncio.sleep(0.05)

    async def _greeting(self) -> bool:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.smtp_port)
        try:
            line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
            while line[3:4] == b"-":
                line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
            writer.write(b"QUIT\r\n")
            await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
            return line.startswith(b"220 ")
        except (TimeoutError, asyncio.IncompleteReadError):
            return False
        finally:
            writer.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """utime+stime of the server process (all its threads), in seconds."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def status_kb(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def stats(self) -> dict[str, int] | None:
        """The engine's ``GET /api/stats``; None for the sink or when it does not answer."""
        if self.http_port is None:
            return None
        url = f"http://127.0.0.1:{self.http_port}/api/stats"
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                data = json.loads(resp.read())
        except (OSError, ValueError):
            return None
        return {key: int(value) for key, value in data.items()}

    async def drained(
        self, expected: int, timeout: float = 120.0, *, sent: bool = False
    ) -> tuple[float | None, str]:
        """Poll until ``pending == 0`` and ``messages >= expected`` (with ``sent``: the Send*
        counters ``sentPending`` and ``sent``).

        Returns (perf_counter time when drained or None, note).
        """
        done, pending = ("sent", "sentPending") if sent else ("messages", "pending")
        if self.http_port is None:
            return time.perf_counter(), ""
        deadline = time.monotonic() + timeout
        short_since: float | None = None
        while time.monotonic() < deadline:
            stats = self.stats()
            now = time.perf_counter()
            if stats is None:
                return None, "GET /api/stats did not answer"
            if stats[pending] == 0:
                if stats[done] >= expected:
                    return now, ""
                short_since = short_since or now
                if now - short_since > 2.0:
                    return now, f"stats.{done} {stats[done]} < expected {expected}"
            await asyncio.sleep(0.02)
        return None, f"not drained within {timeout:.0f}s"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])
