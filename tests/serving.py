"""`inbound serve` in a subprocess, for the tests of what only the command does (its logs, its
worker processes): its stderr in a file, its addresses read from its start-up lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Serve:
    def __init__(
        self,
        tmp_path: Path,
        *flags: str,
        config: Path = ROOT / "config/inbound.toml",
        last: str = r"HTTP on ",
    ) -> None:
        """Started with `flags`, on free ports and a data dir of `tmp_path`; returns once it
        printed a line matching `last` (`self.started`: that line)."""
        self.log = tmp_path / "stderr"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
        with self.log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "inbound", "serve", "--config", str(config),
                 "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--submission", "",
                 "--data", str(tmp_path / "data"), *flags],
                env=environ | {"PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=stderr,
                text=True,
            )  # fmt: skip
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if found := re.search(r"SMTP on 127\.0\.0\.1:(\d+)", line):
                self.smtp_port = int(found[1])
            if found := re.search(r"HTTP on (http://\S+) ", line):
                self.http_url = found[1]
            if re.search(last, line):
                self.started = line
                break
        else:
            raise AssertionError("the server did not start:\n" + self.log.read_text())
