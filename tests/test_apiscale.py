"""The receipt-API benchmark (`benchmarks/apiscale.py`, issue 15 item 8) kept from rotting: a
run at two small sizes against the engine and moto_server, and its section of RESULTS.md
replaced in place. The full run's figures are in benchmarks/RESULTS.md."""

from __future__ import annotations

from pathlib import Path

from benchmarks import apiscale


def test_a_small_run_against_the_engine_and_moto_writes_its_section(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n## Before\n\nkept\n")
    argv = ["--sizes", "1,3", "--edits", "2", "--runs", "1", "--output", str(results)]
    argv += ["--work", str(tmp_path / "work")]
    apiscale.main(argv)
    text = results.read_text()
    assert text.startswith("# Results\n\n## Before\n\nkept\n\n" + apiscale.SECTION)
    for edit in apiscale.EDITS:
        assert f"| {edit} | " in text
    assert "x** moto's" in text
    apiscale.main([*argv, "--no-moto"])
    again = results.read_text()
    assert again.count(apiscale.SECTION) == 1 and "moto's" not in again


def test_its_section_is_replaced_up_to_the_next_heading(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text(f"# R\n\n{apiscale.SECTION}\n\nold figures\n\n## Memory\n\nkept\n")
    apiscale.write_section(results, f"{apiscale.SECTION}\n\nnew figures\n")
    assert results.read_text() == f"# R\n\n{apiscale.SECTION}\n\nnew figures\n\n## Memory\n\nkept\n"
