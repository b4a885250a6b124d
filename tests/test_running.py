"""docs/running.md's promises: the settings table matches config.py, environment variables sit
between the command line and the file, the shipped config runs from any directory, `inbound
init` writes it out and refuses to overwrite it."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inbound import config
from inbound.cli import defaults
from inbound.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
RUNNING = ROOT / "docs" / "running.md"
TABLE = re.compile(r"<!-- settings -->\n(.*?)<!-- /settings -->", re.S)


def _default(f: dataclasses.Field[Any]) -> str:
    value = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    if value is dataclasses.MISSING or value is None:
        return "(unset)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple | frozenset):
        return "`[]`"
    if isinstance(value, dict):
        return "`{}`"
    return f"`{value}`" if isinstance(value, int | float) else f'`"{value}"`'


def settings_table() -> str:
    aliases = {target: name for name, target in config.ENV_ALIASES.items()}
    rows = ["| inbound.toml | environment variable | default |", "| --- | --- | --- |"]
    for s in config.environment_settings():
        variable = f"`{s.variable}`"
        if (s.section, s.key) in aliases:
            variable += f" or `{aliases[s.section, s.key]}`"
        rows.append(f"| `[{s.section}] {s.key}` | {variable} | {_default(s.field)} |")
    return "\n".join(rows) + "\n"


def test_the_settings_table_lists_every_key_of_config_py() -> None:
    found = TABLE.search(RUNNING.read_text())
    assert found, "docs/running.md has no <!-- settings --> table"
    assert found.group(1) == settings_table(), "regenerate it:\n" + settings_table()


def _config(tmp_path: Path, text: str = "") -> Path:
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    (tmp_path / "inbound.toml").write_text(text)
    return tmp_path / "inbound.toml"


def test_environment_overrides_the_file_and_names_itself_in_errors(tmp_path: Path) -> None:
    path = _config(tmp_path, '[server]\nsmtp = "127.0.0.1:2600"\n[limits]\nmax_recipients = 7\n')
    assert config.load(path).smtp == config.Address("127.0.0.1", 2600)
    environ = {
        "INBOUND_SMTP": "127.0.0.1:2700",
        "INBOUND_LIMITS_MAX_RECIPIENTS": "9",
        "INBOUND_SENDING_PRODUCTION": "true",
        "INBOUND_IDENTITIES_VERIFIED": '["a.example", "b.example"]',
        "INBOUND_FUZZ": "3",  # not a setting's: someone else's variable
    }
    settings = config.load(path, environ)
    assert settings.smtp == config.Address("127.0.0.1", 2700)
    assert settings.limits.max_recipients == 9
    assert settings.sending.production is True
    assert settings.verified == {"a.example", "b.example"}
    assert settings.http == config.Address("127.0.0.1", 4525)  # neither: the default
    for environ, message in [
        ({"INBOUND_HTTP": "nowhere"}, "server.http (from $INBOUND_HTTP): expected HOST:PORT"),
        ({"INBOUND_LIMITS_MAX_RECIPIENTS": "x"}, "(from $INBOUND_LIMITS_MAX_RECIPIENTS): not a"),
        ({"INBOUND_LIMITS_MAX_RECIPIENTS": "0"}, "must be positive"),
        ({"INBOUND_SENDING_PRODUCTION": "1"}, "has the wrong type"),
        ({"INBOUND_SERVER_LOG_FORMAT": "xml"}, "must be 'text' or 'json', not 'xml'"),
        ({"INBOUND_SERVER_NOPE": "1"}, "$INBOUND_SERVER_NOPE: -: no such setting"),
        ({"INBOUND_DATA": "a", "INBOUND_SERVER_DATA_DIR": "b"}, "by its short and its long"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            config.load(path, environ)


def _inbound(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    return subprocess.run(
        [sys.executable, "-m", "inbound", *args],
        cwd=cwd,
        env=environ | {"PYTHONPATH": str(ROOT)} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _serve_data_dir(cwd: Path, *flags: str, **env: str) -> str:
    """The data dir `inbound serve` says it uses; it is stopped once it has said so."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "inbound", "serve", "--smtp", "127.0.0.1:0", "--http",
         "127.0.0.1:0", "--submission", "", *flags],
        cwd=cwd, env=environ | {"PYTHONPATH": str(ROOT)} | env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if found := re.match(r"inbound: config .*, data in (\S+)$", line):
                return found.group(1)
        raise AssertionError("serve stopped without saying where its data is")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_command_line_beats_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    _config(tmp_path, '[server]\ndata_dir = "from-file"\n')  # found as ./inbound.toml
    assert _serve_data_dir(tmp_path) == "from-file"
    assert _serve_data_dir(tmp_path, INBOUND_DATA="from-env") == "from-env"
    assert _serve_data_dir(tmp_path, "--data", "cli", INBOUND_DATA="from-env") == "cli"


def test_the_package_ships_every_file_of_config() -> None:
    """inbound/defaults/ links to config/'s files: a file added there needs its link."""
    shipped = {p.name: p.resolve() for p in defaults.DEFAULTS.iterdir()}
    assert shipped == {p.name: p.resolve() for p in (ROOT / "config").iterdir()}
    assert defaults.FILES[0] == "inbound.toml"


def test_init_writes_the_shipped_files_and_refuses_to_overwrite(tmp_path: Path) -> None:
    result = _inbound("init", "conf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in defaults.FILES:
        assert (tmp_path / "conf" / name).read_bytes() == (ROOT / "config" / name).read_bytes()
    (tmp_path / "conf" / "rules.json").write_text("edited")
    again = _inbound("init", "conf", cwd=tmp_path)
    assert again.returncode == 1
    assert "already exist (--force overwrites them)" in again.stderr
    assert (tmp_path / "conf" / "rules.json").read_text() == "edited"
    assert _inbound("init", "conf", "--force", cwd=tmp_path).returncode == 0
    assert (tmp_path / "conf" / "rules.json").read_bytes() == (
        ROOT / "config/rules.json"
    ).read_bytes()


def test_a_command_finds_its_config_without_being_told(tmp_path: Path) -> None:
    shipped = _inbound("rules", "validate", cwd=tmp_path)
    assert shipped.returncode == 0, shipped.stderr
    assert shipped.stdout.strip() == f"{defaults.DEFAULTS / 'inbound.toml'}: OK"
    _inbound("init", cwd=tmp_path)
    local = _inbound("rules", "validate", cwd=tmp_path)
    assert local.stdout.strip() == "inbound.toml: OK"
    named = _inbound(
        "rules", "validate", cwd=tmp_path, INBOUND_CONFIG=str(ROOT / "config/inbound.toml")
    )
    assert named.stdout.strip() == f"{ROOT / 'config/inbound.toml'}: OK"


def test_version_is_the_installed_distributions() -> None:
    from importlib import metadata

    result = _inbound("--version", cwd=ROOT)
    assert result.stdout.strip() == f"inbound {metadata.version('inbound-ses')}"
