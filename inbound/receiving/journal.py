"""A message's journal: what is already done for it, read back from its trace.

Processing can be cut off (a kill, a crash); the next start walks the rules again from the top
with the message's journal. An action already on record is not run again, and its recorded
outcome steers the walk as it did the first time; a rule already recorded as matched is not
recorded twice; new rows are numbered after the last one. A retry walks the same way, to
re-run one failed action on the message as that action saw it. The walk keeps its actions
through the journal both pipelines share (inbound/journal.py); this is its read-back of a
received message's trace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from inbound.records import TraceKind, TraceRow


@dataclass(frozen=True)
class Journal:
    """`actions`: the completed actions' rows by (rule position, action index); `rules`: the
    positions of rules recorded as matched; `next_seq`: the next row's number; `verdicts`: the
    recorded verdicts' detail (receiving/evaluation.py)."""

    actions: Mapping[tuple[int, int], TraceRow] = field(default_factory=dict)
    rules: frozenset[int] = frozenset()
    next_seq: int = 0
    verdicts: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, trace: Sequence[TraceRow]) -> Journal:
        return cls(
            actions={
                r.target: r for r in trace if r.kind is TraceKind.ACTION and r.target is not None
            },
            rules=frozenset(
                r.rule_position
                for r in trace
                if r.kind is TraceKind.RULE and r.rule_position is not None
            ),
            next_seq=max((r.seq for r in trace), default=-1) + 1,
            verdicts=next((r.detail for r in trace if r.kind is TraceKind.VERDICTS), None),
        )


class Recorder(Protocol):
    """Where a run writes the steps it completes."""

    def record(self, row: TraceRow) -> None:
        """Take one completed step (rule match or action), in order."""

    async def checkpoint(self) -> None:
        """Return once every step taken so far is on record. Awaited before each action with
        effects outside the message, so a restart never repeats a completed action."""
