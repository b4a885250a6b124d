"""How a TOML table is declared: a frozen `Section` dataclass whose fields are its keys, each
field's `toml()` metadata giving its TOML type, its parser and its key; `Key` names a key of a
config file for parsers and their errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from inbound.errors import ConfigError


@dataclass(frozen=True)
class Key:
    """A key of a config file (`server.smtp` of inbound.toml), for parsers and their errors."""

    file: Path
    name: str

    def child(self, key: str) -> Key:
        return Key(self.file, f"{self.name}.{key}")

    def error(self, message: str) -> ConfigError:
        return ConfigError(self.file, self.name, message)


Parser = Callable[[Any, Key], Any]


def toml(
    kind: type | tuple[type, ...], parse: Parser | None = None, *, key: str | None = None
) -> dict[str, Any]:
    """A section field's metadata: its TOML type, the parser (checks, converts) and TOML key."""
    return {"toml": kind, "parse": parse, "key": key}


@dataclass(frozen=True)
class Section:
    """A TOML table as a frozen dataclass; see the module docstring."""

    @classmethod
    def keys(cls) -> dict[str, dataclasses.Field[Any]]:
        """TOML key → field: the schema of this table."""
        return {
            f.metadata["key"] or f.name: f for f in dataclasses.fields(cls) if "toml" in f.metadata
        }

    @classmethod
    def check_types(cls, table: Mapping[str, Any], at: Key) -> None:
        keys = cls.keys()
        for key, value in table.items():
            found = keys.get(key)
            if found is None:
                raise at.child(key).error("unknown key")
            if not has_type(value, found.metadata["toml"]):
                raise at.child(key).error(f"has the wrong type ({value!r})")

    @classmethod
    def values(cls, table: Mapping[str, Any], at: Key) -> dict[str, Any]:
        """Field name → value: each key of `table` parsed, the others at their defaults, then
        the section's `check` across them."""
        values = {}
        for key, f in cls.keys().items():
            if key in table:
                parse = f.metadata["parse"]
                values[f.name] = parse(table[key], at.child(key)) if parse else table[key]
            elif f.default is not dataclasses.MISSING:
                values[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                values[f.name] = f.default_factory()
        cls.check(values, at)
        return values

    @classmethod
    def from_toml(cls, table: Mapping[str, Any], at: Key) -> Self:
        return cls(**cls.values(table, at))

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        """Checks across keys, on the parsed values; none by default."""


def has_type(value: Any, kind: type | tuple[type, ...]) -> bool:
    """TOML's `true` is no number, though Python's bool is an int."""
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
