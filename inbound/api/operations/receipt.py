"""Receipt rule sets, rules and filters: the 16 operations (spec receiving.md §1, §2, §9)."""

from __future__ import annotations

from typing import Any

OPERATIONS: dict[str, Any] = {}
