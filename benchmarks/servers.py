"""Start, probe and stop the servers under test: the bare sink, the engine and Haraka.

Each measurement gets a fresh server process, so its CPU time and peak RSS (VmHWM) belong to
that measurement alone. CPU time is utime+stime from /proc/<pid>/stat (threads included); peak
RSS is VmHWM from /proc/<pid>/status. Both count the server process and its descendants (the
engine's `--workers` and its authentication child, Haraka's `nodes`): the CPU of all of them
(those that ended: their parent's cutime+cstime), the sum of their VmHWM.
"""

from __future__ import annotations

import asyncio
import compileall
import functools
import io
import json
import os
import re
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
# The engine's helper processes, by what their command line runs: no event loop of theirs
HELPERS = (b"\0inbound.store\0", b"\0inbound.receiving.authentication\0")
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


def rule(
    name: str, recipients: list[str], actions: list[dict[str, Any]] = ACTIONS
) -> dict[str, Any]:
    return {
        "Name": name,
        "Enabled": True,
        "TlsPolicy": "Optional",
        "ScanEnabled": False,
        "Recipients": recipients,
        "Actions": actions,
    }


def rule_set(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Filters": [],
        "ActiveRuleSet": "default",
        "RuleSets": [{"Metadata": {"Name": "default"}, "Rules": rules}],
    }


# Haraka, the peer (benchmarks/README.md, "Haraka"): installed from the npm registry by
# `make bench` (`npm ci` in this folder), run with node in one process, its job done by the
# local plugin `plugins/inbound_bench.js`.
HARAKA_DIR = ROOT / "benchmarks" / "haraka"
HARAKA_BIN = HARAKA_DIR / "node_modules" / "Haraka" / "bin" / "haraka"


def haraka_config(port: int, store: Path, notifications: Path, nodes: int = 0) -> dict[str, str]:
    """Haraka's config files (name under ``config/`` -> text): one process (``nodes`` unset
    would fork a cluster worker; ``nodes``: a master and that many cluster workers), listening
    on 127.0.0.1:``port``, the local plugin alone, logging warnings only (the engine logs
    nothing per accepted message either)."""
    return {
        "smtp.ini": f"[main]\nlisten=127.0.0.1:{port}\nnodes={nodes}\n",
        "plugins": "inbound_bench\n",
        "log.ini": "[main]\nlevel=warn\ntimestamps=false\n",
        "me": "haraka.bench\n",
        "inbound_bench.ini": f"[main]\nstore={store}\nnotifications={notifications}\n",
    }


def haraka_available() -> tuple[bool, str]:
    """Whether Haraka can run here (node found, the package installed) and why not."""
    if shutil.which("node") is None:
        return False, "node not found"
    if not HARAKA_BIN.exists():
        return False, "not installed (`make bench` installs it into benchmarks/haraka/)"
    return True, f"Haraka {haraka_version()}"


def haraka_version() -> str:
    package = HARAKA_BIN.parent.parent / "package.json"
    return str(json.loads(package.read_text())["version"])


def _stat(path: Path) -> list[str]:
    """The fields of a /proc stat file after the command's name (``state`` first)."""
    text = path.read_text()
    return text[text.rindex(")") + 2 :].split()


def system_busy_seconds() -> float:
    """CPU time spent by all processes on all CPUs (user + nice + system), in seconds."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[1]) + int(fields[2]) + int(fields[3])) / CLK_TCK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Data dirs on tmpfs, where fsync returns at once: the engine without durable accept, for
# measuring what durability costs (no config key turns fsync off). Removed at the end of a run.
TMPFS = Path("/dev/shm") / f"inbound-bench-{os.getpid()}"

# Where the engine runs from (``python -m inbound`` finds the package in its working directory).
# ``snapshot_engine`` points it at a copy, so that edits to inbound/ during a run do not mix
# engine versions within one set of figures.
ENGINE_DIR = ROOT


@functools.cache
def byte_compile(engine_dir: Path) -> None:
    """Compile the engine's modules to `__pycache__` before it starts, as an installed package
    is (pip and the Docker image compile them): with PYTHONDONTWRITEBYTECODE set, as on the
    machine these figures come from, every start compiled ~210 modules from source, which
    cost time and about 1 MB of RSS that an installed engine does not hold (benchmarks/
    RESULTS.md, "Memory: issue 15 item 4"). `defaults/` links to config/, which ships as is."""
    compileall.compile_dir(engine_dir / "inbound", quiet=1, rx=re.compile(r"[/\\]defaults[/\\]"))


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
    processes: int = 1  # how many it runs once ready (a supervisor or master and its workers)
    ready: str = ""  # a line its log prints once every process serves

    @classmethod
    def sink(
        cls,
        workdir: Path,
        *,
        raw: bool = False,
        http: bool = False,
        uvloop: bool = False,
        job: bool = False,
        group_commit: bool = False,
        processes: int = 1,
    ) -> Server:
        """The bare sink; with `http`, also answering `GET /api/stats` with aiohttp; with
        `uvloop`, on the loop the engine runs on (inbound/eventloop.py) instead of asyncio's;
        with `job`, doing the catch-all rule's job as Haraka's plugin does (files in
        `workdir`/store), with `group_commit` its messages in one file synced together;
        `processes`: that many on the port (SO_REUSEPORT), each with its own files."""
        port, http_port = free_port(), free_port() if http else None
        argv = [sys.executable, "-m", "benchmarks.sink", "--port", str(port)]
        argv += ["--raw"] if raw else []
        argv += ["--uvloop"] if uvloop else []
        if job:
            (workdir / "store").mkdir()
            argv += ["--job", str(workdir / "store")]
            argv += ["--group-commit"] if group_commit else []
        argv += ["--http", str(http_port)] if http_port else []
        argv += ["--processes", str(processes)] if processes > 1 else []
        ready = f"sink: {processes} processes listening" if processes > 1 else ""
        return cls(argv, port, workdir / "server.log", http_port=http_port, processes=processes,
                   ready=ready)  # fmt: skip

    @classmethod
    def engine(
        cls,
        workdir: Path,
        rules: dict[str, Any],
        *,
        sending: bool = False,
        zone: str = "",
        volatile: bool = False,
        store_url: str = "",
        workers: int = 1,
    ) -> Server:
        """The engine with ``rules``; with ``sending``, also set up to send (``SENDING``); with
        a ``zone``, that zone file as its DNS (without one it has no DNS: authentication is
        not evaluated); ``volatile``: its data dir on tmpfs (``TMPFS``); ``store_url``: its
        ``[store] url`` (a PostgreSQL database; empty: the SQLite file of its data dir);
        ``workers``: that many worker processes (docs/workers.md)."""
        byte_compile(ENGINE_DIR)
        submission = free_port() if sending else None
        key, secret = ACCESS_KEY
        extra = SENDING.format(key=key, secret=secret, port=submission) if sending else None
        store = f"[store]\nurl = {json.dumps(store_url)}\n" if store_url else ""
        (workdir / "inbound.toml").write_text(TOML + (extra or RECEIVING_ONLY) + store)
        (workdir / "rules.json").write_text(json.dumps(rules))
        if zone:  # `dns.zone` beside the config is the [dns] default
            (workdir / "dns.zone").write_text(zone)
        data = TMPFS / workdir.name if volatile else workdir / "data"
        data.mkdir(parents=True)
        smtp, http = free_port(), free_port()
        argv = [
            *(sys.executable, "-m", ENGINE_MODULE, "serve"),
            *("--config", str(workdir / "inbound.toml")),
            *("--smtp", f"127.0.0.1:{smtp}", "--http", f"127.0.0.1:{http}"),
            *("--data", str(data)),
            *(("--workers", str(workers)) if workers > 1 else ()),
        ]
        log = workdir / "server.log"
        return cls(argv, smtp, log, http_port=http, submission_port=submission, cwd=ENGINE_DIR,
                   processes=1 + workers if workers > 1 else 1,
                   ready="workers: " if workers > 1 else "")  # fmt: skip

    @classmethod
    def haraka(cls, workdir: Path, nodes: int = 0) -> Server:
        """Haraka with ``haraka_config``; its home (``-c``) is ``workdir``/haraka, the local
        plugins linked into it, messages stored under ``store/``."""
        home, port = workdir / "haraka", free_port()
        (home / "config").mkdir(parents=True)
        (home / "plugins").symlink_to(HARAKA_DIR / "plugins")
        (workdir / "store").mkdir()
        files = haraka_config(port, workdir / "store", workdir / "notifications.jsonl", nodes)
        for name, text in files.items():
            (home / "config" / name).write_text(text)
        # Haraka's own defaults for the connection (messages, limits), as `haraka -i` copies them
        stock = HARAKA_BIN.parent.parent / "config" / "connection.ini"
        shutil.copy(stock, home / "config" / "connection.ini")
        argv = [shutil.which("node") or "node", str(HARAKA_BIN), "-c", str(home)]
        return cls(argv, port, workdir / "server.log", processes=1 + nodes)

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
                if await self._greeting() and self._all_serving():
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

    def _all_serving(self) -> bool:
        if self.ready and self.ready not in self.log.read_text(errors="replace"):
            return False
        return len(self.tree()) >= self.processes

    def tree(self) -> list[int]:
        """The server process and its descendants."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int(_stat(entry / "stat")[1])
                except (OSError, ValueError):  # ended meanwhile
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def cpu_seconds(self, *, main_thread: bool = False) -> float:
        """utime+stime of the server's processes (all their threads, or the main threads of
        those that run an event loop: the engine's and its workers', the sink's, Haraka's;
        not the engine's helper processes, `HELPERS`), in seconds, with the cutime+cstime of
        those that ended."""
        total = 0
        for pid in self.tree():
            try:
                if main_thread:
                    if any(h in Path(f"/proc/{pid}/cmdline").read_bytes() for h in HELPERS):
                        continue
                    fields = _stat(Path(f"/proc/{pid}/task/{pid}/stat"))
                    total += sum(int(f) for f in fields[11:13])
                else:
                    fields = _stat(Path(f"/proc/{pid}/stat"))
                    total += sum(int(f) for f in fields[11:15])
            except OSError:  # ended meanwhile: in its parent's cutime next time
                continue
        return total / CLK_TCK

    def status_kb(self, key: str, *, largest: bool = False) -> int:
        """``key`` of /proc/<pid>/status, summed over the server's processes (or the largest
        process's: issue 15's memory targets are per process)."""
        found = []
        for pid in self.tree():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            found.append(sum(int(ln.split()[1]) for ln in lines if ln.startswith(key + ":")))
        return max(found, default=0) if largest else sum(found)

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
