"""docs/cluster/compose.yaml, the cluster example (issue 17 item 7), checked without Docker
(there is no daemon where these tests run): the file parses, names PostgreSQL and three engines
of the image `make docker` builds (with the driver), each with its own ports and data dir and
the database's URL; and the configuration it mounts runs as it says: three `inbound serve`
processes with that inbound.toml and rules.json, on the suite's PostgreSQL, share the mail."""

from __future__ import annotations

import signal
import smtplib
import time
from pathlib import Path

import pytest
import yaml

from inbound import config
from tests.receiving.test_restart import _get, _start
from tests.serving import ROOT

EXAMPLE = ROOT / "docs" / "cluster"
ENGINES = ("engine-1", "engine-2", "engine-3")


def _compose() -> dict:
    compose = yaml.safe_load((EXAMPLE / "compose.yaml").read_text())
    assert set(compose["services"]) == {"postgres", *ENGINES}
    return compose


def _mounts(service: dict) -> dict[str, str]:
    """Where each volume of `service` is mounted: container path -> source."""
    return {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}


def test_three_engines_share_one_database_each_with_its_own_ports_and_data_dir() -> None:
    compose = _compose()
    services = compose["services"]
    database = services["postgres"]["environment"]
    url = (
        f"postgresql://{database['POSTGRES_USER']}:{database['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{database['POSTGRES_DB']}"
    )
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    published: list[str] = []
    data: list[str] = []
    for name in ENGINES:
        engine = services[name]
        assert engine["image"] == "inbound-ses"
        assert engine["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert engine["environment"] == {
            "INBOUND_CONFIG": "/config/inbound.toml",
            "INBOUND_STORE_URL": url,
        }
        ports = {p.rpartition(":")[2]: p.rpartition(":")[0] for p in engine["ports"]}
        assert set(ports) == {"2525", "4525", "2587"}  # the image's listeners (Dockerfile)
        published += ports.values()
        mounts = _mounts(engine)
        assert mounts["/config"] == "./config"
        data.append(mounts["/data"])
    assert len(set(published)) == 9  # no two engines on one host port
    assert len(set(data)) == 3 and set(data) <= set(compose["volumes"])  # a data dir each
    dockerfile = (ROOT / "Dockerfile").read_text()
    for listener in (
        "INBOUND_SMTP=0.0.0.0:2525",
        "INBOUND_HTTP=0.0.0.0:4525",
        "INBOUND_DATA=/data",
    ):
        assert listener in dockerfile
    # the image has the PostgreSQL driver: `make docker` builds it with the extra
    assert "inbound-ses${EXTRAS}" in dockerfile
    assert "--build-arg 'EXTRAS=[postgresql]'" in (ROOT / "Makefile").read_text()


def test_the_engines_configuration_loads_with_the_compose_environment() -> None:
    environment = _compose()["services"]["engine-1"]["environment"]
    settings = config.load(
        EXAMPLE / "config" / "inbound.toml",
        {"INBOUND_STORE_URL": environment["INBOUND_STORE_URL"]},
    )
    assert settings.store.url == environment["INBOUND_STORE_URL"]
    assert settings.store.lease_seconds == 30
    assert settings.state.active_rule_set is not None


def test_the_example_s_engines_share_the_mail(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example's configuration, run as compose runs it (the database by
    INBOUND_STORE_URL), on this machine: mail given to each engine is processed once, and
    every engine lists all of it."""
    monkeypatch.setenv("INBOUND_STORE_URL", postgres_url)
    engines = [_start(EXAMPLE / "config" / "inbound.toml", tmp_path / n) for n in ENGINES]
    try:
        for n, (_, smtp_port, _) in enumerate(engines):
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
                client.sendmail(
                    "a@sender.test", [f"user{n}@example.com"], b"Subject: hi\r\n\r\nhi\r\n"
                )
        deadline = time.monotonic() + 20
        for _, _, http_url in engines:
            while (stats := _get(f"{http_url}/api/stats"))["messages"] < 3 or stats["pending"]:
                assert time.monotonic() < deadline, stats
                time.sleep(0.05)
            objects = _get(f"{http_url}/api/s3")
            assert sorted(o["key"].split("/")[0] for o in objects) == ["incoming"] * 3
            assert len({o["messageId"] for o in objects}) == 3
    finally:
        for process, _, _ in engines:
            process.send_signal(signal.SIGTERM)
        for process, _, _ in engines:
            assert process.wait(20) == 0
