"""Environment variables over the file's keys: `INBOUND_<SECTION>_<KEY>`, and short names for
the settings everyone changes first (docs/running.md)."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inbound.config.section import Key, has_type
from inbound.config.settings import NESTED, SERVER_WIDE
from inbound.errors import ConfigError

ENV_PREFIX = "INBOUND_"
# Short names for the settings everyone changes first; each is the same as its long name.
ENV_ALIASES = {
    "INBOUND_SMTP": ("server", "smtp"),
    "INBOUND_HTTP": ("server", "http"),
    "INBOUND_DATA": ("server", "data_dir"),
}


@dataclass(frozen=True)
class EnvSetting:
    """A key of inbound.toml that an environment variable can set."""

    variable: str
    section: str
    key: str
    field: dataclasses.Field[Any]


def environment_settings() -> list[EnvSetting]:
    """Every key of the plain sections (not `[backends.*]`, `[verdicts.*]`), in file order."""
    return [
        EnvSetting(f"{ENV_PREFIX}{name}_{key}".upper(), name, key, f)
        for name, section in {**SERVER_WIDE, **NESTED}.items()
        for key, f in section.keys().items()
    ]


def from_environment(path: Path, environ: Mapping[str, str]) -> dict[tuple[str, str], Any]:
    """(section, key) → TOML value of the `INBOUND_*` variables that name a setting; other
    `INBOUND_*` variables (a test's, a benchmark's) are not ours to judge, unless they start
    with a section's name. A string key takes the text as it is; any other type is written as
    in TOML (`50`, `true`, `["a.example"]`, `{ "arn:..." = "file.py:f" }`). Each value is
    checked as the file's would be, and an error names the variable."""
    known = {s.variable: s for s in environment_settings()}
    sections = {**SERVER_WIDE, **NESTED}
    found: dict[tuple[str, str], Any] = {}
    for variable, text in sorted(environ.items()):
        if not variable.startswith(ENV_PREFIX):
            continue
        setting = known.get(variable)
        target = ENV_ALIASES.get(variable) or ((setting.section, setting.key) if setting else None)
        if target is None:
            section = variable[len(ENV_PREFIX) :].partition("_")[0].lower()
            if section in sections:
                raise ConfigError(f"${variable}", "-", "no such setting (docs/running.md)")
            continue
        section, key = target
        at = Key(path, f"{section}.{key} (from ${variable})")
        if target in found:
            raise at.error("set twice, by its short and its long name")
        field_ = sections[section].keys()[key]
        value = _env_value(text, field_.metadata["toml"], at)
        if not has_type(value, field_.metadata["toml"]):
            raise at.error(f"has the wrong type ({value!r})")
        if field_.metadata["parse"]:
            field_.metadata["parse"](value, at)
        found[target] = value
    return found


def _env_value(text: str, kind: type | tuple[type, ...], at: Key) -> Any:
    if kind is str:
        return text
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        raise at.error(f"not a TOML value: {text!r}") from None
