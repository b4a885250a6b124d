"""The message-body benchmark (`benchmarks/pgbodies.py`, issue 17 item 2) kept from rotting: a
small run of the three ways at both sizes, each body read back equal to what was written, and
its section of RESULTS.md written in place. The decision it supports is in docs/cluster.md,
"Message bodies"."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import pgbodies
from tests import postgres


def test_a_small_run_of_rows_files_and_s3_writes_its_section(tmp_path: Path) -> None:
    if (reason := postgres.why_not()) is not None:
        pytest.skip(f"PostgreSQL benchmark not run: {reason}")
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n## Before\n\nkept\n")
    argv = ["--runs", "1", "--count-10k", "20", "--count-1m", "4"]
    argv += ["--work", str(tmp_path / "work"), "--output", str(results)]
    pgbodies.main(argv)  # asserts that every body reads back as written
    text = results.read_text()
    assert text.startswith("# Results\n\n## Before\n\nkept\n\n" + pgbodies.SECTION)
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| ")][1:]
    assert {(r[0], r[1]) for r in rows} == {
        (f"| {size} {kind}", way)
        for size in ("10 KB", "1 MB")
        for kind in ("text", "base64")
        for way in pgbodies.WAYS
    }
    for cells in rows:
        wal_kb = float(cells[-1].rstrip(" |"))
        # only a body in its row goes through PostgreSQL's WAL (1 MB of base64: most of it)
        if cells[0] == "| 1 MB base64":
            assert (wal_kb > 500) == (cells[1] == "row"), cells
        assert float(cells[2]) > 0 and float(cells[3]) > 0, cells  # write, read ms
    assert not (tmp_path / "work").exists()
