"""Where message bodies should live with PostgreSQL (issue 17 item 2): rows (`bytea`, as the
engine keeps them) against a shared object store; writes its own section of
``benchmarks/RESULTS.md``.

    python -m benchmarks.pgbodies [--runs N] [--count-10k N] [--count-1m N]

Each way keeps a body durably next to the message's row, as the engine must before `250`, in
batches (the engine's group commit: the sessions whose DATA ended together commit as one):

- **row**: the body inserted into a `bytea` column in the transaction of the message's row
  (the engine's writer: one pipeline, lz4 for large values, `synchronous_commit` on);
- **files**: the body written to a file of a directory (fsynced, renamed into place, the
  directory fsynced: store/bodies.py's way), then the message's row committed without it:
  what a directory shared by every engine's host would do, measured on the local disk;
- **S3**: the body PUT to `moto_server` (boto3, one thread per body of the batch), then the
  row committed: the cost of an object store's HTTP API on both sides, without its durability
  (moto keeps objects in memory) or its network.

Then every body is read back once (the engine reads a body to process it after a restart, or
when it was not kept in memory). Bodies are the benchmark's 10 KB and 1 MB text messages and
the same sizes of base64 lines of random bytes (an attachment: what lz4 cannot shrink). CPU per
body is counted apart for this process (the engine's side), the PostgreSQL server and
moto_server; the server's WAL written per body too. Runs are interleaved (row, files, S3,
row, ...); figures are medians over runs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchmarks.apiscale import _answering
from benchmarks.loadgen import make_message
from benchmarks.pgscale import (
    PostgresCpu,
    command_line,
    create_database,
    postgres,
    record,
    scratch_and_output,
)
from benchmarks.report import machine
from benchmarks.servers import ROOT, Server, free_port

WORK = ROOT / "benchmarks" / ".work" / "pgbodies"
SECTION = "## Message bodies with PostgreSQL: rows or files (`python -m benchmarks.pgbodies`)"
KB, MB = 1024, 1024 * 1024
WAYS = ("row", "files", "S3")
TABLES = (
    "CREATE TABLE messages (id text PRIMARY KEY, size integer NOT NULL, body text)",
    "CREATE TABLE spool (id text PRIMARY KEY, raw bytea NOT NULL)",
)


@dataclass
class Figures:
    way: str
    kind: str
    size: int
    write_ms: float  # wall time per body, batches in turn
    read_ms: float
    client_ms: float  # CPU per body (write and read): this process
    postgres_ms: float
    moto_ms: float
    wal_kb: float  # WAL written per body (writes)


def bodies(size: int, kind: str) -> bytes:
    if kind == "text":
        return make_message(size)
    rng = random.Random(size)
    encoded = base64.encodebytes(rng.randbytes(size)).replace(b"\n", b"\r\n")
    return encoded[:size]


class Stores:
    """The three ways, side by side: one database, one directory, one moto_server."""

    def __init__(self, url: str, pg_cpu: PostgresCpu, moto: Server, folder: Path) -> None:
        import boto3
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        with contextlib.suppress(psycopg.errors.Error):  # as the engine's writer does
            self.conn.execute("SET default_toast_compression = lz4")
        for table in TABLES:
            self.conn.execute(table)
        self.pg_cpu, self.moto, self.folder = pg_cpu, moto, folder
        folder.mkdir(parents=True)
        self.s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{moto.http_port}",
                               region_name="us-east-1", aws_access_key_id="x",
                               aws_secret_access_key="y")  # fmt: skip
        self.s3.create_bucket(Bucket="bodies")
        self.pool = ThreadPoolExecutor(16)
        self.made = 0

    def commit(self, rows: list[tuple[str, int]], raw: bytes | None) -> None:
        """The messages' rows in one transaction, their bodies in it too when `raw` is given:
        the engine's writer (one pipeline, `synchronous_commit` on)."""
        with self.conn.pipeline():
            self.conn.execute("BEGIN")
            for message_id, size in rows:
                self.conn.execute("INSERT INTO messages VALUES (%s, %s)", (message_id, size))
                if raw is not None:
                    self.conn.execute("INSERT INTO spool VALUES (%s, %s)", (message_id, raw))
            self.conn.execute("COMMIT")

    def write_file(self, message_id: str, raw: bytes) -> None:
        """store/bodies.py's way: written, fsynced, renamed into place, the folder fsynced."""
        partial = self.folder / f".{message_id}"
        with partial.open("wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        partial.rename(self.folder / message_id)
        folder = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def write(self, way: str, ids: list[str], raw: bytes) -> None:
        rows = [(i, len(raw)) for i in ids]
        if way == "row":
            self.commit(rows, raw)
            return
        if way == "files":
            for message_id in ids:
                self.write_file(message_id, raw)
        else:
            put = lambda key: self.s3.put_object(Bucket="bodies", Key=key, Body=raw)  # noqa: E731
            list(self.pool.map(put, ids))
        self.commit(rows, None)

    def read(self, way: str, message_id: str) -> bytes:
        if way == "row":
            found = self.conn.execute("SELECT raw FROM spool WHERE id = %s", (message_id,))
            return bytes(found.fetchone()[0])
        if way == "files":
            return (self.folder / message_id).read_bytes()
        body: bytes = self.s3.get_object(Bucket="bodies", Key=message_id)["Body"].read()
        return body

    def wal(self) -> int:
        found = self.conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')")
        return int(found.fetchone()[0])

    def cpu(self) -> tuple[float, float, float]:
        return time.process_time(), self.pg_cpu.seconds(), self.moto.cpu_seconds()

    def measure(self, way: str, kind: str, size: int, count: int, batch: int) -> Figures:
        raw = bodies(size, kind)
        ids = [f"m{self.made + i}" for i in range(count)]
        self.made += count
        cpu0, wal0, t0 = self.cpu(), self.wal(), time.perf_counter()
        for at in range(0, count, batch):
            self.write(way, ids[at : at + batch], raw)
        wrote, wal1 = time.perf_counter() - t0, self.wal()
        t1 = time.perf_counter()
        for message_id in ids:
            assert self.read(way, message_id) == raw
        read = time.perf_counter() - t1
        spent = [b - a for a, b in zip(cpu0, self.cpu(), strict=True)]
        if way == "S3":  # moto keeps every object in memory: not for the next measurement
            for message_id in ids:
                self.s3.delete_object(Bucket="bodies", Key=message_id)
        per = 1e3 / count
        return Figures(way, kind, size, wrote * per, read * per, spent[0] * per,
                       spent[1] * per, spent[2] * per, (wal1 - wal0) / count / 1024)  # fmt: skip


def label(size: int) -> str:
    return f"{size // KB} KB" if size < MB else f"{size // MB} MB"


def report(found: list[Figures], runs: int, command: str, shape: dict[int, tuple[int, int]]) -> str:
    def med(figures: list[Figures], attr: str) -> float:
        return statistics.median(getattr(f, attr) for f in figures)

    batches = ", ".join(
        f"{label(size)}: {count} bodies in batches of {batch}"
        for size, (count, batch) in shape.items()
    )
    lines = [
        SECTION,
        "",
        f"Written by `{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())};"
        f" {runs} interleaved run(s); {machine()}; load average {os.getloadavg()[0]:.1f} on"
        f" {os.cpu_count()} cores at the end). {batches}; PostgreSQL on the same machine, fsync"
        " on. Times are wall time per body (a batch's"
        " write / its size, then each read alone); CPU per body covers writing and reading it.",
        "",
        "| body | way | write ms | read ms | CPU ms: engine side | PostgreSQL | moto_server"
        " | total | WAL KB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cells: dict[tuple[int, str, str], list[Figures]] = {}
    for f in found:
        cells.setdefault((f.size, f.kind, f.way), []).append(f)
    for (size, kind, way), figures in cells.items():
        cpu = [med(figures, a) for a in ("client_ms", "postgres_ms", "moto_ms")]
        lines.append(
            f"| {label(size)} {kind} | {way} | {med(figures, 'write_ms'):.2f}"
            f" | {med(figures, 'read_ms'):.2f} | {cpu[0]:.2f} | {cpu[1]:.2f} | {cpu[2]:.2f}"
            f" | {sum(cpu):.2f} | {med(figures, 'wal_kb'):.0f} |"
        )
    return "\n".join(lines) + "\n"


async def moto_server(workdir: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-p", str(port)]
    server = Server(argv, 0, workdir / "moto.log", http_port=port)
    with server.log.open("wb") as log:
        server.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    await _answering(f"http://127.0.0.1:{port}/moto-api/")
    return server


async def main_async(args: argparse.Namespace, command: str) -> None:
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shape = {10 * KB: (args.count_10k, 10), MB: (args.count_1m, 4)}
    found: list[Figures] = []
    moto = await moto_server(work)
    try:
        with postgres() as (url, pg_cpu):
            stores = Stores(create_database(url, "bodies"), pg_cpu, moto, work / "files")
            for run in range(args.runs):
                for size, (count, batch) in shape.items():
                    for kind in ("text", "base64"):
                        for way in WAYS:
                            f = await asyncio.to_thread(stores.measure, way, kind, size, count,
                                                        batch)  # fmt: skip
                            found.append(f)
                            print(f"run {run + 1}/{args.runs} {size:8} {kind:6} {way:5}"
                                  f" write {f.write_ms:6.2f} read {f.read_ms:6.2f} ms, CPU"
                                  f" {f.client_ms:5.2f} + pg {f.postgres_ms:5.2f} + moto"
                                  f" {f.moto_ms:5.2f} ms, WAL {f.wal_kb:5.0f} KB",
                                  file=sys.stderr)  # fmt: skip
            stores.conn.close()
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)
    record(report(found, args.runs, command, shape), args.output)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pgbodies", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--runs", type=int, default=3, help="interleaved runs (default 3)")
    ap.add_argument("--count-10k", type=int, default=500, help="10 KB bodies (default 500)")
    ap.add_argument("--count-1m", type=int, default=40, help="1 MB bodies (default 40)")
    scratch_and_output(ap, WORK)
    args = ap.parse_args(argv)
    asyncio.run(main_async(args, command_line("benchmarks.pgbodies", argv)))


if __name__ == "__main__":
    main()
