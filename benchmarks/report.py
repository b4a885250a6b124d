"""Write RESULTS.md: a header describing the run, the targets, and a table per scenario."""

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

Pair = tuple["Measurement", "Measurement"]


@dataclass(frozen=True)
class Goal:
    text: str
    key: str
    kind: str  # "ratio" (candidate/baseline >= limit) or "rss" (difference <= limit MB)
    attr: str
    limit: float


GOALS = [
    Goal("10 KB, c=10: engine accepts >= 50% of sink throughput", "10k-c10", "ratio", "rate", 0.5),
    Goal("10 KB, c=10: engine drained >= 50% of sink throughput", "10k-c10", "ratio", "drained",
         0.5),
    Goal("1 MB, c=10: engine accepts >= 80% of sink throughput", "1m-c10", "ratio", "rate", 0.8),
    Goal("1 MB, c=10: engine drained >= 80% of sink throughput", "1m-c10", "ratio", "drained", 0.8),
    Goal("RCPT rejections (550) at least as fast as the sink accepts RCPT (250)", "reject-c10",
         "ratio", "rate", 1.0),
    Goal("10 KB, c=50: engine peak RSS within 30 MB of the sink's", "10k-c50", "rss", "", 30.0),
    Goal("200 rules >= 95% of 1 rule: 1 recipient, accepted", "rules-1rcpt", "ratio", "rate", 0.95),
    Goal("200 rules >= 95% of 1 rule: 1 recipient, drained", "rules-1rcpt", "ratio", "drained",
         0.95),
    Goal("200 rules >= 95% of 1 rule: 50 recipients, accepted", "rules-50rcpt", "ratio", "rate",
         0.95),
    Goal("200 rules >= 95% of 1 rule: 50 recipients, drained", "rules-50rcpt", "ratio", "drained",
         0.95),
    Goal("200 rules >= 95% of 1 rule: non-matching recipient (550)", "rules-nomatch", "ratio",
         "rate", 0.95),
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


def med_ratio(pairs: Sequence[Pair], attr: str) -> float:
    return med([value(b, attr) / value(a, attr) for a, b in pairs if value(a, attr)])


def fmt(x: float, digits: int = 0) -> str:
    return "n/a" if x != x else f"{x:,.{digits}f}"


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


def goal_rows(results: dict[str, list[Pair]]) -> list[str]:
    rows = [
        "| target | measured (median of runs) | result | server CPU per message, A / B |",
        "|---|---:|:---:|---:|",
    ]
    for g in GOALS:
        pairs = results.get(g.key)
        if not pairs or pairs[0][0] is pairs[0][1]:
            continue
        cpu = ""
        if g.kind == "rss":
            diff = med([b.peak_rss_mb - a.peak_rss_mb for a, b in pairs])
            measured, ok = f"{diff:+.1f} MB", diff <= g.limit
        else:
            ratio = med_ratio(pairs, g.attr)
            measured, ok = f"{ratio:.2f}x", ratio >= g.limit
            cpu = f"{med([a.cpu_ms / b.cpu_ms for a, b in pairs if b.cpu_ms]):.2f}x"
        rows.append(f"| {g.text} | {measured} | {'PASS' if ok else 'FAIL'} | {cpu} |")
    return rows


ROWS: list[tuple[str, str, int, str]] = [
    # (label, attribute, digits, how the third column compares)
    ("messages/s, accepted (client clock)", "rate", 0, "ratio"),
    ("messages/s, drained (until pending = 0)", "drained", 0, "ratio"),
    ("server CPU ms per message (until drained)", "cpu_ms", 3, "ratio"),
    ("peak RSS MB (VmHWM)", "peak_rss_mb", 1, "diff"),
    ("RSS MB after warm-up (VmRSS)", "idle_rss_mb", 1, "diff"),
    ("latency p50 ms", "p50_ms", 2, "ratio"),
    ("latency p99 ms", "p99_ms", 2, "ratio"),
    ("load generator CPU µs per message", "client_cpu_us", 0, "ratio"),
    ("other processes' CPU, % of one CPU (noise)", "background_pct", 0, "none"),
]


def scenario_table(s: Scenario, pairs: list[Pair], quick: bool) -> list[str]:
    a_label, b_label = (t.label for t in s.targets)
    single = pairs[0][0] is pairs[0][1]
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
    if single:
        out += [f"| figure | {a_label} |", "|---|---:|"]
    else:
        out += [
            f"| figure | {a_label} | {b_label} | {b_label} / {a_label} |",
            "|---|---:|---:|---:|",
        ]
    for label, attr, digits, how in ROWS:
        if s.mode == "reject":
            label = label.replace("messages/s", "rounds/s").replace("per message", "per round")
        if attr == "drained" and s.targets[0].label == "sink":
            label += "; sink: = accepted"
        a = med([value(p[0], attr) for p in pairs])
        if single:
            out.append(f"| {label} | {fmt(a, digits)} |")
            continue
        b = med([value(p[1], attr) for p in pairs])
        if how == "none":
            cmp = ""
        elif how == "diff":
            cmp = f"{med([value(q, attr) - value(p, attr) for p, q in pairs]):+.1f} MB"
        else:
            cmp = f"{med_ratio(pairs, attr):.2f}x"
        out.append(f"| {label} | {fmt(a, digits)} | {fmt(b, digits)} | {cmp} |")
    codes = ", ".join(f"{k} x{v:,}" for k, v in sorted(pairs[-1][0].codes.items()))
    out += ["", f"Replies ({a_label}, last run): {codes}."]
    if not single:
        codes = ", ".join(f"{k} x{v:,}" for k, v in sorted(pairs[-1][1].codes.items()))
        out.append(f"Replies ({b_label}, last run): {codes}.")
    per_run = "; ".join(
        f"{m.target} " + ", ".join(fmt(value(p[i], "rate")) for p in pairs)
        for i, m in enumerate(pairs[0][: 1 if single else 2])
    )
    out.append(f"Per run, {unit}/s accepted: {per_run}.")
    notes = {n for p in pairs for m in p for n in m.notes}
    out += [f"**Note:** {n}" for n in sorted(notes)]
    return [*out, ""]


def write_report(
    path: Path,
    *,
    command: str,
    scenarios: list[Scenario],
    results: dict[str, list[Pair]],
    engine: tuple[bool, str],
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
    measured = [m for ps in results.values() for p in ps for m in (p[:1] if p[0] is p[1] else p)]
    bg = [m.background_pct for m in measured]
    waited = sum(m.waited for m in measured)
    sink_c10 = results.get("10k-c10")
    sink_rate = med([p[0].rate for p in sink_c10]) if sink_c10 else float("nan")
    lines = [
        "# Benchmark results: inbound engine vs bare aiosmtpd sink",
        "",
        f"- Command: `{command}` (from the repository root; `make bench` runs it)",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"whole run took {elapsed / 60:.1f} min",
        f"- Machine: {machine()}",
        f"- Engine: {revision if engine[0] else 'NOT RUNNABLE: ' + engine[1]}",
        f"- Load generator: raw asyncio streams on {client_loop}, lock-step ESMTP (no PIPELINING),"
        " or for SendRawEmail one unsigned Query-protocol call at a time per HTTP/1.1 keep-alive"
        f" connection, in the process running this command. Its own SMTP ceiling, against a"
        " protocol-only"
        f" responder at 10 KB, c=10: {fmt(client_ceiling)} msgs/s"
        + (f" ({client_ceiling / sink_rate:.1f}x the aiosmtpd sink)." if sink_rate else "."),
        f"- Method: {runs} run(s); in each run the two targets of a scenario are measured back to"
        " back (A B), and runs repeat the whole sequence (A B A B ...). Figures are medians over"
        " runs; ratios are medians of the per-run ratios. Every measurement starts a fresh server"
        " (default asyncio loop) in a fresh data dir, warms it up with one connection, then runs"
        " the load. Before each, dirty pages are flushed (`sync`) and the run waits for the"
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
    goals = goal_rows(results)
    if len(goals) > 2:
        lines += [
            "## Targets",
            "",
            *goals,
            "",
            "The last column is the baseline's (A: sink, 1 rule, or receiving over SMTP) server"
            " CPU per message over the candidate's (B: engine, 200 rules, or sending), median of"
            " per-run ratios: what the"
            " throughput ratio tends to when both servers are CPU-bound on one core, and the"
            " steadier figure when other processes share the machine. Throughput can beat it when"
            " the candidate's extra work runs in other threads (the second core).",
            "",
        ]
        rej, c10 = results.get("reject-c10"), results.get("10k-c10")
        if rej and c10 and rej[0][0] is not rej[0][1]:
            full = med([b.rate for _, b in rej]) / med([a.rate for a, _ in c10])
            lines += [
                f"For reference, the engine's RCPT rejections run at {full:.1f}x the rate at"
                " which the sink accepts whole 10 KB messages at c=10.",
                "",
            ]
    if failures:
        lines += [
            "## Failed measurements",
            "",
            "These pairs are left out of the figures below (server logs in `benchmarks/.work/`):",
            "",
            *(f"- {f}" for f in failures),
            "",
        ]
    lines += ["## Scenarios", ""]
    for s in scenarios:
        if results.get(s.key):
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
