"""1, 2 and 4 engine processes on one PostgreSQL database (issue 17 item 6), with one engine on
its SQLite file for reference; writes its own section of ``benchmarks/RESULTS.md``.

    python -m benchmarks.pgscale [--runs N] [--engines 1,2,4] [--per-connection M] [--no-sqlite]

It starts its own PostgreSQL server from the Debian binaries (``tests/postgres.py``: initdb in
a temp dir, a free port, fsync on, removed at the end) and gives each measurement a fresh
database. A measurement starts N engines, each with its own data dir and ports and
``[store] url`` naming that database, and the catch-all rule of the other scenarios (AddHeader
+ S3 + SNS); the load generator spreads its ``-c`` workers over the engines' SMTP ports
(worker i to engine i mod N). Drained: every engine's ``GET /api/stats`` says ``pending`` 0
(the counts are the database's, so the first engine is polled until then, then each).

CPU per message is counted apart for the engines (every thread of every engine process) and
for the PostgreSQL server (the postmaster and its children: the engines' backends, the WAL
writer, the checkpointer, ...; backends that exit during the measurement are in the
postmaster's ``cutime``). Runs are interleaved (SQLite 1, PostgreSQL 1, 2, 4, SQLite 1, ...);
figures are medians over runs, ratios medians of the per-run ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks import servers
from benchmarks.apiscale import write_section
from benchmarks.loadgen import Load, make_message, new_event_loop_run, run_load
from benchmarks.report import engine_revision, machine
from benchmarks.run import wait_quiet
from benchmarks.servers import CLK_TCK, ROOT, Server, rule, rule_set, system_busy_seconds

WORK = ROOT / "benchmarks" / ".work" / "pgscale"
SECTION = "## PostgreSQL: 1, 2 and 4 engines on one database (`python -m benchmarks.pgscale`)"
SQLITE = "SQLite, 1 engine"
TARGET = 1.6  # issue 17 item 6: 2 engines on 2 cores >= 1.6x one engine, on PostgreSQL


def pg_label(engines: int) -> str:
    return f"PostgreSQL, {engines} engine{'s' if engines > 1 else ''}"


@dataclass
class Measurement:
    target: str
    n: int  # messages accepted
    rate: float  # accepted per second, client clock
    drained: float | None  # n / time until every engine said pending 0
    engines_ms: float  # CPU per message of the engine processes, all threads
    loop_ms: float  # of which their main threads' (the event loops)
    postgres_ms: float  # of the PostgreSQL server's processes
    client_ms: float  # of the load generator (this process)
    background_pct: float  # other processes' CPU during the measurement, % of one CPU
    notes: list[str]


class PostgresCpu:
    """CPU time of a PostgreSQL server: the postmaster's own and its waited-for children's
    (``cutime``, ``cstime``), and its live children's."""

    def __init__(self, data_dir: Path) -> None:
        self.pid = int((data_dir / "postmaster.pid").read_text().split()[0])

    def seconds(self) -> float:
        """Summed in clock ticks, divided once: the same ticks split otherwise between live
        backends and reaped ones give the same figure (float sums of each part's seconds did
        not, and made a later reading a hair smaller than an earlier one)."""
        total = _ticks(self.pid, children=True)
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                stat = _stat(int(entry.name))
                if stat is not None and int(stat[1]) == self.pid:
                    total += _ticks(int(entry.name))
        return total / CLK_TCK


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields from the state on (fields[1] is the parent's pid)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None  # the process has gone
    return text[text.rindex(")") + 2 :].split()


def _ticks(pid: int, *, children: bool = False) -> int:
    stat = _stat(pid)
    if stat is None:
        return 0
    fields = stat[11:15] if children else stat[11:13]
    return sum(int(f) for f in fields)


@contextmanager
def postgres() -> Iterator[tuple[str, PostgresCpu]]:
    """A PostgreSQL server for the run: (its URL without a database name, its CPU)."""
    from tests import postgres as pg

    with pg.running(fsync=True) as server:
        yield server.url("{database}"), PostgresCpu(server.socket_dir / "data")


def create_database(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url.format(database="postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return url.format(database=name)


async def measure(
    label: str, engines: list[Server], load: Load, postgres: PostgresCpu | None
) -> Measurement:
    notes: list[str] = []
    try:
        await asyncio.gather(*(e.start() for e in engines))
        ports = [e.smtp_port for e in engines]
        load = replace(load, port=ports[0], spread=tuple(ports[1:]))
        # each engine warmed up with one connection, then the whole cluster drained
        for port in ports:
            warm = replace(load, port=port, spread=(), concurrency=1, connections=1,
                           per_connection=min(20, load.per_connection))  # fmt: skip
            await run_load(warm)
        first = engines[0]
        baseline = (first.stats() or {}).get("messages", 0)
        await first.drained(baseline)
        baseline = (first.stats() or {}).get("messages", 0)
        pg0 = postgres.seconds() if postgres else 0.0
        cpu0 = sum(e.cpu_seconds() for e in engines)
        loop0 = sum(e.cpu_seconds(main_thread=True) for e in engines)
        busy0, client0, t0 = system_busy_seconds(), time.process_time(), time.perf_counter()
        result = await run_load(load)
        if result.errors:
            notes.append(f"{len(result.errors)} connection errors, first: {result.errors[0]}")
        t_drained, note = await first.drained(baseline + result.accepted)
        for engine in engines[1:]:  # the database's counts: each engine must say so too
            note = note or (await engine.drained(0))[1]
        cpu = sum(e.cpu_seconds() for e in engines) - cpu0
        loop = sum(e.cpu_seconds(main_thread=True) for e in engines) - loop0
        pg = (postgres.seconds() - pg0) if postgres else 0.0
        wall = time.perf_counter() - t0
        client = time.process_time() - client0
        ours = cpu + pg + client
        background = max(0.0, system_busy_seconds() - busy0 - ours) / wall * 100
    finally:
        for engine in engines:
            engine.stop()
    if note:
        notes.append(note)
    if result.accepted != load.total:
        notes.append(f"only {result.accepted}/{load.total} messages got 250 after DATA")
    n = max(result.accepted, 1)
    return Measurement(
        target=label,
        n=result.accepted,
        rate=result.accepted / result.elapsed,
        drained=result.accepted / (t_drained - t0) if t_drained is not None else None,
        engines_ms=cpu / n * 1e3,
        loop_ms=loop / n * 1e3,
        postgres_ms=pg / n * 1e3,
        client_ms=client / n * 1e3,
        background_pct=background,
        notes=notes,
    )


def engines_for(workdir: Path, count: int, store_url: str) -> list[Server]:
    catch_all = rule_set([rule("catch-all", [])])
    found = []
    for i in range(count):
        home = workdir / f"engine{i}"
        home.mkdir(parents=True)
        found.append(Server.engine(home, catch_all, store_url=store_url))
    return found


def med(xs: Sequence[float | None]) -> float:
    values = [x for x in xs if x is not None]
    return statistics.median(values) if values else float("nan")


def report(
    runs: list[dict[str, Measurement]], labels: list[str], load: Load, command: str, revision: str
) -> str:
    def of(label: str, attr: str) -> list[float | None]:
        return [getattr(r[label], attr) for r in runs if label in r]

    def ratio(label: str, base: str, attr: str) -> float:
        return med([getattr(r[label], attr) / getattr(r[base], attr)
                    for r in runs if label in r and base in r
                    and getattr(r[label], attr) and getattr(r[base], attr)])  # fmt: skip

    one = pg_label(1)
    background = max((m.background_pct for r in runs for m in r.values()), default=0.0)
    busy = ": **the machine was busy**, trust the CPU per message more than the rates."
    lines = [
        SECTION,
        "",
        f"Written by `{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())};"
        f" {len(runs)} interleaved run(s); engine {revision}; {machine()}). 10 KB messages, the"
        f" catch-all rule (AddHeader + S3 + SNS), {load.concurrency} connections spread over"
        f" the engines, {load.per_connection * load.connections} messages each"
        f" ({load.total} per measurement). One PostgreSQL server (fsync on, Debian's defaults"
        " otherwise) on the same machine, a fresh database per measurement. Figures are medians"
        " over runs; ratios are medians of the per-run ratios to one engine on PostgreSQL."
        f" Other processes used up to {background:.0f}% of a CPU during a measurement"
        + (busy if background > 10 else "."),
        "",
        "| target | msgs/s accepted | msgs/s drained | x PostgreSQL 1 (accepted / drained)"
        " | engines' CPU ms/msg (event loops) | PostgreSQL CPU ms/msg | engines + PostgreSQL"
        " | load generator | CPU allows msgs/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cores = os.cpu_count() or 1
    for label in labels:
        if not any(label in r for r in runs):
            lines.append(f"| {label} | failed | | | | | | | |")
            continue
        engines, pg = med(of(label, "engines_ms")), med(of(label, "postgres_ms"))
        client = med(of(label, "client_ms"))
        lines.append(
            f"| {label} | {med(of(label, 'rate')):.0f} | {med(of(label, 'drained')):.0f}"
            f" | {ratio(label, one, 'rate'):.2f}x / {ratio(label, one, 'drained'):.2f}x"
            f" | {engines:.2f} ({med(of(label, 'loop_ms')):.2f})"
            f" | {pg:.2f} | {engines + pg:.2f} | {client:.2f}"
            f" | {cores / (engines + pg + client) * 1e3:.0f} |"
        )
    lines += [
        "",
        f"*CPU allows*: {cores} cores / (engines + PostgreSQL + load generator CPU per message):"
        " what the machine could do if every core went to this and nothing waited, the ceiling"
        " of the drained rate on a quiet machine, and the steadier figure on a busy one.",
    ]
    two = pg_label(2)
    if any(two in r and one in r for r in runs):
        got = ratio(two, one, "drained")
        verdict = "PASS" if got >= TARGET else "FAIL"
        lines += [
            "",
            f"Target (issue 17 item 6): 2 engines >= {TARGET}x one engine on PostgreSQL,"
            f" drained: **{verdict}** ({got:.2f}x; accepted {ratio(two, one, 'rate'):.2f}x).",
        ]
    notes = [f"- run {i + 1}, {m.target}: {'; '.join(m.notes)}"
             for i, r in enumerate(runs) for m in r.values() if m.notes]  # fmt: skip
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


async def main_async(args: argparse.Namespace, command: str) -> None:
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    servers.snapshot_engine(work / "engine", args.engine_rev)
    revision = engine_revision(servers.ENGINE_DIR, args.engine_rev)
    # (label, engines; 0: one engine on its SQLite file)
    targets = ([] if args.no_sqlite else [(SQLITE, 0)]) + [
        (pg_label(int(n)), int(n)) for n in args.engines.split(",")
    ]
    size = 10 * 1024
    load = Load("127.0.0.1", 0, args.concurrency, 1, args.per_connection,
                make_message(size), ("u199-0@example.com",))  # fmt: skip
    runs: list[dict[str, Measurement]] = []
    with postgres() as (url, pg_cpu):
        for run in range(args.runs):
            measured: dict[str, Measurement] = {}
            for i, (label, count) in enumerate(targets):
                workdir = work / f"run{run}-{i}"
                if not count:
                    engines, cpu = engines_for(workdir, 1, ""), None
                else:
                    database = create_database(url, f"bench_{run}_{i}")
                    engines, cpu = engines_for(workdir, count, database), pg_cpu
                os.sync()
                await wait_quiet(args.quiet_wait)
                try:
                    m = await measure(label, engines, load, cpu)
                except Exception as exc:  # one broken measurement must not lose the others
                    print(f"FAILED run {run + 1} {label}: {exc}", file=sys.stderr)
                    continue
                measured[label] = m
                print(f"run {run + 1}/{args.runs} {label:22} {m.rate:6.0f}/s drained"
                      f" {m.drained or 0:6.0f}/s engines {m.engines_ms:5.2f} ms"
                      f" (loops {m.loop_ms:5.2f}) postgres {m.postgres_ms:5.2f} ms/msg"
                      f" bg {m.background_pct:3.0f}% {'; '.join(m.notes)}",
                      file=sys.stderr)  # fmt: skip
            runs.append(measured)
    record(report(runs, [label for label, _ in targets], load, command, revision), args.output)


def record(text: str, output: Path | None) -> None:
    """Print a command's section of RESULTS.md and write it into `output`."""
    print(text)
    if output is not None:
        write_section(output, text)
        print(f"wrote its section of {output}", file=sys.stderr)


def scratch_and_output(ap: argparse.ArgumentParser, work: Path) -> None:
    """The arguments of where a PostgreSQL benchmark works and writes its section."""
    ap.add_argument("--work", type=Path, default=work, help=f"scratch folder (default {work})")
    ap.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS.md",
                    help="where its section goes (default benchmarks/RESULTS.md)")  # fmt: skip


def command_line(prog: str, argv: list[str] | None) -> str:
    """`prog` and its arguments, for RESULTS.md; exits saying why when no PostgreSQL server can
    run here."""
    from tests.postgres import why_not

    if (reason := why_not()) is not None:
        sys.exit(f"{prog}: no PostgreSQL server can run here: {reason}")
    return " ".join(["python -m " + prog, *(argv or sys.argv[1:])])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pgscale", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--runs", type=int, default=5, help="interleaved runs (default 5)")
    ap.add_argument("--engines", default="1,2,4", help="engine processes (default 1,2,4)")
    ap.add_argument("-c", "--concurrency", type=int, default=12,
                    help="connections, spread over the engines (default 12)")  # fmt: skip
    ap.add_argument("--per-connection", type=int, default=100, help="messages (default 100)")
    ap.add_argument("--no-sqlite", action="store_true", help="leave out the SQLite reference")
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=5.0,
        metavar="S",
        help="wait up to S seconds for other processes to go quiet (default 5)",
    )
    ap.add_argument("--engine-rev", metavar="REV", help="the engine as of this git revision")
    scratch_and_output(ap, WORK)
    args = ap.parse_args(argv)
    new_event_loop_run(main_async(args, command_line("benchmarks.pgscale", argv)))


if __name__ == "__main__":
    main()
