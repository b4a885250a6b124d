"""The query modules' SQL (SQLite's) as PostgreSQL runs it: the few forms that differ,
translated once per statement text and kept.

- `?` placeholders become `%s` (and a literal `%` becomes `%%`);
- `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`;
- `INSERT OR REPLACE` becomes `ON CONFLICT (primary key) DO UPDATE`, setting the columns it
  lists from the new row and the others to their defaults, as SQLite's delete-and-insert does;
- `CAST(x AS BLOB)` (UTF-8 bytes) becomes `convert_to(x, 'UTF8')`;
- `json_group_array(x)` becomes the JSON text of `json_agg(x)` (`[]` for no row).

Statements of one write that change different rows can go as one (`together`): each but the
last a data-modifying query of the last one's WITH, which PostgreSQL runs to completion on
one snapshot.

`rowid` is a real column of the tables whose order or links use it (store/postgresql/
schema.py). What does not translate (full-text search) is overridden in `PostgresStore`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_REPLACE = re.compile(r"^\s*INSERT OR REPLACE INTO (\w+)\s*(\(([^)]*)\))?\s*VALUES\s*\(([^)]*)\)")
_BLOB = re.compile(r"CAST\(([^()]+) AS BLOB\)")
_JSON_ARRAY = re.compile(r"json_group_array\(([^()]+)\)")


@dataclass(frozen=True)
class Table:
    key: tuple[str, ...]  # the primary key's columns
    columns: tuple[str, ...]  # every column, in order


class Dialect:
    def __init__(self, tables: Mapping[str, Table]) -> None:
        self._tables = tables
        self._translated: dict[str, str] = {}
        self._together: dict[tuple[str, ...], str] = {}

    def __call__(self, sql: str) -> str:
        found = self._translated.get(sql)
        if found is None:
            found = self._translated[sql] = self._translate(sql)
        return found

    def together(self, statements: tuple[str, ...]) -> str:
        """`statements` (SQLite's SQL, at least one) as one statement of PostgreSQL's whose
        parameters are theirs, in order."""
        found = self._together.get(statements)
        if found is None:
            *first, last = (self(sql) for sql in statements)
            parts = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(first))
            found = self._together[statements] = f"WITH {parts} {last}" if first else last
        return found

    def _translate(self, sql: str) -> str:
        text = sql.replace("%", "%%").replace("?", "%s")
        text = _BLOB.sub(r"convert_to(\1, 'UTF8')", text)
        text = _JSON_ARRAY.sub(r"COALESCE(json_agg(\1), '[]')::text", text)
        if text.lstrip().startswith("INSERT OR IGNORE INTO"):
            return (
                text.replace("INSERT OR IGNORE INTO", "INSERT INTO", 1) + " ON CONFLICT DO NOTHING"
            )
        replace = _REPLACE.match(text)
        if replace is None:
            return text
        name, listed = replace.group(1), replace.group(3)
        table = self._tables[name]
        if listed is None:  # the first columns, as many as a row has values
            columns = table.columns[: replace.group(4).count("%s")]
            text = text.replace(f"INTO {name}", f"INTO {name} ({', '.join(columns)})", 1)
        else:
            columns = tuple(c.strip() for c in listed.split(","))
        updates = [
            f"{c} = EXCLUDED.{c}" if c in columns else f"{c} = DEFAULT"
            for c in table.columns
            if c not in table.key
        ]
        return (
            text.replace("INSERT OR REPLACE INTO", "INSERT INTO", 1)
            + f" ON CONFLICT ({', '.join(table.key)}) DO UPDATE SET {', '.join(updates)}"
        )
