"""The PostgreSQL scaling benchmark (`benchmarks/pgscale.py`, issue 17 item 6) kept from
rotting: a small run of one and two engines on one database beside SQLite's, and its section
of RESULTS.md written in place. The full run's figures are in benchmarks/RESULTS.md."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from benchmarks import pgscale, servers
from tests import postgres


def test_a_small_run_of_one_and_two_engines_writes_its_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if (reason := postgres.why_not()) is not None:
        pytest.skip(f"PostgreSQL benchmark not run: {reason}")
    # the run points the engine at its copy of the sources: not for the next test
    monkeypatch.setattr(servers, "ENGINE_DIR", servers.ENGINE_DIR)
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n## Before\n\nkept\n")
    argv = ["--runs", "1", "--engines", "1,2", "-c", "2", "--per-connection", "5"]
    argv += ["--quiet-wait", "0", "--work", str(tmp_path / "work"), "--output", str(results)]
    pgscale.main(argv)
    text = results.read_text()
    assert text.startswith("# Results\n\n## Before\n\nkept\n\n" + pgscale.SECTION)
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    for label in (pgscale.SQLITE, pgscale.pg_label(1), pgscale.pg_label(2)):
        cells = rows[f"| {label}"].split(" | ")
        assert float(cells[1]) > 0 and float(cells[2]) > 0, cells  # accepted, drained
        # PostgreSQL's CPU (ticks of 10 ms: a small run may count none; see the next test)
        assert float(cells[5]) >= 0 if label != pgscale.SQLITE else float(cells[5]) == 0, cells
    assert "Target (issue 17 item 6): 2 engines >= 1.6x" in text
    assert "Notes:" not in text  # every message accepted and drained, no connection error


def test_the_servers_cpu_counts_its_backends_live_and_gone() -> None:
    """What a backend spends counts while its connection is open and after it closed (the
    postmaster's `cutime`): the engines' connections are both."""
    if (reason := postgres.why_not()) is not None:
        pytest.skip(f"PostgreSQL benchmark not run: {reason}")
    import psycopg

    work = "SELECT count(*) FROM generate_series(1, 2000000)"
    with pgscale.postgres() as (url, cpu):
        before = cpu.seconds()
        with psycopg.connect(url.format(database="postgres")) as conn:
            conn.execute(work)
            live = cpu.seconds()
            backend = conn.info.backend_pid
        deadline = time.monotonic() + 10
        while pgscale._stat(backend) is not None and time.monotonic() < deadline:
            time.sleep(0.02)  # exiting: until the postmaster has reaped it
        gone = cpu.seconds()
    assert live - before >= 0.05 and gone >= live, (before, live, gone)
