"""Identities: verification (auto or through DNS), DKIM, MAIL FROM, notifications, policies."""

from __future__ import annotations

from typing import Any

OPERATIONS: dict[str, Any] = {}
