"""The receipt API against the size of the state it edits, and against moto's server
(issue 15 item 8); writes its own section of ``benchmarks/RESULTS.md``.

    python -m benchmarks.apiscale [--sizes 1,50,200] [--edits 20] [--runs 3] [--no-moto]

At each size N, the active rule set holds N rules of 100 recipients, built through the API in
order (each in its own domain, verified through the API first), and each edit is timed
``--edits`` times, in blocks, on the last rule: UpdateReceiptRule (another 100 recipients),
VerifyDomainIdentity of a new domain, then DeleteReceiptRule of the last rule with
CreateReceiptRule of it again (from N rules to N-1 and back). Per edit: the median time of a
call as a boto3 client sees it, and the server's CPU per call over its block (utime+stime from
/proc; the Delete and Create block gives their mean). The same sequence, sizes in turn, runs
against ``moto_server`` (moto[server], in the test dependencies), interleaved (engine, moto,
engine, moto ...), each on a fresh server, without the Delete and Create block (moto has no
DeleteReceiptRule): calls per second compare the calls both make. Each pass starts with one
call of each kind, not counted (warm-up). Figures are medians over ``--runs``.

``build_rules`` is also the API-built setup of ``benchmarks.run``'s ``rules-api`` scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from benchmarks import servers
from benchmarks.report import engine_revision, machine
from benchmarks.servers import ACTIONS, ROOT, Server, free_port, rule, rule_set

WORK = ROOT / "benchmarks" / ".work" / "apiscale"
RULE_SET = "default"
RECIPIENTS = 100
EDITS = ("CreateReceiptRule", "DeleteReceiptRule", "UpdateReceiptRule", "VerifyDomainIdentity")
SECTION = "## Receipt API against the size of its state (`python -m benchmarks.apiscale`)"


def ses_client(port: int) -> Any:
    return boto3.client(
        "ses",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="AKIAINBOUNDBENCH0000",
        aws_secret_access_key="inbound-benchmark-secret",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
    )


def domain_rule(name: str, domain: str, tag: str = "u") -> dict[str, Any]:
    return rule(name, [f"{tag}{i}@{domain}" for i in range(RECIPIENTS)])


def build_rules(http_port: int, count: int, last: dict[str, Any] | None = None) -> None:
    """Rules r000... of 100 recipients each, in their own domain verified first, created in
    order through the API into the active rule set; `last` in place of the last one (the
    ``rules-api`` scenario's matching rule, in a configured domain)."""
    ses = ses_client(http_port)
    previous = None
    for r in range(count):
        domain = f"d{r:03d}.test"
        made = last if last is not None and r == count - 1 else domain_rule(f"r{r:03d}", domain)
        if made is not last:
            ses.verify_domain_identity(Domain=domain)
        after = {"After": previous} if previous else {}
        ses.create_receipt_rule(RuleSetName=RULE_SET, Rule=made, **after)
        previous = made["Name"]


@dataclass
class Run:
    """One target's pass over the workload."""

    target: str
    calls: int = 0  # calls of the shared workload (what moto implements too)
    seconds: float = 0.0  # their wall time
    cpu: float = 0.0  # the server's CPU over the whole pass
    made: int = 0  # every call of the pass
    times: dict[tuple[int, str], list[float]] = field(default_factory=dict)  # (size, edit): s
    cpu_per_call: dict[tuple[int, str], float] = field(default_factory=dict)


class Workload:
    """The calls, in turn, from one boto3 client; `deletes`: the target has DeleteReceiptRule
    (moto does not: its pass leaves the Create and Delete block out)."""

    def __init__(
        self, port: int, cpu_seconds: Callable[[], float], run: Run, *, deletes: bool
    ) -> None:
        self.ses = ses_client(port)
        self.cpu_seconds = cpu_seconds
        self.run = run
        self.deletes = deletes
        self.built = 0  # rules r000... in the set
        self.domains = 0  # VerifyDomainIdentity probes made
        self.version = 0  # UpdateReceiptRule probes made

    def call(self, edit: str, size: int | None, *, shared: bool = True, **params: Any) -> None:
        method = getattr(self.ses, _snake(edit))
        t0 = time.perf_counter()
        method(**params)
        elapsed = time.perf_counter() - t0
        self.run.made += 1
        if shared:
            self.run.calls += 1
            self.run.seconds += elapsed
        if size is not None:
            self.run.times.setdefault((size, edit), []).append(elapsed)

    def create(self, r: int, size: int | None = None, *, shared: bool = True) -> None:
        after = {"After": f"r{r - 1:03d}"} if r else {}
        made = domain_rule(f"r{r:03d}", f"d{r:03d}.test")
        self.call("CreateReceiptRule", size, shared=shared, RuleSetName=RULE_SET, Rule=made,
                  **after)  # fmt: skip

    def warm_up(self) -> None:
        """Each kind of call once, not counted: a server's first call of a kind loads what it
        needs (~0.1 s for the engine's first VerifyDomainIdentity)."""
        self.ses.verify_domain_identity(Domain="warm.test")
        self.ses.describe_active_receipt_rule_set()
        if self.deletes:
            warm = domain_rule("warm", "warm.test")
            self.ses.create_receipt_rule(RuleSetName=RULE_SET, Rule=warm)
            self.ses.update_receipt_rule(RuleSetName=RULE_SET, Rule=warm)
            self.ses.delete_receipt_rule(RuleSetName=RULE_SET, RuleName="warm")

    def grow(self, rules: int) -> None:
        while self.built < rules:
            self.call("VerifyDomainIdentity", None, Domain=f"d{self.built:03d}.test")
            self.create(self.built)
            self.built += 1

    def block(self, size: int, edits: tuple[str, ...], calls: Callable[[], None], n: int) -> None:
        cpu0 = self.cpu_seconds()
        for _ in range(n):
            calls()
        per_call = (self.cpu_seconds() - cpu0) / (n * len(edits))
        for edit in edits:
            self.run.cpu_per_call[size, edit] = per_call

    def at(self, size: int, n: int) -> None:
        """The edits with `size` rules in the set, made on its last rule."""
        self.grow(size)
        last = size - 1

        def update() -> None:
            self.version += 1
            made = domain_rule(f"r{last:03d}", f"d{last:03d}.test", tag=f"v{self.version}-")
            self.call("UpdateReceiptRule", size, RuleSetName=RULE_SET, Rule=made)

        def verify() -> None:
            self.domains += 1
            self.call("VerifyDomainIdentity", size, Domain=f"v{self.domains}.probe.test")

        def delete_create() -> None:
            name = f"r{last:03d}"
            self.call("DeleteReceiptRule", size, shared=False, RuleSetName=RULE_SET, RuleName=name)
            self.create(last, size, shared=False)

        self.block(size, ("UpdateReceiptRule",), update, n)
        self.block(size, ("VerifyDomainIdentity",), verify, n)
        if self.deletes:
            self.block(size, ("DeleteReceiptRule", "CreateReceiptRule"), delete_create, n)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def workload(
    port: int, cpu_seconds: Callable[[], float], run: Run, sizes: list[int], n: int, deletes: bool
) -> None:
    work = Workload(port, cpu_seconds, run, deletes=deletes)
    work.warm_up()
    cpu0 = cpu_seconds()
    for size in sizes:
        work.at(size, n)
    run.cpu = cpu_seconds() - cpu0


async def engine_run(workdir: Path, sizes: list[int], n: int) -> Run:
    server = Server.engine(workdir, rule_set([]))
    await server.start()
    try:
        assert server.http_port is not None
        run = Run("engine")
        await asyncio.to_thread(workload, server.http_port, server.cpu_seconds, run, sizes, n, True)
        return run
    finally:
        server.stop()


async def moto_run(workdir: Path, sizes: list[int], n: int) -> Run:
    """moto's server, with what its receipt API checks in place: the rule set (active) and
    the S3 bucket the rules write to (moto refuses a rule naming a bucket it does not have)."""
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-p", str(port)]
    server = Server(argv, 0, workdir / "server.log", http_port=port)
    with server.log.open("wb") as log:
        server.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        await _answering(f"http://127.0.0.1:{port}/moto-api/")
        ses = ses_client(port)
        ses.create_receipt_rule_set(RuleSetName=RULE_SET)
        ses.set_active_receipt_rule_set(RuleSetName=RULE_SET)
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="y")  # fmt: skip
        s3.create_bucket(Bucket=ACTIONS[1]["S3Action"]["BucketName"])
        run = Run("moto")
        await asyncio.to_thread(workload, port, server.cpu_seconds, run, sizes, n, False)
        return run
    finally:
        server.stop()


async def _answering(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def report(runs: list[Run], sizes: list[int], n: int, command: str, revision: str) -> str:
    engine = [r for r in runs if r.target == "engine"]
    moto = [r for r in runs if r.target == "moto"]
    rounds = len(engine)

    def median_time(rs: list[Run], size: int, edit: str) -> float:
        return statistics.median(statistics.median(r.times[size, edit]) for r in rs)

    def median_cpu(rs: list[Run], size: int, edit: str) -> float:
        return statistics.median(r.cpu_per_call[size, edit] for r in rs)

    busy = os.getloadavg()[0]
    lines = [
        SECTION,
        "",
        f"Written by `{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{rounds} run(s), {n} calls per edit and size; engine {revision}; {machine()}). "
        f"Load average at the end: {busy:.1f} on 2 cores"
        + (": **the machine was busy**, the figures are indicative only." if busy > 1.5 else ".")
        + " Each edit is made on the last of N rules of 100 recipients in the active set,"
        " built through the API, each in its own domain verified through the API; times are"
        " medians of what a boto3 client waits per call (its own ~1-2 ms included), CPU is the"
        " server's per call over the edit's block (Delete and Create: their mean), after one"
        " uncounted call of each kind.",
        "",
        "| edit | "
        + " | ".join(f"{s} rule(s): ms / CPU ms" for s in sizes)
        + f" | {sizes[-1]} / {sizes[0]} (time) | moto at {sizes[-1]}: ms |",
        "|---|" + "---:|" * (len(sizes) + 2),
    ]
    for edit in EDITS:
        cells = [f"{ms(median_time(engine, s, edit))} / {ms(median_cpu(engine, s, edit))}"
                 for s in sizes]  # fmt: skip
        ratio = median_time(engine, sizes[-1], edit) / median_time(engine, sizes[0], edit)
        theirs = (
            ms(median_time(moto, sizes[-1], edit))
            if moto and (sizes[-1], edit) in moto[0].times
            else "-"
        )
        lines.append(f"| {edit} | " + " | ".join(cells) + f" | {ratio:.2f}x | {theirs} |")
    lines.append("")
    if moto:
        rate = [r.calls / r.seconds for r in engine]
        theirs = [r.calls / r.seconds for r in moto]
        ratios = [a / b for a, b in zip(rate, theirs, strict=False)]
        cpu = statistics.median(r.cpu / r.made for r in engine)
        moto_cpu = statistics.median(r.cpu / r.made for r in moto)
        lines += [
            f"The workload both serve ({engine[0].calls} calls: building the set to "
            f"{', '.join(map(str, sizes))} rules with their identities, and the Update and "
            "Verify blocks; moto has no DeleteReceiptRule), one call at a time: "
            f"engine {statistics.median(rate):.0f} calls/s, moto_server "
            f"{statistics.median(theirs):.0f} calls/s, **{statistics.median(ratios):.2f}x** "
            f"moto's (per run: {', '.join(f'{x:.2f}' for x in ratios)}); server CPU per call "
            f"{ms(cpu)} ms (engine) and {ms(moto_cpu)} ms (moto).",
            "",
        ]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Replace a command's section of RESULTS.md (from its heading, the first line of `text`,
    to the next `## ` heading), or add it at the end."""
    heading = text.split("\n", 1)[0]
    old = path.read_text() if path.exists() else ""
    start = old.find(heading)
    if start < 0:
        path.write_text(old.rstrip() + "\n\n" + text)
        return
    end = old.find("\n## ", start + len(heading))
    rest = "" if end < 0 else "\n" + old[end + 1 :]
    path.write_text(old[:start] + text + rest)


async def main_async(args: argparse.Namespace, command: str) -> None:
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    if args.engine_rev:
        servers.snapshot_engine(args.work / "engine", args.engine_rev)
    revision = engine_revision(servers.ENGINE_DIR, args.engine_rev)
    sizes = [int(s) for s in args.sizes.split(",")]
    runs: list[Run] = []
    for i in range(args.runs):
        for target in (engine_run,) if args.no_moto else (engine_run, moto_run):
            workdir = args.work / f"run{i}-{target.__name__}"
            workdir.mkdir()
            run = await target(workdir, sizes, args.edits)
            runs.append(run)
            per_edit = {
                e: ms(statistics.median(t)) for (n, e), t in run.times.items() if n == sizes[-1]
            }
            print(f"run {i + 1}/{args.runs} {run.target:6} {run.calls} calls "
                  f"{run.calls / run.seconds:5.0f}/s, at {sizes[-1]} rules (ms): {per_edit}",
                  file=sys.stderr)  # fmt: skip
    text = report(runs, sizes, args.edits, command, revision)
    print(text)
    if args.output is not None:
        write_section(args.output, text)
        print(f"wrote its section of {args.output}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.apiscale", description=__doc__)
    ap.add_argument("--sizes", default="1,50,200", help="rules in the set (default 1,50,200)")
    ap.add_argument("--edits", type=int, default=20, help="calls per edit and size")
    ap.add_argument("--runs", type=int, default=3, help="interleaved runs (default 3)")
    ap.add_argument("--no-moto", action="store_true", help="the engine only")
    ap.add_argument("--engine-rev", metavar="REV", help="the engine as of this git revision")
    ap.add_argument("--work", type=Path, default=WORK, help=f"scratch folder (default {WORK})")
    ap.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS.md",
                    help="where its section goes (default benchmarks/RESULTS.md)")  # fmt: skip
    args = ap.parse_args(argv)
    command = " ".join(["python -m benchmarks.apiscale", *(argv or sys.argv[1:])])
    asyncio.run(main_async(args, command))


if __name__ == "__main__":
    main()
