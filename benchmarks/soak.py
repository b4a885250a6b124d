"""Soak test (issue 18 item 9): a real `inbound serve` under sustained mixed load, killed with
SIGKILL every `--kill-every` seconds and restarted, on loopback only.

    make soak                                        # ~5 minutes; figures into docs/reliability.md
    python -m benchmarks.soak --duration 3600 --kill-every 60 --concurrency 16
    python -m benchmarks.soak --duration 10 --kill-every 5   # a smoke run

Load (`soak_traffic.py`): `--concurrency` clients, each on connections of one to five sessions
of a mix: valid mail to the steady rule (an AddHeader, an embedded S3 object and an embedded
SNS publication per message), valid mail with a refused recipient beside it, mail to the rules
the churn is changing, refused recipients (550), messages over the size limit (552), broken
commands, binary garbage and connections reset in the middle of DATA. Beside it
(`soak_rules.py`), a receipt rule created, updated or deleted every `--rule-every` seconds
through the SES v1 API.

Each life of the engine: started on the same data dir; its RSS and descriptors sampled at once
("start") and just before it is killed ("loaded"); then SIGKILL. At the end (`--duration`
passed or `--max-messages` sessions made): a clean stop, a last start, the engine drained
(`pending` 0), and the checks:

- exactly once: every message that got `250` was stored once, is done, and has one S3 object
  and one SNS publication; a message whose `250` a kill cut off (in doubt) has none or one of
  each; nothing else was stored (no refused, oversized or dropped message, no second copy);
  each object the churned rules wrote belongs to a message sent to them;
- flat: RSS and descriptors of every life at the same point ("start", "loaded") stay within
  a tolerance of the first life's (`Flatness`);
- no reply carried an exception's text, no server log a traceback, no API call an error
  other than "unavailable" while the engine was down or starting.

Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import servers
from benchmarks.soak_rules import CHURN_BUCKET, RuleChurn, pause
from benchmarks.soak_traffic import SOAK, Ledger, Lost, Mix, Session, transaction

BUCKET = servers.ACTIONS[1]["S3Action"]["BucketName"]
TOPIC = servers.ACTIONS[2]["SNSAction"]["TopicArn"]
SETUP = "AMAZON_SES_SETUP_NOTIFICATION"  # what SES writes when a rule with an S3 action is saved
_NEXT = re.compile(r'<([^>]*)>;\s*rel="next"')
_SOAK_ID = re.compile(rb"^X-Soak-Id: (\w+)", re.MULTILINE)


@dataclass(frozen=True)
class Plan:
    duration: float = 270.0
    kill_every: float = 30.0
    concurrency: int = 8
    max_messages: int = 200_000  # sessions in all: the count bound
    rule_every: float = 1.0
    max_size: int = 100_000  # the engine's [server] max_message_size
    seed: int = 1

    def command(self) -> str:
        changed = [
            f"--{name.replace('_', '-')} {value:g}"
            for name, value in vars(self).items()
            if value != getattr(Plan, name)
        ]
        return " ".join(["python -m benchmarks.soak", *changed])


@dataclass(frozen=True)
class Sample:
    life: int
    point: str  # "start" (greeted, before the load resumes), "loaded" (just before the kill)
    rss_kb: int
    files: int  # descriptors that are not sockets
    sockets: int


def sample(server: servers.Server, life: int, point: str) -> Sample:
    links = []
    for fd in os.listdir(f"/proc/{server.pid}/fd"):
        with contextlib.suppress(FileNotFoundError):  # closed while listed
            links.append(os.readlink(f"/proc/{server.pid}/fd/{fd}"))
    sockets = sum(link.startswith("socket:") for link in links)
    return Sample(life, point, server.status_kb("VmRSS"), len(links) - sockets, sockets)


@dataclass(frozen=True)
class Flatness:
    """Flat: at each point, every life's RSS within `rss_share` of the first life's (or
    `rss_floor_kb`, whichever is larger), its non-socket descriptors within `files`, and its
    sockets at most the load's connections plus `sockets` (listeners, API clients)."""

    rss_share: float = 0.25
    rss_floor_kb: int = 16 * 1024
    files: int = 8
    sockets: int = 12

    def problems(self, samples: list[Sample], concurrency: int) -> list[str]:
        found = []
        for point in ("start", "loaded"):
            series = [s for s in samples if s.point == point]
            if not series:
                continue
            first = series[0]
            rss_tolerance = max(first.rss_kb * self.rss_share, self.rss_floor_kb)
            for s in series[1:]:
                if abs(s.rss_kb - first.rss_kb) > rss_tolerance:
                    found.append(
                        f"RSS at {point} of life {s.life}: {s.rss_kb} kB vs {first.rss_kb}"
                    )
                if abs(s.files - first.files) > self.files:
                    found.append(f"files at {point} of life {s.life}: {s.files} vs {first.files}")
            for s in series:
                if s.sockets > concurrency + self.sockets:
                    found.append(f"sockets at {point} of life {s.life}: {s.sockets}")
        return found


@dataclass
class Run:
    plan: Plan
    ledger: Ledger = field(default_factory=Ledger)
    samples: list[Sample] = field(default_factory=list)
    kills: int = 0
    seconds: float = 0.0  # of load, kills and restarts
    drain_seconds: float = 0.0  # the clean stop, the last start and the drain
    check_seconds: float = 0.0  # reading the JSON API for the checks
    churn: RuleChurn | None = None
    sessions_started: int = 0
    traceback_logs: list[str] = field(default_factory=list)


async def _worker(run: Run, port: int, up: asyncio.Event, stop: asyncio.Event, seed: int) -> None:
    rng = random.Random(seed)
    mix = Mix(run.plan.max_size)
    while not stop.is_set():
        await up.wait()
        try:
            session = await Session.open(run.ledger, port)
        except (OSError, Lost):
            await asyncio.sleep(0.05)
            continue
        try:
            for _ in range(rng.randrange(1, 6)):
                if stop.is_set() or run.sessions_started >= run.plan.max_messages:
                    stop.set()
                    break
                run.sessions_started += 1
                if not await transaction(session, mix.pick(rng), mix, rng):
                    break
            await session.close()
        except Lost:
            run.ledger.lost_connections += 1
            session.abort()


async def _lives(run: Run, server: servers.Server, up: asyncio.Event, stop: asyncio.Event) -> None:
    """Start, sample, wait, sample, kill; until the deadline. The engine is left running."""
    deadline = None  # the duration counts from the first greeting
    try:
        while not stop.is_set():
            life = run.kills
            server.log = server.log.with_name(f"server-{life}.log")
            await server.start(timeout=60)
            run.samples.append(sample(server, life, "start"))
            up.set()
            deadline = deadline or time.monotonic() + run.plan.duration
            left = deadline - time.monotonic()
            await pause(stop, min(left, run.plan.kill_every))
            if stop.is_set() or left <= run.plan.kill_every:
                return
            run.samples.append(sample(server, life, "loaded"))
            up.clear()
            os.kill(server.pid, signal.SIGKILL)
            assert server.proc is not None
            server.proc.wait()
            run.kills += 1
    finally:
        stop.set()
        up.set()  # workers waiting for the engine see the stop


def _get(url: str) -> tuple[Any, str | None]:
    with urllib.request.urlopen(url, timeout=60) as response:
        link = _NEXT.search(response.headers.get("Link", ""))
        return json.loads(response.read()), link.group(1) if link else None


def listing(base: str, path: str) -> list[dict[str, Any]]:
    """Every row of a JSON API listing, page after page."""
    rows: list[dict[str, Any]] = []
    url: str | None = f"{path}?limit=1000"
    while url is not None:
        page, url = _get(base + url)
        rows += page
    return rows


def _raw_soak_id(base: str, message_id: str) -> str | None:
    with urllib.request.urlopen(f"{base}/api/messages/{message_id}/raw", timeout=60) as response:
        found = _SOAK_ID.search(response.read())
    return found.group(1).decode() if found else None


@dataclass
class Verdict:
    stored: int = 0
    in_doubt_stored: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, problem: str) -> None:
        if len(self.problems) < 50:
            self.problems.append(problem)


def check_exactly_once(ledger: Ledger, base: str) -> Verdict:
    """Compare what the clients were told with what the engine stored and did."""
    verdict = Verdict()
    messages = {m["messageId"]: m for m in listing(base, "/api/messages")}
    verdict.stored = len(messages)
    stored_objects = listing(base, "/api/s3")
    objects = Counter(o["messageId"] for o in stored_objects if o["bucket"] == BUCKET)
    churn_objects = [
        o for o in stored_objects if o["bucket"] == CHURN_BUCKET and o["messageId"] != SETUP
    ]
    published = Counter(
        n["messageId"] for n in listing(base, "/api/notifications") if n["topicArn"] == TOPIC
    )
    by_engine_id = {engine_id: soak_id for soak_id, engine_id in ledger.accepted.items()}
    seen: dict[str, str] = {}  # soak id -> engine id stored
    for engine_id, record in messages.items():
        soak_id = by_engine_id.get(engine_id) or _raw_soak_id(base, engine_id)
        if soak_id is None:
            verdict.add(f"stored message {engine_id} has no X-Soak-Id")
            continue
        if soak_id in seen:
            verdict.add(f"{soak_id} stored twice: {seen[soak_id]} and {engine_id}")
        seen[soak_id] = engine_id
        if soak_id in ledger.in_doubt:
            verdict.in_doubt_stored += 1
        elif soak_id not in ledger.accepted:
            verdict.add(f"{engine_id} ({soak_id}) stored but never accepted")
        if record["status"] != "done":
            verdict.add(f"{engine_id} is {record['status']} after the drain")
        steady = soak_id not in ledger.churn
        want = 1 if steady else 0
        if objects[engine_id] != want or published[engine_id] != want:
            verdict.add(
                f"{engine_id}: {objects[engine_id]} S3 objects, {published[engine_id]} SNS "
                f"publications (expected {want} of each)"
            )
    for soak_id, engine_id in ledger.accepted.items():
        if engine_id not in messages:
            verdict.add(f"accepted {engine_id} ({soak_id}) was not stored")
    churned = {seen.get(s) for s in ledger.churn}
    for obj in churn_objects:
        if obj["messageId"] not in churned:
            verdict.add(
                f"churn object {obj['key']} of {obj['message_id']} not sent to a churn rule"
            )
    return verdict


def _drained(server: servers.Server, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = server.stats()
        if stats is not None and stats["pending"] == 0:
            return True
        time.sleep(0.2)
    return False


async def soak(plan: Plan, workdir: Path) -> tuple[Run, Verdict]:
    rules = servers.rule_set([servers.rule("soak", [SOAK])])
    server = servers.Server.engine(workdir, rules)
    server.argv += ["--submission", ""]
    config = workdir / "inbound.toml"
    config.write_text(
        config.read_text().replace(
            "[server]\n", f"[server]\nmax_message_size = {plan.max_size}\n", 1
        )
    )
    run = Run(plan)
    up, stop = asyncio.Event(), asyncio.Event()
    assert server.http_port is not None
    run.churn = RuleChurn(server.http_port)
    started = time.monotonic()
    try:
        tasks = [
            asyncio.create_task(_worker(run, server.smtp_port, up, stop, plan.seed * 1000 + n))
            for n in range(plan.concurrency)
        ]
        tasks.append(asyncio.create_task(run.churn.run(plan.rule_every, stop)))
        await _lives(run, server, up, stop)
        stop.set()
        await asyncio.gather(*tasks)
        run.seconds = time.monotonic() - started
        server.stop()  # clean
        life = run.kills + 1
        server.log = server.log.with_name(f"server-{life}.log")
        await server.start(timeout=60)
        if not await asyncio.to_thread(_drained, server, 600):
            raise SystemExit("the engine did not drain within 600 s")
        run.samples.append(sample(server, life, "drained"))
        run.drain_seconds = time.monotonic() - started - run.seconds
        base = f"http://127.0.0.1:{server.http_port}"
        verdict = await asyncio.to_thread(check_exactly_once, run.ledger, base)
        run.check_seconds = time.monotonic() - started - run.seconds - run.drain_seconds
    finally:
        server.stop()
    for log in sorted(workdir.glob("server-*.log")):
        text = log.read_text(errors="replace")
        if "Traceback" in text:
            run.traceback_logs.append(f"{log.name}: {text[text.index('Traceback') :][:400]}")
    return run, verdict


FLATNESS = Flatness()


def problems(run: Run, verdict: Verdict) -> list[str]:
    found = list(verdict.problems)
    found += FLATNESS.problems(run.samples, run.plan.concurrency)
    found += [f"exception text in a reply: {r}" for r in run.ledger.exception_replies[:10]]
    found += [f"traceback in {t}" for t in run.traceback_logs]
    assert run.churn is not None
    found += [f"API: {e}" for e in run.churn.errors[:10]]
    return found


def _series(samples: list[Sample], point: str) -> str:
    series = [s for s in samples if s.point == point]
    if not series:
        return "-"
    rss = [s.rss_kb / 1024 for s in series]
    files = sorted({s.files for s in series})
    sockets = [s.sockets for s in series]
    return (
        f"{len(series)} samples: RSS {min(rss):.0f}-{max(rss):.0f} MB (median "
        f"{statistics.median(rss):.0f}); other descriptors {files[0]}-{files[-1]}; "
        f"sockets {min(sockets)}-{max(sockets)}"
    )


def report(run: Run, verdict: Verdict) -> str:
    """The figures as Markdown: the summary printed and recorded in docs/reliability.md."""
    ledger = run.ledger
    assert run.churn is not None
    found = problems(run, verdict)
    replies = ", ".join(f"{k}: {v:,}" for k, v in sorted(ledger.replies.items()))
    changes = ", ".join(f"{k} {v:,}" for k, v in sorted(run.churn.changes.items()))
    lines = [
        f"- command: `{run.plan.command()}` ({time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} cores, loopback)",
        f"- duration: {run.seconds:.0f} s of load, {run.kills} kills (`SIGKILL` every "
        f"{run.plan.kill_every:g} s), then a clean stop, a restart and the drain "
        f"({run.drain_seconds:.0f} s) and the checks ({run.check_seconds:.0f} s)",
        f"- sessions: {run.sessions_started:,} ("
        + ", ".join(f"{k} {v:,}" for k, v in sorted(ledger.sessions.items()))
        + f"); connections cut by a kill or closed by the engine: {ledger.lost_connections:,}",
        f"- messages: {len(ledger.accepted):,} accepted (`250`), {len(ledger.refused):,} "
        f"refused at the end of DATA or dropped by the client mid-DATA, "
        f"{len(ledger.in_doubt):,} in doubt (the kill cut off the reply to the final dot), "
        f"of which {verdict.in_doubt_stored} were stored",
        f"- replies: {replies}",
        f"- rule changes through the API: {run.churn.total:,} ({changes}); "
        f"{run.churn.unavailable:,} calls while the engine was down or starting",
        f"- exactly once: {verdict.stored:,} messages stored; "
        + (
            "every accepted message stored once and done, with one S3 object and one SNS "
            "publication; nothing stored that was not accepted or in doubt"
            if not verdict.problems
            else f"{len(verdict.problems)} problems"
        ),
        f"- RSS and descriptors at start of each life: {_series(run.samples, 'start')}",
        f"- ... under load just before each kill: {_series(run.samples, 'loaded')}",
        f"- ... after the final drain: {_series(run.samples, 'drained')}",
        f"- exception text in replies: {len(ledger.exception_replies)}; tracebacks in the "
        f"server's logs: {len(run.traceback_logs)}; API errors: {len(run.churn.errors)}",
        f"- result: {'PASS' if not found else 'FAIL'}",
    ]
    lines += [f"  - {p}" for p in found]
    return "\n".join(lines) + "\n"


START, END = "<!-- soak figures: python -m benchmarks.soak -->", "<!-- /soak figures -->"


def record(doc: Path, figures: str) -> None:
    """Put the figures between the markers of `doc` (the Soak section of reliability.md)."""
    text = doc.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"{doc}: no {START} marker")
    doc.write_text(f"{head}{START}\n{figures}{END}{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in vars(Plan()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    parser.add_argument("--record", type=Path, help="write the figures into this Markdown file")
    args = vars(parser.parse_args(argv))
    doc = args.pop("record")
    plan = Plan(**args)
    with tempfile.TemporaryDirectory(prefix="inbound-soak-") as folder:
        run, verdict = asyncio.run(soak(plan, Path(folder)))
    figures = report(run, verdict)
    print(figures, end="")
    if doc is not None:
        record(doc, figures)
    sys.exit(1 if problems(run, verdict) else 0)


if __name__ == "__main__":
    main()
