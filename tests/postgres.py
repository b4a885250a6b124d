"""A real PostgreSQL server for the tests of the PostgreSQL store, started from the Debian
binaries (`postgresql`, installed by .ci/run) in a temp dir: initdb, a free port, its unix
socket in that dir, stopped and removed after. One server per test session (so one per xdist
worker), a fresh database per test. Without the binaries or psycopg, or as root without a
`postgres` user to run them as (initdb refuses root), the tests that need it skip and say why.

The server runs with fsync off: these tests check what the store commits and when, not the
disk under it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from inbound.ids import new_uuid

USER = "postgres"  # Debian's, whom root runs the server as


@dataclass(frozen=True)
class Server:
    socket_dir: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@/{database}?host={self.socket_dir}&port={self.port}"


def _binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def why_not() -> str | None:
    """Why no server can be started here, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'inbound-ses[postgresql]')"
    if _binaries() is None:
        return "no PostgreSQL server binaries (Debian: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(USER)
        except KeyError:
            return "running as root and initdb refuses root: no 'postgres' user to run it as"
        if shutil.which("runuser") is None:
            return "running as root and initdb refuses root: no runuser to run it as 'postgres'"
    return None


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", USER, "--", *command] if os.geteuid() == 0 else command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def running(*, fsync: bool = False) -> Iterator[Server]:
    """A server until the block ends; `fsync`: durable commits (benchmarks/pgscale.py), where
    the tests run without (the module's docstring)."""
    binaries = _binaries()
    assert binaries is not None
    home = Path(tempfile.mkdtemp(prefix="inbound-pg-"))  # not pytest's: root-only folders
    if os.geteuid() == 0:
        shutil.chown(home, USER, USER)
    data, port = home / "data", _free_port()
    run = lambda *args: subprocess.run(  # noqa: E731
        _as_server_user([str(binaries / args[0]), *args[1:]]),
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    try:
        run("initdb", "-D", str(data), "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8")
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={home}"
            " -c max_connections=200"
        ) + ("" if fsync else " -c fsync=off -c full_page_writes=off")
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start")
        try:
            yield Server(home, port)
        finally:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    reason = why_not()
    if reason is not None:
        pytest.skip(f"PostgreSQL store not tested: {reason}")
    with running() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: Server) -> Iterator[str]:
    """A new, empty database of the session's server."""
    import psycopg

    name = f"t_{new_uuid().replace('-', '_')}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield postgres_server.url(name)
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """`[store] url` for each store: empty (the SQLite file), then a fresh PostgreSQL
    database (the test skips, saying why, where no server can run)."""
    if request.param == "sqlite":
        return ""
    url: str = request.getfixturevalue("postgres_url")
    return url
