"""`inbound serve` in process, as the command runs it."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from pathlib import Path

from inbound import cli
from inbound.cli import startup


def test_serve_freezes_what_start_up_made(tmp_path: Path) -> None:
    """Once listening, the objects start-up made are out of the collector's generations, so
    a full collection no longer walks them (docs/cpu.md, "Pauses"), and the youngest
    generation is collected less often (docs/cpu.md, "Third round")."""
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    config = tmp_path / "inbound.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n')
    frozen: list[int] = []
    thresholds: list[tuple[int, int, int]] = []
    default = gc.get_threshold()

    def stop_once_frozen() -> None:
        deadline = time.monotonic() + 60
        while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        frozen.append(gc.get_freeze_count())
        thresholds.append(gc.get_threshold())
        os.kill(os.getpid(), signal.SIGTERM)  # serve's own handler stops it

    watcher = threading.Thread(target=stop_once_frozen)
    watcher.start()
    try:
        args = ["serve", "--config", str(config), "--smtp", "127.0.0.1:0", "--http"]
        assert cli.main([*args, "127.0.0.1:0", "--submission", ""]) == 0
    finally:
        watcher.join()
        gc.unfreeze()
        gc.set_threshold(*default)
    assert frozen[0] > 1000
    assert thresholds[0] == (startup.YOUNG_THRESHOLD, *default[1:])
