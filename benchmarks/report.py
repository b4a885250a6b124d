"""Write RESULTS.md: a header describing the run, the targets, a table per scenario, and where
the engine's CPU goes."""

from __future__ import annotations

import hashlib
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks import servers
from benchmarks.servers import ENGINE_MODULE, ROOT

if TYPE_CHECKING:
    from benchmarks.run import Measurement, Scenario

# One run of a scenario: its targets' measurements by label (a target that failed or could not
# run is absent).
Run = dict[str, "Measurement"]


@dataclass(frozen=True)
class Goal:
    """A target of the issues, checked on the medians of a scenario's runs. ``b`` is the
    candidate, ``a`` what it is compared with (labels; empty: the scenario's second and first
    targets). Kinds: "ratio" b/a >= limit, "ratio-max" b/a <= limit, "diff" b - a <= limit
    (MB of peak RSS), "max" b <= limit."""

    text: str
    key: str
    kind: str
    attr: str
    limit: float
    a: str = ""
    b: str = ""


GOALS = [
    # Issue 15 (items 2, 4 and 5): single engine process, durable accept, the catch-all rule.
    Goal("10 KB, c=10: engine accepts >= 100% of sink throughput", "10k-c10", "ratio", "rate",
         1.0),
    Goal("10 KB, c=10: engine drained >= 100% of sink throughput", "10k-c10", "ratio", "drained",
         1.0),
    Goal("10 KB, c=10: engine accepts >= Haraka's throughput", "10k-c10", "ratio", "rate", 1.0,
         a="Haraka"),
    Goal("10 KB, c=50: engine accepts >= 100% of sink throughput", "10k-c50", "ratio", "rate",
         1.0),
    Goal("10 KB, c=50: engine drained >= 100% of sink throughput", "10k-c50", "ratio", "drained",
         1.0),
    Goal("10 KB, c=50: engine accepts >= Haraka's throughput", "10k-c50", "ratio", "rate", 1.0,
         a="Haraka"),
    Goal("1 MB, c=10: engine accepts >= 170% of sink throughput", "1m-c10", "ratio", "rate", 1.7),
    Goal("1 MB, c=10: engine drained >= 170% of sink throughput", "1m-c10", "ratio", "drained",
         1.7),
    Goal("1 MB, c=10: engine accepts >= Haraka's throughput", "1m-c10", "ratio", "rate", 1.0,
         a="Haraka"),
    # Issue 15 item 3: `[server] workers = 2` (docs/workers.md), the sink and Haraka's cluster.
    *(
        goal
        for c in (10, 50)
        for goal in (
            Goal(f"2 workers, 10 KB, c={c}: engine accepts >= 125% of sink throughput",
                 f"workers-10k-c{c}", "ratio", "rate", 1.25),
            Goal(f"2 workers, 10 KB, c={c}: engine drained >= 125% of sink throughput",
                 f"workers-10k-c{c}", "ratio", "drained", 1.25),
            Goal(f"2 workers, 10 KB, c={c}: engine accepts >= Haraka's with 2 nodes",
                 f"workers-10k-c{c}", "ratio", "rate", 1.0, a="Haraka, 2 nodes"),
        )
    ),
    Goal("2 workers, 1 MB, c=10: engine accepts >= 230% of sink throughput", "workers-1m-c10",
         "ratio", "rate", 2.3),
    Goal("2 workers, 1 MB, c=10: engine drained >= 230% of sink throughput", "workers-1m-c10",
         "ratio", "drained", 2.3),
    Goal("RCPT rejections (550) >= 2x the rate the sink accepts RCPT (250)", "reject-c10",
         "ratio", "rate", 2.0),
    Goal("10 KB, c=10: engine latency p99 <= 1.5x the sink's", "10k-c10", "ratio-max", "p99_ms",
         1.5),
    Goal("Idle RSS per process (the largest, after warm-up, 10 KB c=10) <= 35 MB", "10k-c10",
         "max", "idle_rss_process_mb", 35.0),
    Goal("10 KB, c=50: engine peak RSS within 15 MB of the sink's", "10k-c50", "diff",
         "peak_rss_mb", 15.0),
    Goal("1 MB, c=10: engine peak RSS <= 100 MB", "1m-c10", "max", "peak_rss_mb", 100.0),
    Goal("200 rules >= 95% of 1 rule: 1 recipient, accepted", "rules-1rcpt", "ratio", "rate", 0.95),
    Goal("200 rules >= 95% of 1 rule: 1 recipient, drained", "rules-1rcpt", "ratio", "drained",
         0.95),
    Goal("200 rules >= 95% of 1 rule: 50 recipients, accepted", "rules-50rcpt", "ratio", "rate",
         0.95),
    Goal("200 rules >= 95% of 1 rule: 50 recipients, drained", "rules-50rcpt", "ratio", "drained",
         0.95),
    Goal("200 rules >= 95% of 1 rule: non-matching recipient (550)", "rules-nomatch", "ratio",
         "rate", 0.95),
    Goal("200 rules >= 95% of 1 rule, built through the API: accepted", "rules-api", "ratio",
         "rate", 0.95),
    Goal("200 rules >= 95% of 1 rule, built through the API: drained", "rules-api", "ratio",
         "drained", 0.95),
    Goal("10 KB, c=10: SendRawEmail calls accepted >= the same message received over SMTP",
         "send-api-c10", "ratio", "rate", 1.0),
    Goal("10 KB, c=10: SendRawEmail calls drained >= the same message received over SMTP",
         "send-api-c10", "ratio", "drained", 1.0),
    Goal("10 KB, c=10: authentication on (SPF, DKIM, DMARC) accepts >= 85% of it off",
         "auth-c10", "ratio", "rate", 0.85),
    Goal("10 KB, c=10: authentication on (SPF, DKIM, DMARC) drained >= 85% of it off",
         "auth-c10", "ratio", "drained", 0.85),
]  # fmt: skip


def value(m: Measurement, attr: str) -> float:
    if attr == "drained":
        # The sink stores nothing: its drained rate is its accept rate.
        return m.drained_rate if m.drained_rate is not None else float("nan")
    return float(getattr(m, attr))


def med(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def med_ratio(runs: Sequence[Run], attr: str, a: str, b: str) -> float:
    """The median over runs of b's figure over a's (runs lacking either are left out)."""
    return med([value(r[b], attr) / value(r[a], attr) for r in runs
                if a in r and b in r and value(r[a], attr)])  # fmt: skip


def med_diff(runs: Sequence[Run], attr: str, a: str, b: str) -> float:
    return med([value(r[b], attr) - value(r[a], attr) for r in runs if a in r and b in r])


def med_of(runs: Sequence[Run], attr: str, label: str) -> float:
    return med([value(r[label], attr) for r in runs if label in r])


def fmt(x: float, digits: int = 0) -> str:
    # + 0.0 turns the -0.0 of a difference rounded to nothing into 0.0
    return "n/a" if x != x else f"{round(x, digits) + 0.0:,.{digits}f}"


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"nproc {os.cpu_count()} ({cpu or platform.processor()}), "
        f"Linux {platform.release()}, Python {platform.python_version()} ({sys.executable}), "
        f"aiosmtpd {metadata.version('aiosmtpd')}"
    )


def node_version() -> str:
    out = subprocess.run(["node", "--version"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def engine_revision(root: Path = ROOT, rev: str | None = None) -> str:
    """The engine's commit, plus a digest of the ``inbound`` sources under ``root``."""
    if ENGINE_MODULE != "inbound":
        return f"module `{ENGINE_MODULE}` (INBOUND_BENCH_ENGINE)"
    out = subprocess.run(
        ["git", "rev-parse", "--short", rev or "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    where = f"inbound/ as of {rev}" if rev else "inbound/ from the working tree"
    commit = out.stdout.strip() or "unknown"
    return f"commit {commit}, {where}, sources sha1 {source_digest(root)}"


def source_digest(root: Path = ROOT) -> str:
    """A digest of ``root``/inbound/**/*.py: tells working-tree states apart."""
    digest = hashlib.sha1()
    for path in sorted((root / "inbound").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def goal_rows(scenarios: Sequence[Scenario], results: dict[str, list[Run]]) -> list[str]:
    rows = [
        "| target | measured (median of runs) | result | server CPU per message, A / B |",
        "|---|---:|:---:|---:|",
    ]
    by_key = {s.key: s for s in scenarios}
    for g in GOALS:
        runs, s = results.get(g.key), by_key.get(g.key)
        if not runs or s is None or len(s.targets) < 2:
            continue
        a, b = g.a or s.targets[0].label, g.b or s.targets[1].label
        missing = dict(s.missing)
        if b not in missing and not any(b in r for r in runs):  # the engine did not run
            continue
        if a in missing or b in missing:
            why = missing.get(a) or missing[b]
            label = a if a in missing else b
            rows.append(f"| {g.text} | not measured ({label}: {why}) | n/a | |")
            continue
        if not any(a in r and b in r for r in runs):  # the engine did not run, or failed
            continue
        if g.kind == "max":
            figure = med_of(runs, g.attr, b)
            measured, ok = f"{figure:.1f} MB", figure <= g.limit
        elif g.kind == "diff":
            figure = med_diff(runs, g.attr, a, b)
            measured, ok = f"{figure:+.1f} MB", figure <= g.limit
        else:
            figure = med_ratio(runs, g.attr, a, b)
            ok = figure <= g.limit if g.kind == "ratio-max" else figure >= g.limit
            measured = f"{figure:.2f}x"
        cpu = f"{med_ratio(runs, 'cpu_ms', b, a):.2f}x" if g.kind == "ratio" else ""
        verdict = "n/a" if figure != figure else ("PASS" if ok else "FAIL")
        rows.append(f"| {g.text} | {measured} | {verdict} | {cpu} |")
    return rows


ROWS: list[tuple[str, str, int, str]] = [
    # (label, attribute, digits, how the third column compares)
    ("messages/s, accepted (client clock)", "rate", 0, "ratio"),
    ("messages/s, drained (until pending = 0)", "drained", 0, "ratio"),
    ("server CPU ms per message (until drained)", "cpu_ms", 3, "ratio"),
    ("peak RSS MB (VmHWM)", "peak_rss_mb", 1, "diff"),
    ("RSS MB after warm-up (VmRSS), all processes", "idle_rss_mb", 1, "diff"),
    ("RSS MB after warm-up, the largest process", "idle_rss_process_mb", 1, "diff"),
    ("latency p50 ms", "p50_ms", 2, "ratio"),
    ("latency p99 ms", "p99_ms", 2, "ratio"),
    ("load generator CPU µs per message", "client_cpu_us", 0, "ratio"),
    ("other processes' CPU, % of one CPU (noise)", "background_pct", 0, "none"),
]


def scenario_table(s: Scenario, runs: list[Run], quick: bool) -> list[str]:
    """Figures side by side, one column per target, then each target's ratio to the first."""
    measured = [t.label for t in s.targets if any(t.label in r for r in runs)]
    labels = measured + [label for label, _ in s.missing]
    base, others = measured[0], measured[1:]
    load = s.load(0, quick)
    unit = "MAIL/RCPT/RSET rounds" if s.mode == "reject" else "messages"
    out = [
        f"### {s.title}",
        "",
        f"`{s.key}`: {load.total:,} {unit} per measurement = {load.concurrency} concurrent "
        f"connection(s) x {load.connections} connection(s) each in turn x "
        f"{load.per_connection} per connection; {s.size:,}-byte messages, "
        f"{len(s.rcpts)} recipient(s) (`{s.rcpts[0]}`{', ...' if len(s.rcpts) > 1 else ''}).",
        "",
    ]
    header = ["figure", *labels, *(f"{label} / {base}" for label in others)]
    out += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for label, attr, digits, how in ROWS:
        if s.mode == "reject":
            label = label.replace("messages/s", "rounds/s").replace("per message", "per round")
        if attr == "drained" and s.targets[0].label == "sink":
            label += "; sink" + (", Haraka" if "Haraka" in measured else "") + ": = accepted"
        cells = [fmt(med_of(runs, attr, t), digits) for t in measured]
        cells += ["not run" for _ in s.missing]
        for t in others:
            if how == "none":
                cells.append("")
            elif how == "diff":
                cells.append(f"{med_diff(runs, attr, base, t):+.1f} MB")
            else:
                cells.append(f"{med_ratio(runs, attr, base, t):.2f}x")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    last = runs[-1]
    for t in measured:
        if t in last:
            codes = ", ".join(f"{k} x{v:,}" for k, v in sorted(last[t].codes.items()))
            out.append(f"Replies ({t}, last run): {codes}.")
    per_run = "; ".join(
        f"{t} " + ", ".join(fmt(value(r[t], "rate")) if t in r else "failed" for r in runs)
        for t in measured
    )
    out.append(f"Per run, {unit}/s accepted: {per_run}.")
    out += [f"**{label} not measured:** {why}." for label, why in s.missing]
    notes = {n for r in runs for m in r.values() for n in m.notes}
    out += [f"**Note:** {n}" for n in sorted(notes)]
    return [*out, ""]


def cost_table(s: Scenario, runs: list[Run], reject: list[Run] | None) -> list[str]:
    """Where the engine's CPU goes: each part's server CPU per message, as the difference
    between two targets of the same run (median over runs), with the event loop's share."""
    load = s.load(0, False)
    whats = {t.label: t.what for t in s.targets}

    def cpu(label: str, attr: str = "cpu_ms") -> float:
        return med_of(runs, attr, label)

    def others(label: str) -> float:
        return med([r[label].cpu_ms - r[label].loop_cpu_ms for r in runs if label in r])

    def part(name: str, b: str, a: str = "", how: str = "") -> str:
        """A row: b's CPU per message, less a's when given, split into event loop / others."""
        if not a:
            total, loop, rest = cpu(b), cpu(b, "loop_cpu_ms"), others(b)
            how = how or f"{b}: {whats[b]}"
        else:
            total = med_diff(runs, "cpu_ms", a, b)
            loop = med_diff(runs, "loop_cpu_ms", a, b)
            rest = total - loop
            how = how or f"{b} - {a}"
        return f"| {name} | {fmt(total, 3)} | {fmt(loop, 3)} / {fmt(rest, 3)} | {how} |"

    out = [
        f"### {s.title}",
        "",
        f"`{s.key}`: {load.total:,} messages per target per run, 10 connections, as `10k-c10`;"
        " every target measured back to back in each run. CPU is the server process's, per"
        " message, until drained (median over runs; a part is the median of its per-run"
        " difference). Event loop = the server process's main thread; others = the store's"
        " writer (a process of its own, `python -m inbound.store`: the"
        " engine's only other busy thread or process with 10 KB messages) and any file writes"
        " handed to threads.",
        "",
        "| part | server CPU ms per message | event loop / others | how |",
        "|---|---:|---:|---|",
        part("bare aiosmtpd: SMTP and DATA parsing, nothing kept", "sink"),
        part("... the same on uvloop, the engine's loop", "sink on uvloop"),
        part("aiosmtpd doing the job plainly (one header, a file fsynced, a JSON line), uvloop",
             "sink doing the job"),
        part("... the same with group commit (one file, its syncs shared)", "group commit"),
        part("the engine's whole job (catch-all rule)", "engine"),
        part("the engine without actions", "no actions"),
        part("... over bare aiosmtpd", "no actions", "sink"),
        part("AddHeader action", "AddHeader", "no actions"),
        part("S3 action (local bucket)", "S3", "no actions"),
        part("SNS action (local topic)", "SNS", "no actions"),
        part("the three actions together", "engine", "no actions"),
        part("durable accept (fsync before 250)", "engine", "no fsync",
             "engine - no fsync (its data dir on tmpfs, where fsync returns at once)"),
        f"| the store's writer | {fmt(others('engine'), 3)} | - / "
        f"{fmt(others('engine'), 3)} | engine: CPU of its threads and processes other than the"
        " event loop |",
    ]  # fmt: skip
    if reject and all("engine" in r for r in reject):
        rounds = med_of(reject, "cpu_ms", "engine")
        out.append(
            f"| SMTP commands alone (MAIL, RCPT answered 550, RSET) | {fmt(rounds, 3)} | "
            f"{fmt(med_of(reject, 'loop_cpu_ms', 'engine'), 3)} / - | engine in `reject-c10`,"
            " per round |"
        )
    out += ["", *latency_table(s, runs)]
    notes = {n for r in runs for m in r.values() for n in m.notes}
    out += [f"**Note:** {n}" for n in sorted(notes)]
    return [*out, ""]


def latency_table(s: Scenario, runs: list[Run]) -> list[str]:
    """Each target's rate and latency, and its p99 over the bare sink's (the median of per-run
    ratios): what each part of the job, and a durable accept on this disk, costs in the tail
    (issue 15 item 5)."""
    out = [
        "| target | messages/s accepted | p50 ms | p99 ms | p99 / the sink's"
        " | server CPU ms per message |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in s.targets:
        if any(t.label in r for r in runs):
            out.append(
                f"| {t.label} | {fmt(med_of(runs, 'rate', t.label))}"
                f" | {fmt(med_of(runs, 'p50_ms', t.label), 1)}"
                f" | {fmt(med_of(runs, 'p99_ms', t.label), 1)}"
                f" | {fmt(med_ratio(runs, 'p99_ms', 'sink', t.label), 2)}x"
                f" | {fmt(med_of(runs, 'cpu_ms', t.label), 3)} |"
            )
    durable = med_diff(runs, "p99_ms", "no fsync", "engine")
    plain = med_diff(runs, "p99_ms", "sink on uvloop", "sink doing the job")
    grouped = med_diff(runs, "p99_ms", "sink on uvloop", "group commit")
    return [
        *out,
        "",
        f"Without durable accept (its data dir on tmpfs) the engine accepts"
        f" {fmt(med_ratio(runs, 'rate', 'engine', 'no fsync'), 2)}x as many messages per"
        f" second; durable accept adds {fmt(durable, 1)} ms to its p99 (engine - no fsync), the"
        f" plain job's file fsynced before `250` adds {fmt(plain, 1)} ms to bare aiosmtpd's on"
        f" the same loop (sink doing the job - sink on uvloop), and the same job group-committed"
        f" adds {fmt(grouped, 1)} ms (group commit - sink on uvloop): medians of per-run"
        " differences.",
        *sync_line(runs),
    ]


def sync_line(runs: Sequence[Run]) -> list[str]:
    """The fdatasyncs of this disk under the load, as the group-commit job timed them: every
    message of a durable accept waits for at least one, so their tail bounds its p99."""
    timed = [m.syncs for r in runs for m in r.values() if m.syncs is not None]
    if not timed:
        return []

    def med(attr: str) -> float:
        return statistics.median(getattr(t, attr) for t in timed)

    return [
        "",
        f"The group-commit job's fdatasyncs of this disk during the load (medians over runs):"
        f" {fmt(med('n'))} per run, p50 {fmt(med('p50_ms'), 1)} ms, p99 {fmt(med('p99_ms'), 1)}"
        f" ms, the longest {fmt(med('max_ms'), 1)} ms; per run, p99 / longest: "
        + ", ".join(f"{fmt(t.p99_ms, 1)} / {fmt(t.max_ms, 1)}" for t in timed)
        + " ms. Each message of a durable accept waits for at least one whole sync.",
    ]


def write_report(
    path: Path,
    *,
    command: str,
    scenarios: list[Scenario],
    results: dict[str, list[Run]],
    engine: tuple[bool, str],
    haraka: tuple[bool, str] = (False, "not asked for"),
    client_loop: str,
    client_ceiling: float,
    runs: int,
    elapsed: float,
    quick: bool,
    engine_at_start: str,
    failures: Sequence[str] = (),
) -> None:
    revision = engine_at_start
    if engine[0] and ENGINE_MODULE == "inbound":
        revision += ", run from a copy taken at the start"
        if "working tree" in revision and source_digest() != source_digest(servers.ENGINE_DIR):
            revision += f" (the working tree has changed since: {source_digest()})"
    measured = [m for runs in results.values() for r in runs for m in r.values()]
    bg = [m.background_pct for m in measured]
    waited = sum(m.waited for m in measured)
    sink_rate = med_of(results.get("10k-c10", []), "rate", "sink")
    lines = [
        "# Benchmark results: inbound engine vs bare aiosmtpd sink and Haraka",
        "",
        f"- Command: `{command}` (from the repository root; `make bench` runs it)",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"whole run took {elapsed / 60:.1f} min",
        f"- Machine: {machine()}",
        f"- Engine: {revision if engine[0] else 'NOT RUNNABLE: ' + engine[1]}",
        "- Haraka (the peer): "
        + (
            f"{haraka[1]} on node {node_version()}, one process (no cluster), the local plugin"
            " `benchmarks/haraka/plugins/inbound_bench.js` doing the catch-all rule's job: one"
            " header, the message stored to a file and fsynced before `250`, one JSON"
            ' notification line (benchmarks/README.md, "Haraka").'
            if haraka[0]
            else f"NOT RUNNABLE: {haraka[1]}; its figures are missing."
        ),
        f"- Load generator: raw asyncio streams on {client_loop}, lock-step ESMTP (no PIPELINING),"
        " or for SendRawEmail one unsigned Query-protocol call at a time per HTTP/1.1 keep-alive"
        f" connection, in the process running this command. Its own SMTP ceiling, against a"
        " protocol-only"
        f" responder at 10 KB, c=10: {fmt(client_ceiling)} msgs/s"
        + (f" ({client_ceiling / sink_rate:.1f}x the aiosmtpd sink)." if sink_rate else "."),
        f"- Method: {runs} run(s); in each run the targets of a scenario are measured back to"
        " back (A B C), and runs repeat the whole sequence (A B C A B C ...). Figures are medians"
        " over runs; ratios are medians of the per-run ratios. Every measurement starts a fresh"
        " server in a fresh data dir (the engine on uvloop, its loop: inbound/eventloop.py; the"
        " sink on asyncio's default loop, as bare aiosmtpd runs, and on uvloop in `costs-c10`),"
        " warms it up with one connection, then"
        " runs the load. Before each, dirty pages are flushed (`sync`) and the run waits for the"
        " machine to go quiet; data dirs are deleted only after the last measurement, since a"
        " deletion of thousands of files slowed the next measurement's file system calls.",
        "- Server CPU: utime+stime of the server process (all threads) from /proc/<pid>/stat,"
        " from load start until the engine reports `pending == 0` on `GET /api/stats`"
        " (`sentPending == 0` for sending), divided by"
        " the number of messages. Peak RSS: VmHWM from /proc/<pid>/status at the end of the"
        " measurement (process lifetime peak, startup included).",
        "- Drained throughput: messages / time from load start until `pending == 0` (all rule"
        " actions done; for sending, `sentPending == 0`: every message delivered, here to the"
        " outbox). The sink stores nothing, so its drained figure is its accept figure.",
        f"- Other processes' CPU during the measurements: median {fmt(med(bg))}%, max"
        f" {fmt(max(bg, default=float('nan')))}% of one CPU (the run waited {fmt(waited)} s in"
        " all for them to go quiet before measurements)"
        + (
            " -- **the machine was busy: throughput figures are unreliable; CPU per message"
            " holds up better.**"
            if med(bg) > 10
            else "."
        ),
        "",
    ]
    if not engine[0]:
        lines += [
            f"**The engine was not measured** (`python -m inbound --help`: {engine[1]}); these"
            " are the sink's figures only.",
            "",
        ]
    goals = goal_rows(scenarios, results)
    if len(goals) > 2:
        lines += [
            "## Targets",
            "",
            *goals,
            "",
            "The last column is the baseline's (A: sink, Haraka, 1 rule, or receiving over SMTP)"
            " server CPU per message over the candidate's (B: engine, 200 rules, or sending),"
            " median of per-run ratios: what the"
            " throughput ratio tends to when both servers are CPU-bound on one core, and the"
            " steadier figure when other processes share the machine. Throughput can beat it when"
            " the candidate's extra work runs in other threads (the second core).",
            "",
        ]
        rej, c10 = results.get("reject-c10", []), results.get("10k-c10", [])
        full = med_of(rej, "rate", "engine") / med_of(c10, "rate", "sink")
        if full == full:
            lines += [
                f"For reference, the engine's RCPT rejections run at {full:.1f}x the rate at"
                " which the sink accepts whole 10 KB messages at c=10.",
                "",
            ]
    if failures:
        lines += [
            "## Failed measurements",
            "",
            "These measurements are left out of the figures below (server logs in"
            " `benchmarks/.work/`):",
            "",
            *(f"- {f}" for f in failures),
            "",
        ]
    for s in scenarios:
        if s.costs and any(len(r) > 1 for r in results.get(s.key, [])):
            lines += ["## Where the CPU goes", ""]
            lines += cost_table(s, results[s.key], results.get("reject-c10"))[2:]
    lines += ["## Scenarios", ""]
    for s in scenarios:
        if results.get(s.key) and not s.costs:
            lines += scenario_table(s, results[s.key], quick)
    path.write_text("\n".join(lines).rstrip() + "\n" + kept_sections(path))


# Sections recorded by other commands (benchmarks/memory.py) follow this line in RESULTS.md;
# a run rewrites everything above it and keeps the rest.
KEEP = "<!-- Below: figures of other commands, kept by benchmarks.run. -->"


def kept_sections(path: Path) -> str:
    try:
        text = path.read_text()
    except OSError:
        return ""
    at = text.find(KEEP)
    return "" if at < 0 else "\n" + text[at:]
