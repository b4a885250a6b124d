"""What `pip install inbound-ses` gets: a wheel carrying everything the engine needs to run
(the shipped config, the web UI's templates and static files, py.typed, the license), which
serves mail from any directory; and the Docker image (docs/running.md, "Docker") when a
Docker daemon is here to build it."""

from __future__ import annotations

import os
import re
import shutil
import smtplib
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def _build(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", *args, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = _build("--no-deps", "--wheel-dir", str(out))
    if built.returncode != 0:  # pip fetches setuptools for an isolated build
        pytest.skip(f"cannot build the wheel here (no package index?): {built.stderr[-500:]}")
    [found] = out.glob("inbound_ses-*.whl")
    return found


def test_the_wheel_carries_what_the_engine_reads_besides_code(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    web = ROOT / "inbound" / "web"
    for path in [*web.glob("templates/*"), *web.glob("static/*")]:
        assert path.relative_to(ROOT).as_posix() in names
    for name in ("inbound.toml", "rules.json", "handlers.py"):
        # the source tree's links to config/, as files
        assert (
            zipfile.ZipFile(wheel).read(f"inbound/defaults/{name}")
            == (ROOT / "config" / name).read_bytes()
        )
    assert "inbound/py.typed" in names
    info = next(n for n in names if n.endswith(".dist-info/METADATA")).rpartition("/")[0]
    assert f"{info}/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode()
    assert "Name: inbound-ses\n" in metadata and "License-Expression: Apache-2.0\n" in metadata


def _fresh_venv(where: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel installed, its dependencies taken from this
    one's site-packages (a .pth line: no package index needed, and not this checkout)."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
    python = where / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=120,
    )
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where / "bin"


def test_the_installed_wheel_serves_mail_from_any_directory(wheel: Path, tmp_path: Path) -> None:
    bin_dir = _fresh_venv(tmp_path / "venv", wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("INBOUND_", "PYTHON"))}
    where = subprocess.run(
        [bin_dir / "python", "-c", "import inbound; print(inbound.__file__)"],
        cwd=elsewhere, env=environ, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(tmp_path / "venv")), where  # not this checkout
    version = subprocess.run(
        [bin_dir / "inbound", "--version"], env=environ, capture_output=True, text=True
    )
    assert version.stdout.strip() == "inbound 0.1.0"
    process = subprocess.Popen(
        [bin_dir / "inbound", "serve", "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0",
         "--submission", ""],
        cwd=elsewhere, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        config, smtp_port, http_url = "", 0, ""
        for line in process.stdout:
            config = (re.findall(r"inbound: config (\S+),", line) or [config])[0]
            if found := re.search(r"SMTP on 127\.0\.0\.1:(\d+)", line):
                smtp_port = int(found[1])
            if found := re.search(r"HTTP on (http://\S+) ", line):
                http_url = found[1]
                break
        assert config.startswith(str(tmp_path / "venv")) and config.endswith("inbound.toml")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            client.sendmail("a@sender.test", ["hello@example.com"], b"Subject: hi\r\n\r\nhi\r\n")
        stats = _poll_stats(http_url, lambda s: s["messages"] == 1 and s["pending"] == 0)
        assert stats["messages"] == 1
        assert (elsewhere / ".inbound").is_dir()  # the data dir: ./.inbound
    finally:
        process.terminate()
        process.wait(timeout=30)


def _poll_stats(http_url: str, done: object, seconds: float = 30) -> dict[str, int]:
    import json

    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(http_url + "/api/stats", timeout=5) as response:
                stats = json.loads(response.read())
            if done(stats):  # type: ignore[operator]
                return stats  # type: ignore[no-any-return]
        except (urllib.error.URLError, ConnectionError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the server never reported the message")
        time.sleep(0.1)


def _docker_works() -> str | None:
    """Why Docker cannot be used here, or None."""
    if shutil.which("docker") is None:
        return "no docker command"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        return f"docker info failed: {(info.stderr or info.stdout).strip().splitlines()[-1]}"
    base = next(
        line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("FROM ")
    )
    pulled = subprocess.run(
        ["docker", "pull", "-q", base], capture_output=True, text=True, timeout=300
    )
    if pulled.returncode != 0:  # a daemon without access to the image's registry
        return f"cannot pull {base}: {(pulled.stderr or pulled.stdout).strip().splitlines()[-1]}"
    return None


def test_the_docker_image_builds_and_serves(tmp_path: Path) -> None:
    reason = _docker_works()
    if reason is not None:
        pytest.skip(f"Docker is not available: {reason}")
    context = tmp_path / "context"
    wheels = context / "dist" / "wheels"
    built = _build("--wheel-dir", str(wheels), timeout=600)
    if built.returncode != 0:
        pytest.skip(f"cannot build the wheels here (no package index?): {built.stderr[-500:]}")
    shutil.copy(DOCKERFILE, context / "Dockerfile")
    shutil.copy(ROOT / ".dockerignore", context / ".dockerignore")
    tag = f"inbound-ses-test:{os.getpid()}"
    docker = ["docker"]
    subprocess.run([*docker, "build", "-q", "-t", tag, str(context)], check=True, timeout=900)
    name = f"inbound-test-{os.getpid()}"
    try:
        subprocess.run(
            [*docker, "run", "-d", "--name", name, "-p", "127.0.0.1::2525", "-p",
             "127.0.0.1::4525", tag],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        user = subprocess.run(
            [*docker, "exec", name, "id", "-u"], capture_output=True, text=True, timeout=60
        )
        assert user.stdout.strip() != "0"  # not root
        ports = {}
        for port in (2525, 4525):
            mapped = subprocess.run(
                [*docker, "port", name, str(port)], capture_output=True, text=True, check=True
            ).stdout.split()[0]
            ports[port] = int(mapped.rpartition(":")[2])
        http_url = f"http://127.0.0.1:{ports[4525]}"
        _poll_stats(http_url, lambda s: True, seconds=60)  # ready
        with smtplib.SMTP("127.0.0.1", ports[2525], timeout=30) as client:
            client.sendmail("a@sender.test", ["hello@example.com"], b"Subject: hi\r\n\r\nhi\r\n")
        _poll_stats(http_url, lambda s: s["messages"] == 1 and s["pending"] == 0)
        deadline = time.monotonic() + 60
        while (health := _health(name)) != "healthy" and time.monotonic() < deadline:
            time.sleep(1)
        assert health == "healthy"
    finally:
        subprocess.run([*docker, "rm", "-f", name], capture_output=True, timeout=120)
        subprocess.run([*docker, "rmi", "-f", tag], capture_output=True, timeout=120)


def _health(name: str) -> str:
    return subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Health.Status}}", name],
        capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
