"""The benchmark harness's own logic (`benchmarks/report.py`, `benchmarks/servers.py`): the
targets' verdicts, Haraka's column when it could not run, where the CPU goes, and Haraka's
config. Made-up measurements, no servers: the benchmark itself is `make bench`."""

from __future__ import annotations

import configparser
import os
import signal
import smtplib
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks import report, servers
from benchmarks.run import Measurement, Scenario, Syncs, scenarios


def measurement(target: str, **figures: float) -> Measurement:
    base = Measurement(
        target=target, n=1000, rate=1000.0, drained_rate=1000.0, cpu_ms=1.0, loop_cpu_ms=1.0,
        peak_rss_mb=30.0, idle_rss_mb=25.0, background_pct=0.0, p50_ms=5.0, p99_ms=10.0,
        client_cpu_us=100.0, codes={"DOT 250": 1000},
    )  # fmt: skip
    return replace(base, **figures)


def scenario(key: str, haraka: bool = True) -> Scenario:
    (found,) = [s for s in scenarios(True, (haraka, "node not found")) if s.key == key]
    return found


def verdicts(scenario: Scenario, runs: list[report.Run]) -> dict[str, str]:
    rows = report.goal_rows([scenario], {scenario.key: runs})[2:]
    cells = [row.strip("|").split(" | ") for row in rows]
    return {cell[0].strip(): cell[2].strip() for cell in cells}


def test_targets_compare_the_engine_with_the_sink_and_haraka_on_medians_of_per_run_ratios() -> None:
    runs: list[report.Run] = [
        {"sink": measurement("sink", rate=1000), "engine": measurement("engine", rate=rate,
         p99_ms=p99, idle_rss_mb=60, idle_rss_process_mb=30), "Haraka": measurement("Haraka",
         rate=1050)}
        for rate, p99 in ((1100, 14.0), (1040, 16.0), (900, 20.0))
    ]  # fmt: skip
    got = verdicts(scenario("10k-c10"), runs)

    assert got["10 KB, c=10: engine accepts >= 100% of sink throughput"] == "PASS"  # 1.04x
    assert got["10 KB, c=10: engine accepts >= Haraka's throughput"] == "FAIL"  # 0.99x
    assert got["10 KB, c=10: engine latency p99 <= 1.5x the sink's"] == "FAIL"  # 1.6x
    # per process, as issue 15 asks: the engine's two processes hold 60 MB, the largest 30
    assert got["Idle RSS per process (the largest, after warm-up, 10 KB c=10) <= 35 MB"] == "PASS"


def test_peak_rss_targets_are_a_difference_and_a_ceiling() -> None:
    c50 = [{"sink": measurement("sink", peak_rss_mb=25), "engine": measurement("engine",
            peak_rss_mb=41)}]  # fmt: skip
    one_mb = [{"sink": measurement("sink"), "engine": measurement("engine", peak_rss_mb=99)}]

    assert (
        verdicts(scenario("10k-c50", False), c50)[
            "10 KB, c=50: engine peak RSS within 15 MB of the sink's"
        ]
        == "FAIL"
    )  # +16 MB
    assert (
        verdicts(scenario("1m-c10", False), one_mb)["1 MB, c=10: engine peak RSS <= 100 MB"]
        == "PASS"
    )


def test_without_haraka_its_column_and_targets_say_why() -> None:
    s = scenario("10k-c10", haraka=False)
    runs: list[report.Run] = [{"sink": measurement("sink"), "engine": measurement("engine")}]

    assert [t.label for t in s.targets] == ["sink", "engine"]
    rows = report.goal_rows([s], {s.key: runs})
    assert any(
        "Haraka's throughput | not measured (Haraka: node not found) | n/a" in r for r in rows
    )
    table = report.scenario_table(s, runs, quick=False)
    assert "| figure | sink | engine | Haraka | engine / sink |" in table
    assert any(
        line.startswith("| messages/s, accepted") and "| not run |" in line for line in table
    )
    assert "**Haraka not measured:** node not found." in table


def test_where_the_cpu_goes_is_the_median_of_per_run_differences() -> None:
    s = scenario("costs-c10")
    cpu = {"sink": 0.6, "engine": 1.4, "no fsync": 1.2, "no actions": 0.7, "AddHeader": 0.75,
           "S3": 1.0, "SNS": 1.1}  # fmt: skip
    runs: list[report.Run] = [
        {label: measurement(label, cpu_ms=ms * k, loop_cpu_ms=ms * k * 0.75)
         for label, ms in cpu.items()}
        for k in (0.9, 1.0, 1.5)
    ]  # fmt: skip
    rows = {
        row.split(" | ")[0].lstrip("| "): row.split(" | ")[1:3]
        for row in report.cost_table(s, runs, None)
        if row.startswith("| ")
    }

    assert rows["S3 action (local bucket)"] == ["0.300", "0.225 / 0.075"]
    assert rows["SNS action (local topic)"] == ["0.400", "0.300 / 0.100"]
    assert rows["durable accept (fsync before 250)"] == ["0.200", "0.150 / 0.050"]
    assert rows["the store's writer"] == ["0.350", "- / 0.350"]


def test_the_tail_of_each_part_is_its_p99_over_the_sink_s_per_run() -> None:
    """`costs-c10` shows each target's p50, p99 and CPU, its p99 over the bare sink's (median
    of per-run ratios), what a durable accept adds to the p99, the group-commit floor among
    them, and the fdatasyncs that floor timed (issue 15 item 5)."""
    s = scenario("costs-c10")
    p99 = {"sink": 8.0, "sink on uvloop": 7.0, "sink doing the job": 14.0, "group commit": 10.0,
           "engine": 16.0, "no fsync": 10.0, "no actions": 9.0, "AddHeader": 9.5, "S3": 12.0,
           "SNS": 12.5}  # fmt: skip
    runs: list[report.Run] = [
        {label: measurement(label, p99_ms=ms * k, p50_ms=ms * k / 4, cpu_ms=ms / 10)
         for label, ms in p99.items()}
        for k in (0.9, 1.0, 1.5)
    ]  # fmt: skip
    for k, run in zip((1, 2, 3), runs, strict=True):
        run["group commit"].syncs = Syncs(n=400 * k, p50_ms=1.0 * k, p99_ms=6.0 * k, max_ms=9.0 * k)
    table = report.cost_table(s, runs, None)
    rows = {
        row.split(" | ")[0].lstrip("| "): row.rstrip(" |").split(" | ")[1:]
        for row in table
        if row.startswith("| ")
    }

    assert rows["engine"][1:] == ["4.0", "16.0", "2.00x", "1.600"]
    assert rows["sink doing the job"][1:] == ["3.5", "14.0", "1.75x", "1.400"]
    assert rows["group commit"][1:] == ["2.5", "10.0", "1.25x", "1.000"]
    assert rows["no fsync"][1:] == ["2.5", "10.0", "1.25x", "1.000"]
    assert any(
        "adds 6.0 ms to its p99" in line and "adds 7.0 ms" in line and "adds 3.0 ms" in line
        for line in table
    )
    assert any(
        "800 per run, p50 2.0 ms, p99 12.0 ms, the longest 18.0 ms" in line for line in table
    )


def test_the_group_commit_job_answers_once_its_messages_are_synced(tmp_path: Path) -> None:
    """`sink.py --job --group-commit`: every accepted message is in its one file, with the
    job's header, and each fdatasync's start and duration are written out when it stops."""
    port = servers.free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.sink", "--port", str(port), "--job", str(tmp_path),
         "--group-commit"],
        cwd=servers.ROOT, stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert sink.stdout is not None and b"listening" in sink.stdout.readline()
        with smtplib.SMTP("127.0.0.1", port) as client:
            for n in range(3):
                client.sendmail(
                    "a@sender.test", ["b@example.com"], f"Subject: {n}\r\n\r\nbody {n}\r\n"
                )
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=30)

    stored = (tmp_path / "messages").read_bytes()
    assert stored.count(b"X-Inbound: bench\r\n") == 3
    assert all(f"body {n}".encode() in stored for n in range(3))
    syncs = [line.split() for line in (tmp_path / "syncs").read_text().splitlines()]
    assert 1 <= len(syncs) <= 3 and all(float(took) >= 0 for _, took in syncs)


def test_the_group_commit_job_runs_as_several_processes_on_one_port(tmp_path: Path) -> None:
    """`sink.py --processes 2`: both serve the port, each keeps its own file, and SIGTERM to
    the first stops them all (item 3's floor in the workers scenarios)."""
    port = servers.free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.sink", "--port", str(port), "--job", str(tmp_path),
         "--group-commit", "--processes", "2"],
        cwd=servers.ROOT, stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert (
            sink.stdout is not None and sink.stdout.readline() == b"sink: 2 processes listening\n"
        )
        others = [
            int(p) for p in Path(f"/proc/{sink.pid}/task/{sink.pid}/children").read_text().split()
        ]
        for n in range(20):  # a connection each: the kernel spreads them over the two
            with smtplib.SMTP("127.0.0.1", port) as client:
                client.sendmail("a@sender.test", ["b@example.com"], f"Subject: {n}\r\n\r\nbody\r\n")
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=30)

    assert len(others) == 1 and not Path(f"/proc/{others[0]}").exists()
    counts = [
        (tmp_path / p / "messages").read_bytes().count(b"X-Inbound: bench\r\n")
        for p in ("p0", "p1")
    ]
    assert sum(counts) == 20


def test_haraka_runs_one_process_with_the_local_plugin_alone(tmp_path: Path) -> None:
    files = servers.haraka_config(2599, tmp_path / "store", tmp_path / "n.jsonl")
    smtp = configparser.ConfigParser()
    smtp.read_string(files["smtp.ini"])
    plugin = configparser.ConfigParser()
    plugin.read_string(files["inbound_bench.ini"])

    assert smtp["main"]["listen"] == "127.0.0.1:2599"
    assert smtp["main"]["nodes"] == "0"  # unset, Haraka forks a cluster worker
    assert files["plugins"].split() == ["inbound_bench"]
    assert (servers.HARAKA_DIR / "plugins" / "inbound_bench.js").is_file()
    assert plugin["main"]["store"] == str(tmp_path / "store")
    assert plugin["main"]["notifications"] == str(tmp_path / "n.jsonl")


def test_the_workers_scenarios_compare_two_workers_with_the_sink_and_a_haraka_cluster() -> None:
    s = scenario("workers-10k-c10")
    runs: list[report.Run] = [
        {"sink": measurement("sink", rate=1000), "engine, 2 workers": measurement(
         "engine, 2 workers", rate=1300, drained_rate=1200), "Haraka, 2 nodes": measurement(
         "Haraka, 2 nodes", rate=1350)}
    ]  # fmt: skip
    got = verdicts(s, runs)

    assert [t.label for t in s.targets] == [
        "sink", "engine, 2 workers", "group commit, 2 processes", "Haraka, 2 nodes"
    ]  # fmt: skip
    assert [t.label for t in scenario("workers-1m-c10").targets] == [
        "sink", "engine, 2 workers", "Haraka, 2 nodes"
    ]  # fmt: skip
    assert got["2 workers, 10 KB, c=10: engine accepts >= 125% of sink throughput"] == "PASS"
    assert got["2 workers, 10 KB, c=10: engine drained >= 125% of sink throughput"] == "FAIL"
    assert got["2 workers, 10 KB, c=10: engine accepts >= Haraka's with 2 nodes"] == "FAIL"
    one_mb = [{"sink": measurement("sink", rate=20), "engine, 2 workers": measurement(
               "engine, 2 workers", rate=47, drained_rate=45)}]  # fmt: skip
    got = verdicts(scenario("workers-1m-c10", False), one_mb)
    assert got["2 workers, 1 MB, c=10: engine accepts >= 230% of sink throughput"] == "PASS"
    assert got["2 workers, 1 MB, c=10: engine drained >= 230% of sink throughput"] == "FAIL"
    files = servers.haraka_config(2599, Path("store"), Path("n.jsonl"), nodes=2)
    assert "nodes=2" in files["smtp.ini"].splitlines()  # a master and two cluster workers


@pytest.mark.parametrize("processes", [1, 2])
def test_a_server_of_several_processes_is_measured_whole(tmp_path: Path, processes: int) -> None:
    """The engine's supervisor and workers, Haraka's master and nodes, and a server's child
    it starts itself (the engine's authentication child, processes=1): CPU and RSS of all."""
    busy = "import time; sum(range(3 * 10**7)); time.sleep(60)"  # a child that burns CPU first
    parent = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {busy!r}]); time.sleep(60)"  # noqa: E501
    argv = [sys.executable, "-c", parent]
    server = servers.Server(argv, 0, tmp_path / "log", processes=processes)
    server.proc = subprocess.Popen(server.argv)
    try:
        deadline = time.monotonic() + 30
        while not (len(server.tree()) == 2 and server.cpu_seconds() > 0.3):
            assert time.monotonic() < deadline, "the child never showed"
            time.sleep(0.05)
        child = server.tree()[1]
        assert server.tree()[0] == server.pid and child != server.pid
        own = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert server.cpu_seconds() > (int(own[11]) + int(own[12])) / servers.CLK_TCK
        rss = [int(line.split()[1]) for pid in server.tree()
               for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmRSS:")]  # fmt: skip
        assert len(rss) == 2 and server.status_kb("VmRSS") > max(rss)  # both counted
    finally:
        for pid in reversed(server.tree()):
            os.kill(pid, signal.SIGKILL)
        server.proc.wait()
