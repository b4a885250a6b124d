"""`[lambda]`: the local handlers of Lambda ARNs (read, not run, when loaded) and how long one
may run."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inbound.config.section import Key, Section, toml
from inbound.config.values import positive
from inbound.errors import ConfigError


def _lambda_timeout(value: float, at: Key) -> float:
    """At most SES's own 30 s RequestResponse limit (spec §3.5); shorter helps tests."""
    if not 0 < value <= 30:
        raise at.error("must be more than 0 and at most 30 seconds")
    return float(value)


def _handlers(table: Mapping[str, Any], at: Key) -> dict[str, HandlerSource]:
    return {
        arn: load_handler(spec, at.file.parent, at.file, at.child(arn).name)
        for arn, spec in table.items()
    }


@dataclass(frozen=True)
class LambdaSettings(Section):
    """`[lambda]`: the local handlers of Lambda ARNs and how long one may run."""

    lambda_timeout: float = field(
        default=30.0, metadata=toml((int, float), _lambda_timeout, key="timeout")
    )
    # execution environments (worker processes) per function at most; more invocations wait
    lambda_concurrency: int = field(default=4, metadata=toml(int, positive, key="concurrency"))
    # a HandlerSource from the file; a callable passed in Python (the pytest plugin) runs in
    # the engine's process (backends/local_lambda.py)
    lambda_handlers: Mapping[str, HandlerSource | Callable[[Any, Any], Any]] = field(
        default_factory=dict, metadata=toml(dict, _handlers, key="functions")
    )


@dataclass(frozen=True)
class HandlerSource:
    """A handler named in `[lambda.functions]`: it runs in worker processes of its own, each
    started with the environment Lambda gives a function (backends/local_lambda.py), so this is
    only where to find it. `module.function` is its `_HANDLER`, imported by name as Lambda
    does, from `task_root` (a `file.py` handler's folder, Lambda's LAMBDA_TASK_ROOT: its sibling
    modules import as on Lambda) or, for `package.module`, from the engine's own path."""

    module: str
    function: str
    task_root: Path | None

    @property
    def handler(self) -> str:
        return f"{self.module}.{self.function}"


def load_handler(spec: Any, base: Path, path: Path, key: str) -> HandlerSource:
    """`package.module:function` or `file.py:function` (relative to the config file).

    The module is read, not run (only the packages above a `package.module` are imported, to
    find it): it runs in its own processes, with Lambda's environment. What its top level binds
    is checked, so a misspelt file or function stops start-up instead of failing every
    invocation (Lambda itself only finds out on the first one: Runtime.HandlerNotFound).
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(path, key, "expected 'module:function' or 'file.py:function'")
    target, _, name = spec.rpartition(":")
    try:
        file: Path | None
        if target.endswith(".py"):
            file = (base / target).resolve()
            if not file.is_file():
                raise ImportError(f"no such file: {file}")
            source = HandlerSource(file.stem, name, file.parent)
        else:
            found = importlib.util.find_spec(target)
            if found is None:
                raise ImportError(f"no module named {target!r}")
            file = Path(found.origin) if found.origin and found.origin.endswith(".py") else None
            source = HandlerSource(target, name, None)
        if file is not None and not _binds(file, name):
            raise AttributeError(f"{file.name} defines no {name!r}")
    except (ImportError, AttributeError, SyntaxError, ValueError, OSError) as exc:
        raise ConfigError(path, key, f"cannot load handler {spec!r}: {exc}") from None
    return source


def _binds(file: Path, name: str) -> bool:
    """Whether the module's top level binds `name` (def, class, assignment, import), or may
    (a star import, a module `__getattr__`)."""
    bound: set[str] = set()
    for node in ast.parse(file.read_bytes(), str(file)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return bool(bound & {name, "*", "__getattr__"})
