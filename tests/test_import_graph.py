"""The package's import graph: no cycle, and the boundaries docs/architecture.md keeps.

Every module of `inbound/` is parsed with `ast`; imports under `if TYPE_CHECKING:` and inside
functions count too (a cycle there is still a design cycle), relative imports are resolved,
and `from pkg import mod` is an import of `pkg.mod` when `mod` is a submodule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import inbound

ROOT = Path(inbound.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Every module `name` imports, inside the package or not."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return found


def _graph() -> dict[str, set[str]]:
    return {name: _imports(name, path) & MODULES.keys() for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for target in sorted(graph[module] - {module}):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                found = visit(target)
                if found:
                    return found
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done:
            found = visit(module)
            if found:
                return found
    return None


def _importers(prefix: str) -> set[str]:
    return {
        name
        for name, path in MODULES.items()
        if any(m == prefix or m.startswith(prefix + ".") for m in _imports(name, path))
    }


def test_the_graph_sees_relative_and_submodule_imports() -> None:
    graph = _graph()
    assert "inbound.api.query.operations.identities" in graph["inbound.api.query.operations"]
    assert "inbound.dsn.build" in graph["inbound.dsn"]  # `from .build import ...`


def test_no_import_cycle() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_a_cycle_is_found() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


# One module knows aiosmtpd per listener: the receiving edge, and the SMTP interface's
# submission listeners (sending/submission.py: AUTH, SES's submission replies, SendRawEmail's
# path), which builds on the receiving edge's protocol class rather than repeating it.
AIOSMTPD_MODULES = {"inbound.receiving.smtp", "inbound.sending.submission", "inbound.app"}


def test_only_the_smtp_edges_and_the_app_import_aiosmtpd() -> None:
    assert _importers("aiosmtpd") <= AIOSMTPD_MODULES


def test_dsn_imports_nothing_else_from_the_package() -> None:
    for name, path in MODULES.items():
        if name == "inbound.dsn" or name.startswith("inbound.dsn."):
            outside = {
                m
                for m in _imports(name, path)
                if m.startswith("inbound") and not m.startswith("inbound.dsn")
            }
            assert not outside, f"{name} imports {sorted(outside)}"


def test_no_api_module_imports_the_app() -> None:
    assert not {n for n in _importers("inbound.app") if n.startswith("inbound.api")}


def test_only_the_store_runs_sql() -> None:
    for driver in ("sqlite3", "psycopg"):
        assert {n for n in _importers(driver) if not n.startswith("inbound.store.")} == set()
