"""docs/json-api.md's reference, written from the OpenAPI description (`openapi.py`):
`python -m inbound.api.openapi_doc docs/json-api.md` rewrites it between its markers, and
tests/api/test_json_api.py fails while it is stale."""

from __future__ import annotations

import sys
from pathlib import Path

from inbound.api.openapi import ROUTES, Schema, document, ref

BEGIN, END = "<!-- openapi:begin -->", "<!-- openapi:end -->"


def _type_text(schema: Schema) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{name.lower()})"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" if v is not None else "null" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_text(schema.get('items', {}))}"
    return " \\| ".join(kind) if isinstance(kind, list) else str(kind)


def markdown() -> str:
    """The reference section of docs/json-api.md."""
    doc = document()
    lines = ["| method | path | answer | what |", "|---|---|---|---|"]
    for route in ROUTES:
        if route.answer is None:
            answer = f"`{route.content}`"
        else:
            answer = _type_text(ref(route.answer))
            answer = f"array of {answer}" if route.listing else answer
        extra = f" ({', '.join(str(e) for e in route.errors)})" if route.errors else ""
        lines.append(
            f"| {route.method} | `{route.path}` | {route.status} {answer}{extra} | "
            f"{route.summary} |"
        )
    for name, schema in doc["components"]["schemas"].items():
        lines += ["", f"### {name}", ""]
        if schema.get("description"):
            lines += [schema["description"], ""]
        lines += ["| member | type |", "|---|---|"]
        for member, inner in schema.get("properties", {}).items():
            lines.append(f"| `{member}` | {_type_text(inner)} |")
    return "\n".join(lines)


def rewrite(page: Path) -> bool:
    """Put `markdown()` between the markers of `page`; whether it changed."""
    text = page.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = f"{head}{BEGIN}\n{markdown()}\n{END}{tail}"
    page.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {'rewritten' if rewrite(Path(name)) else 'current'}")
