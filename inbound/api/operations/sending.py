"""Sending-side configuration: configuration sets and event destinations, tracking,
delivery and reputation options, templates, custom verification templates, account sending,
quotas and statistics (stored, validated and described; sending itself is a later issue)."""

from __future__ import annotations

from typing import Any

OPERATIONS: dict[str, Any] = {}
