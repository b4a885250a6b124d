"""Measure the engine against the bare aiosmtpd sink and Haraka; write ``benchmarks/RESULTS.md``.

    python -m benchmarks.run [--quick] [--runs N] [--only KEY,...] [--sink-only]

Each scenario compares its targets (sink vs engine vs Haraka, engine with 1 rule vs 200 rules,
the engine with one part of its job at a time). Within one run the targets of a scenario are
measured back to back (A B C), scenario after scenario, and the whole sequence is repeated
``--runs`` times (A B C A B C ...); figures are medians over runs, and ratios are medians of the
per-run ratios. Every measurement starts a fresh server process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from benchmarks import servers
from benchmarks.apigen import run_api_load
from benchmarks.loadgen import (
    Load,
    LoadResult,
    Mode,
    loop_name,
    make_message,
    new_event_loop_run,
    percentile,
    run_load,
)
from benchmarks.report import Run, engine_revision, write_report
from benchmarks.servers import (
    ACCESS_KEY,
    ACTIONS,
    ROOT,
    Server,
    engine_available,
    haraka_available,
    rule,
    rule_set,
    system_busy_seconds,
)

WORK = ROOT / "benchmarks" / ".work"
KB, MB = 1024, 1024 * 1024
# How the load reaches a target: SMTP to the receiving port, SMTP with AUTH to the SES SMTP
# interface, or SendRawEmail calls to the HTTP port.
Via = Literal["smtp", "submission", "api"]
# What runs: the engine is left out when `python -m inbound` cannot run, Haraka when node or its
# package is missing.
Kind = Literal["sink", "engine", "haraka"]


@dataclass(frozen=True)
class Target:
    label: str  # unique within a scenario: the runs' measurements are keyed by it
    start: Callable[[Path], Server]
    rcpt_code: int = 250  # expected RCPT reply
    via: Via = "smtp"
    kind: Kind = "engine"
    what: str = ""  # what this target measures, for the "where the CPU goes" table
    setup: Callable[[Server], None] | None = None  # run once the server is up (rules-api)

    def port(self, server: Server) -> int:
        ports = {"smtp": server.smtp_port, "submission": server.submission_port,
                 "api": server.http_port}  # fmt: skip
        port = ports[self.via]
        assert port is not None, f"{self.label}: the server has no {self.via} port"
        return port

    def credentials(self, region: str = "us-east-1") -> tuple[str, str] | None:
        """The SMTP interface's user name and password (SES's derivation of them)."""
        if self.via != "submission":
            return None
        # Imported here: without the engine's dependencies the sink alone must still run.
        from inbound.sending.credentials import smtp_password

        key, secret = ACCESS_KEY
        return key, smtp_password(secret, region)

    def run(self, load: Load) -> Awaitable[LoadResult]:
        return run_api_load(load) if self.via == "api" else run_load(load)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    targets: tuple[Target, ...]  # (baseline, candidate, others...)
    size: int
    rcpts: tuple[str, ...]
    shape: tuple[int, int, int]  # concurrency, connections per worker (in turn), msgs/connection
    quick: tuple[int, int]  # connections per worker, msgs/connection for --quick
    mode: Mode = "send"
    sender: str = "loadgen@sender.test"
    signed: bool = False  # DKIM-signed by the sender's domain (benchmarks/auth.py)
    missing: tuple[tuple[str, str], ...] = ()  # (label, why) of targets that cannot run here
    costs: bool = False  # reported as "where the CPU goes" rather than side by side

    def runnable(self, with_engine: bool) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if with_engine or t.kind != "engine")

    def load(self, port: int, quick: bool, auth: tuple[str, str] | None = None) -> Load:
        concurrency, connections, per_connection = self.shape
        if quick:
            connections, per_connection = self.quick
        return Load(
            host="127.0.0.1",
            port=port,
            concurrency=concurrency,
            connections=connections,
            per_connection=per_connection,
            message=message(self.size, self.sender, self.signed),
            rcpts=self.rcpts,
            mode=self.mode,
            sender=self.sender,
            auth=auth,
        )


@dataclass
class Measurement:
    target: str
    n: int  # transactions (messages, or MAIL/RCPT/RSET rounds in reject mode)
    rate: float  # accepted (or answered) per second, client clock
    drained_rate: float | None  # n / time until the engine reported pending == 0
    cpu_ms: float  # server CPU per transaction, load start to drained
    loop_cpu_ms: float  # of which the main thread's (the event loop)
    peak_rss_mb: float  # VmHWM
    idle_rss_mb: float  # VmRSS after warm-up, before the load (all the server's processes)
    background_pct: float  # CPU used by other processes during the measurement, % of one CPU
    p50_ms: float
    p99_ms: float
    client_cpu_us: float
    codes: dict[str, int]
    idle_rss_process_mb: float = 0.0  # the same, of the largest of the server's processes
    notes: list[str] = field(default_factory=list)
    waited: float = 0.0  # seconds spent waiting for the machine to go quiet before it
    syncs: Syncs | None = None  # the group-commit job's fdatasyncs during the load


@dataclass(frozen=True)
class Syncs:
    """The fdatasyncs a server timed itself (`sink.py --group-commit`) that began during the
    load: what one durable write's wait for this disk is made of."""

    n: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def read(cls, path: Path, start: float, end: float) -> Syncs | None:
        """Those of `path` (lines of start and duration, seconds) that began in [start, end]."""
        if not path.exists():
            return None
        timed = [tuple(map(float, line.split())) for line in path.read_text().splitlines()]
        took = [seconds for began, seconds in timed if start <= began <= end]
        if not took:
            return None
        return cls(len(took), percentile(took, 50) * 1e3, percentile(took, 99) * 1e3,
                   max(took) * 1e3)  # fmt: skip


_messages: dict[tuple[int, str, bool], bytes] = {}


def message(size: int, sender: str = "loadgen@sender.test", signed: bool = False) -> bytes:
    if (size, sender, signed) not in _messages:
        raw = make_message(size, sender=sender)
        if signed:  # imported here: without the engine's dependencies the sink must still run
            from benchmarks import auth

            domain = sender.rpartition("@")[2]
            field = len(auth.signed(raw, domain)) - size  # the same length for any body
            raw = auth.signed(make_message(size - field, sender=sender), domain)
        _messages[size, sender, signed] = raw
    return _messages[size, sender, signed]


def sink_target(
    label: str = "sink",
    uvloop: bool = False,
    job: bool = False,
    group_commit: bool = False,
    processes: int = 1,
) -> Target:
    what = "bare aiosmtpd: SMTP commands, DATA read line by line, nothing kept"
    if job:
        what = "aiosmtpd doing Haraka's plugin's job in plain Python (benchmarks/sink.py --job)"
    if group_commit:
        what = (
            "the same job with group commit: the messages appended to one file, one thread"
            " fdatasyncing all written so far (benchmarks/sink.py --job --group-commit)"
        )
    what += ", on uvloop" if uvloop else ""
    if processes > 1:
        what += f", {processes} processes on the port (SO_REUSEPORT), a file and a thread each"
    return Target(
        label,
        lambda d: Server.sink(
            d, uvloop=uvloop, job=job, group_commit=group_commit, processes=processes
        ),
        kind="sink",
        what=what,
    )


def engine_target(
    label: str,
    rules: dict[str, Any],
    rcpt_code: int = 250,
    what: str = "",
    volatile: bool = False,
    workers: int = 1,
) -> Target:
    return Target(
        label,
        lambda d: Server.engine(d, rules, volatile=volatile, workers=workers),
        rcpt_code,
        what=what,
    )


HARAKA = Target("Haraka", lambda d: Server.haraka(d), kind="haraka")
WORKERS = 2  # the workers scenarios' engine processes and Haraka's cluster nodes
HARAKA_NODES = Target(f"Haraka, {WORKERS} nodes", lambda d: Server.haraka(d, WORKERS),
                      kind="haraka")  # fmt: skip


def with_haraka(
    haraka: tuple[bool, str], *targets: Target, peer: Target = HARAKA
) -> dict[str, Any]:
    """Scenario arguments adding Haraka (`peer`) as the last target, or saying why it is not
    there."""
    ok, why = haraka
    return {"targets": (*targets, peer)} if ok else {"targets": targets,
                                                   "missing": ((peer.label, why),)}  # fmt: skip


def cost_targets() -> tuple[Target, ...]:
    """The engine with one part of its job at a time, for "where the CPU goes"."""
    header, s3, sns = ACTIONS

    def only(label: str, actions: list[dict[str, Any]], what: str) -> Target:
        return engine_target(label, rule_set([rule("catch-all", [], actions)]), what=what)

    everything = rule_set([rule("catch-all", [])])
    return (
        sink_target(),
        sink_target("sink on uvloop", uvloop=True),
        sink_target("sink doing the job", uvloop=True, job=True),
        sink_target("group commit", uvloop=True, job=True, group_commit=True),
        engine_target("engine", everything, what="the catch-all rule: AddHeader + S3 + SNS"),
        engine_target("no fsync", everything, volatile=True,
                      what="the same with its data dir on tmpfs, where fsync returns at once"),
        only("no actions", [], "a catch-all rule without actions: the SMTP session, the spool"
             " (fsynced before 250), rule matching, the message's records"),
        only("AddHeader", [header], "the rule with AddHeader only"),
        only("S3", [s3], "the rule with S3 only (the local bucket)"),
        only("SNS", [sns], "the rule with SNS only (the local topic, no subscribers)"),
    )  # fmt: skip


def api_built(label: str, last: dict[str, Any], count: int) -> Target:
    """The engine with an empty active rule set, then `count` rules created through the SES
    API, `last` the last of them (benchmarks/apiscale.py's `build_rules`)."""

    def setup(server: Server) -> None:
        from benchmarks.apiscale import build_rules  # boto3: an engine dependency

        assert server.http_port is not None
        build_rules(server.http_port, count, last)

    return Target(label, lambda d: Server.engine(d, rule_set([])), setup=setup)


def scenarios(with_engine: bool, haraka: tuple[bool, str] = (False, "")) -> list[Scenario]:
    catch_all = rule_set([rule("catch-all", [])])
    only_someone = rule_set([rule("catch-all", ["someone@example.com"])])
    many = [
        rule(f"r{r:03d}", [f"u{r:03d}-{i}@example.com" for i in range(100)]) for r in range(200)
    ]
    one, two_hundred = rule_set(many[-1:]), rule_set(many)
    last = tuple(f"u199-{i}@example.com" for i in range(50))
    sink, engine = sink_target(), engine_target("engine", catch_all)
    rej = (sink, engine_target("engine", only_someone, 550))
    one_rcpt, unverified = last[:1], ("other@unverified.test",)
    peers = with_haraka(haraka, sink, engine)
    # `[server] workers` (docs/workers.md) against the one-process sink and a Haraka cluster
    workers = engine_target(f"engine, {WORKERS} workers", catch_all, workers=WORKERS)
    cluster = with_haraka(haraka, sink, workers, peer=HARAKA_NODES)
    # item 3's floor at 10 KB: the least any WORKERS aiosmtpd processes doing the job durably spend
    floor = sink_target(f"group commit, {WORKERS} processes", uvloop=True, job=True,
                        group_commit=True, processes=WORKERS)  # fmt: skip
    floored = {**cluster, "targets": (*cluster["targets"][:2], floor, *cluster["targets"][2:])}
    out = [
        Scenario("10k-c1", "10 KB messages, 1 connection", (sink, engine), 10 * KB, one_rcpt,
                 shape=(1, 12, 100), quick=(6, 100)),
        Scenario("10k-c10", "10 KB messages, 10 connections", size=10 * KB, rcpts=one_rcpt,
                 shape=(10, 3, 100), quick=(1, 100), **peers),
        Scenario("10k-c50", "10 KB messages, 50 connections", size=10 * KB, rcpts=one_rcpt,
                 shape=(50, 1, 60), quick=(1, 30), **peers),
        Scenario("1m-c10", "1 MB messages, 10 connections", size=MB, rcpts=one_rcpt,
                 shape=(10, 1, 8), quick=(1, 4), **peers),
        Scenario("workers-10k-c10", f"{WORKERS} worker processes, 10 KB messages, 10 connections",
                 size=10 * KB, rcpts=one_rcpt, shape=(10, 3, 100), quick=(1, 100), **floored),
        Scenario("workers-10k-c50", f"{WORKERS} worker processes, 10 KB messages, 50 connections",
                 size=10 * KB, rcpts=one_rcpt, shape=(50, 1, 60), quick=(1, 30), **floored),
        Scenario("workers-1m-c10", f"{WORKERS} worker processes, 1 MB messages, 10 connections",
                 size=MB, rcpts=one_rcpt, shape=(10, 1, 8), quick=(1, 4), **cluster),
        Scenario("reject-c10", "Rejection at RCPT, 10 connections (MAIL / RCPT / RSET rounds;"
                 " the engine answers RCPT with 550, the sink with 250)", rej, 10 * KB, unverified,
                 shape=(10, 6, 100), quick=(3, 100), mode="reject"),
    ]  # fmt: skip
    if not with_engine:
        return out
    # Sending: the same 10 KB message from a verified sender to the same recipient, received
    # over SMTP by the catch-all engine (A) or sent by an engine whose only rule does not match
    # it, so that it goes to the outbox instead of back into receiving (B).
    receive = engine_target("receive SMTP", catch_all)
    sender = "bench@example.com"

    def sending(label: str, via: Via) -> Target:
        return Target(label, lambda d: Server.engine(d, only_someone, sending=True), via=via)

    out += [
        Scenario("send-api-c10", "Sending: SendRawEmail calls vs receiving the same message over"
                 " SMTP, 10 connections", (receive, sending("SendRawEmail", "api")), 10 * KB,
                 one_rcpt, shape=(10, 3, 100), quick=(1, 100), sender=sender),
        Scenario("send-smtp-c10", "Sending: the SES SMTP interface (AUTH PLAIN) vs receiving the"
                 " same message over SMTP, 10 connections",
                 (receive, sending("SMTP interface", "submission")), 10 * KB, one_rcpt,
                 shape=(10, 3, 100), quick=(1, 100), sender=sender),
    ]  # fmt: skip

    # Authentication: the same DKIM-signed 10 KB message received without DNS (A: nothing is
    # evaluated) and with a zone that gives SPF, DKIM and DMARC real work to do (B).
    def authenticating(label: str) -> Target:
        from benchmarks import auth

        zone = auth.zone("sender.test")
        return Target(label, lambda d: Server.engine(d, catch_all, zone=zone))

    out.append(
        Scenario("auth-c10", "Authentication: SPF, DKIM (rsa-sha256, 2048 bits) and DMARC of a"
                 " DKIM-signed message against the zone vs no DNS, 10 connections",
                 (engine_target("auth off", catch_all), authenticating("auth on")), 10 * KB,
                 one_rcpt, shape=(10, 3, 100), quick=(1, 100), signed=True)
    )  # fmt: skip
    r1, r200 = engine_target("1 rule", one), engine_target("200 rules", two_hundred)
    a1, a200 = api_built("1 rule", many[-1], 1), api_built("200 rules", many[-1], 200)
    n1, n200 = engine_target("1 rule", one, 550), engine_target("200 rules", two_hundred, 550)
    nobody = ("nobody@unverified.test",)
    return [
        *out,
        Scenario("rules-1rcpt", "Rule matching, 1 recipient per message, 10 connections",
                 (r1, r200), 10 * KB, one_rcpt, shape=(10, 3, 100), quick=(1, 100)),
        Scenario("rules-50rcpt", "Rule matching, 50 recipients per message, 10 connections",
                 (r1, r200), 10 * KB, last, shape=(10, 1, 30), quick=(1, 10)),
        Scenario("rules-nomatch", "Rule matching, non-matching recipient (550), 10 connections",
                 (n1, n200), 10 * KB, nobody, shape=(10, 6, 100), quick=(3, 100), mode="reject"),
        Scenario("rules-api", "Rule matching, rules created through the SES API (200: 199 in"
                 " their own verified domains, only the last matching), 1 recipient per message,"
                 " 10 connections", (a1, a200), 10 * KB, one_rcpt, shape=(10, 3, 100),
                 quick=(1, 100)),
        Scenario("costs-c10", "Where the CPU goes: the engine with one part of its job at a time,"
                 " 10 KB messages, 10 connections", cost_targets(), 10 * KB, one_rcpt,
                 shape=(10, 3, 100), quick=(1, 100), costs=True),
    ]  # fmt: skip


async def measure(scenario: Scenario, target: Target, workdir: Path, quick: bool) -> Measurement:
    workdir.mkdir(parents=True)
    server = target.start(workdir)
    log_copy = WORK / f"{scenario.key}-{target.label.replace(' ', '_')}.log"
    notes: list[str] = []
    try:
        await server.start()
        if target.setup is not None:
            await asyncio.to_thread(target.setup, server)
        load = scenario.load(target.port(server), quick, target.credentials())
        warm = replace(
            load, concurrency=1, connections=1, per_connection=min(20, load.per_connection)
        )
        await run_load_checked(target, warm, notes)
        sent = target.via != "smtp"
        counter = "sent" if sent else "messages"
        baseline = (server.stats() or {}).get(counter, 0)
        await server.drained(baseline, sent=sent)
        baseline = (server.stats() or {}).get(counter, 0)
        idle_rss = server.status_kb("VmRSS") / 1024
        idle_rss_process = server.status_kb("VmRSS", largest=True) / 1024
        busy0, cpu0, client0 = system_busy_seconds(), server.cpu_seconds(), time.process_time()
        loop0 = server.cpu_seconds(main_thread=True)
        t0, load_start = time.perf_counter(), time.monotonic()
        result = await run_load_checked(target, load, notes)
        load_end = time.monotonic()
        client_cpu = time.process_time() - client0
        t_drained, note = await server.drained(baseline + result.accepted, sent=sent)
        cpu = server.cpu_seconds() - cpu0
        loop_cpu = server.cpu_seconds(main_thread=True) - loop0
        ours = cpu + time.process_time() - client0
        wall = time.perf_counter() - t0
        background = max(0.0, system_busy_seconds() - busy0 - ours) / wall * 100
        peak_rss = server.status_kb("VmHWM") / 1024
    except BaseException:
        server.stop()
        shutil.copy(server.log, log_copy)
        raise
    server.stop()
    if note:
        notes.append(note)
    n = result.transactions
    check_codes(scenario, target, load, result, notes)
    if notes:
        shutil.copy(server.log, log_copy)
    done = result.accepted if scenario.mode == "send" else n
    return Measurement(
        target=target.label,
        n=n,
        rate=done / result.elapsed,
        drained_rate=done / (t_drained - t0) if t_drained is not None else None,
        cpu_ms=cpu / max(n, 1) * 1e3,
        loop_cpu_ms=loop_cpu / max(n, 1) * 1e3,
        peak_rss_mb=peak_rss,
        idle_rss_mb=idle_rss,
        background_pct=background,
        p50_ms=result.percentile(50) * 1e3,
        p99_ms=result.percentile(99) * 1e3,
        client_cpu_us=client_cpu / max(n, 1) * 1e6,
        codes=dict(result.codes),
        idle_rss_process_mb=idle_rss_process,
        notes=notes,
        syncs=Syncs.read(workdir / "store" / "syncs", load_start, load_end),
    )


async def run_load_checked(target: Target, load: Load, notes: list[str]) -> LoadResult:
    result = await target.run(load)
    if result.errors:
        notes.append(f"{len(result.errors)} connection errors, first: {result.errors[0]}")
    return result


def check_codes(
    scenario: Scenario, target: Target, load: Load, result: LoadResult, notes: list[str]
) -> None:
    want, reply = load.total * len(load.rcpts), f"RCPT {target.rcpt_code}"
    if target.via == "api":
        want, reply = load.total, "HTTP 200"
    if result.codes.get(reply, 0) != want:
        notes.append(f"expected {reply} x{want}, got {dict(result.codes)}")
    if scenario.mode == "send" and result.accepted != load.total:
        notes.append(f"only {result.accepted}/{load.total} messages got 250 after DATA")


async def wait_quiet(max_wait: float, threshold: float = 0.2) -> float:
    """Wait until other processes use less than ``threshold`` of one CPU (over half a second),
    or ``max_wait`` seconds have passed. Returns the time waited."""
    started = time.monotonic()
    while time.monotonic() - started < max_wait:
        busy, own = system_busy_seconds(), time.process_time()
        await asyncio.sleep(0.5)
        others = system_busy_seconds() - busy - (time.process_time() - own)
        if others / 0.5 < threshold:
            break
    return time.monotonic() - started


async def client_ceiling(quick: bool) -> float:
    """Messages/s of the load generator against the protocol-only responder (c=10, 10 KB)."""
    workdir = WORK / "ceiling"
    workdir.mkdir(parents=True, exist_ok=True)
    server = Server.sink(workdir, raw=True)
    await server.start()
    try:
        conns = 2 if quick else 5
        load = Load("127.0.0.1", server.smtp_port, 10, conns, 100, message(10 * KB), ("a@b.test",))
        result = await run_load(load)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return result.accepted / result.elapsed


async def main_async(args: argparse.Namespace, command: str) -> None:
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    if servers.ENGINE_MODULE == "inbound" and not args.sink_only:
        servers.snapshot_engine(WORK / "engine", args.engine_rev)
    ok, why = (False, "--sink-only") if args.sink_only else engine_available()
    if not ok:
        print(f"engine not runnable ({why}); measuring the sink only", file=sys.stderr)
    haraka = (False, "--sink-only") if args.sink_only else haraka_available()
    if not haraka[0]:
        print(f"Haraka not runnable ({haraka[1]}); measuring without it", file=sys.stderr)
    wanted = set(args.only.split(",")) if args.only else None
    selected = [s for s in scenarios(ok, haraka) if wanted is None or s.key in wanted]
    unknown = (wanted or set()) - {s.key for s in scenarios(True)}
    if unknown or not selected:
        sys.exit(f"--only: unknown or unavailable scenario(s) {sorted(unknown or wanted or [])}")
    started, revision = time.time(), engine_revision(servers.ENGINE_DIR, args.engine_rev)
    ceiling = await client_ceiling(args.quick)
    print(f"client ceiling: {ceiling:.0f} msgs/s (protocol-only responder)", file=sys.stderr)
    results: dict[str, list[Run]] = {s.key: [] for s in selected}
    failures: list[str] = []
    for run in range(args.runs):
        for s in selected:
            measured: Run = {}
            for i, target in enumerate(s.runnable(ok)):
                # Data dirs are kept until the end: deleting thousands of files makes the file
                # system busy for a while, and the next measurement paid for it (measured: the
                # engine's kernel time per message tripled). What earlier measurements left dirty
                # is flushed so that none pays for another's writeback either.
                os.sync()
                waited = await wait_quiet(args.quiet_wait)
                try:
                    m = await measure(s, target, WORK / f"run{run}-{s.key}-{i}", args.quick)
                    m.waited = waited
                except Exception as exc:  # one broken measurement must not lose the others
                    failures.append(f"run {run + 1}, `{s.key}`, {target.label}: {exc}")
                    print(f"FAILED {failures[-1]}", file=sys.stderr)
                    continue
                print(f"run {run + 1}/{args.runs} {s.key:14} {m.target:10} {m.n:6} txn "
                      f"{m.rate:7.0f}/s drained {m.drained_rate or 0:7.0f}/s "
                      f"cpu {m.cpu_ms:6.2f} ms  rss {m.peak_rss_mb:6.1f} MB "
                      f"p50 {m.p50_ms:6.1f} p99 {m.p99_ms:6.1f} ms bg {m.background_pct:3.0f}% "
                      f"(waited {waited:.1f}s) "
                      f"{'; '.join(m.notes)}",
                      file=sys.stderr)  # fmt: skip
                measured[target.label] = m
            results[s.key].append(measured)
    for workdir in WORK.glob("run*"):
        shutil.rmtree(workdir, ignore_errors=True)
    shutil.rmtree(servers.TMPFS, ignore_errors=True)
    write_report(
        args.output,
        command=command,
        scenarios=selected,
        results=results,
        engine=(ok, why),
        haraka=haraka,
        client_loop=loop_name(),
        client_ceiling=ceiling,
        runs=args.runs,
        elapsed=time.time() - started,
        quick=args.quick,
        engine_at_start=revision,
        failures=failures,
    )
    print(f"wrote {args.output}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description="Benchmark the engine against the bare sink."
    )
    ap.add_argument("--quick", action="store_true", help="fewer messages, 1 run (~2 min)")
    ap.add_argument("--runs", type=int, default=None, help="interleaved runs (default 5; quick 1)")
    ap.add_argument("--only", default="", help="comma-separated scenario keys")
    ap.add_argument("--sink-only", action="store_true", help="do not start the engine")
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=None,
        metavar="S",
        help="before each measurement, wait up to S seconds (default 5; quick 2) for other"
        " processes to go quiet",
    )
    ap.add_argument(
        "--engine-rev",
        metavar="REV",
        help="benchmark inbound/ as of this git revision (default: the working tree)",
    )
    ap.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = ap.parse_args(argv)
    if args.runs is None:
        args.runs = 1 if args.quick else 5
    if args.quiet_wait is None:
        args.quiet_wait = 2.0 if args.quick else 5.0
    command = " ".join(["python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])])
    new_event_loop_run(main_async(args, command))


if __name__ == "__main__":
    main()
