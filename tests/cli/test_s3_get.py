"""`inbound s3 get` only reads: it goes through the normal backend factory, yet creates
nothing in the data dir, neither on a missing or empty one (where it fails as it always did)
nor on one a server has written."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbound import cli
from tests.rulesets import message, rule, rules, s3


def config_for(tmp_path: Path, data_dir: Path) -> Path:
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    config = tmp_path / "inbound.toml"
    config.write_text(f'[server]\ndata_dir = "{data_dir}"\n')
    return config


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("made", [False, True], ids=["missing", "empty"])
def test_a_missing_or_empty_data_dir_stays_so(tmp_path, capsys, made) -> None:
    data = tmp_path / "data"
    if made:
        data.mkdir()
    config = config_for(tmp_path, data)
    assert cli.main(["s3", "get", "mail", "k", "--config", str(config)]) == 1
    assert capsys.readouterr().err == f"inbound: s3 get: NoSuchKey: s3://mail/k (in {data})\n"
    assert data.exists() == made
    assert not made or list(data.iterdir()) == []


def test_a_populated_data_dir_is_read_and_left_as_it_was(
    inbound_factory, tmp_path, capsysbinary
) -> None:
    server = inbound_factory(rules(rule("r", s3("mail", "in/"))))
    server.send("sender@sender.test", ["user@example.com"], message())
    [received] = server.messages()
    key = f"in/{received['messageId']}"
    stored = server.get(f"/api/s3/mail/{key}")
    server.stop()
    data = server.settings.data_dir
    before = contents(data)
    config = config_for(tmp_path, data)
    capsysbinary.readouterr()

    assert cli.main(["s3", "get", "mail", key, "--decrypt", "--config", str(config)]) == 0
    assert capsysbinary.readouterr().out == stored
    assert cli.main(["s3", "get", "mail", "in/nope", "--config", str(config)]) == 1
    assert capsysbinary.readouterr().err == (
        f"inbound: s3 get: NoSuchKey: s3://mail/in/nope (in {data})\n".encode()
    )
    assert contents(data) == before
