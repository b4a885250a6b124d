"""Memory bounded by design (issue 18 item 2), at a fraction of the issue's scale.

A real server process (`benchmarks/memory.py`, which also measures the full scale), its peak
RSS read from /proc. The limits are of the issue's kind, not timings: the peak stays well below
what the messages' bodies add up to, so it cannot grow with their number, and the HTTP API
answers within 1 s throughout.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks import memory

MB = memory.MB


def test_a_restart_resumes_pending_mail_within_the_memory_budget(tmp_path: Path) -> None:
    # 160 MB of pending bodies: reading them all at once (as resuming did) peaks above 160 MB.
    figures = asyncio.run(memory.restart(tmp_path, count=40, size=4 * MB))
    assert figures.peak_mb - figures.idle_mb < 100, figures
    assert figures.api_slowest_s < 1, figures


def test_concurrent_large_messages_are_spooled_not_held(tmp_path: Path) -> None:
    # 20 clients sending 6 MB each at once: held whole as they arrived (and copied to spool
    # them), they peaked about 185 MB above idle; spooled to disk as they arrive, under 100.
    figures = asyncio.run(memory.concurrent(tmp_path, count=20, size=6 * MB))
    assert figures.peak_mb - figures.idle_mb < 130, figures
    assert figures.api_slowest_s < 1, figures


def test_a_large_message_through_the_smtp_interface_is_not_held_over_and_over(
    tmp_path: Path,
) -> None:
    # One 30 MB message sent through the SES SMTP interface: DATA held whole, then copied by
    # each step of SendRawEmail's path and into a blob, it peaked 174 MB above idle; written to
    # a file as it arrives, built with one copy and kept as a file, 60 MB.
    figures = asyncio.run(memory.submission(tmp_path, count=1, size=30 * MB))
    assert figures.peak_mb - figures.idle_mb < 100, figures
    assert figures.api_slowest_s < 1, figures
