"""Run a rule-set snapshot over one received message (spec receiving.md §1.2, §1.3).

Every enabled rule that matches at least one envelope recipient runs, in order; its actions run
in order, once per message, with `receipt.recipients` = the recipients that rule matched.
Stop or a Lambda disposition ends the rule or the rule set. The pipeline does no I/O itself:
executors reach backends, and `record` persists each step, so a restart can skip what
already happened (`done`) and finish the rest.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from inbound.actions import ActionContext, Executor, Outcome, Result, Site
from inbound.actions.fields import action_fields
from inbound.actions.sns import SUBJECT
from inbound.backends import Backends
from inbound.matching import RecipientIndex
from inbound.message import MessageView
from inbound.model import AddHeaderAction, ReceiptState
from inbound.store import TraceRow

Record = Callable[[TraceRow], Awaitable[None]]


@dataclass(frozen=True)
class Plan:
    """A rule-set snapshot compiled once and shared by every message received under it."""

    state: ReceiptState
    index: RecipientIndex

    @classmethod
    def compile(cls, state: ReceiptState) -> Plan:
        return cls(state, RecipientIndex(state.active_rule_set, state.verified))


@dataclass(frozen=True)
class Pipeline:
    executors: Mapping[str, Executor]
    backends: Backends
    site: Site

    async def run(
        self,
        view: MessageView,
        plan: Plan,
        record: Record,
        done: Mapping[tuple[int, int], TraceRow] | None = None,
        seen_rules: frozenset[int] = frozenset(),
        next_seq: int = 0,
    ) -> None:
        done = done or {}
        rule_set = plan.state.active_rule_set
        if rule_set is None:
            return
        matches = {r: plan.index.explain(r) for r in view.record.recipients}
        seq = next_seq
        for position in sorted({p for found in matches.values() for p in found}):
            rule = rule_set.rules[position]
            recipients = tuple(r for r in view.record.recipients if position in matches[r])
            if position not in seen_rules:
                reasons = {r: matches[r][position] for r in recipients}
                await record(
                    TraceRow(
                        seq, "rule", rule.name, position, None, None, "MATCHED", None,
                        {"recipients": list(recipients), "why": reasons}, None,
                    )
                )  # fmt: skip
                seq += 1
            for index, action in enumerate(rule.actions):
                ctx = ActionContext(
                    view, rule_set.name, rule, action, recipients, self.backends, self.site
                )
                prior = done.get((position, index))
                if prior is not None and not isinstance(action, AddHeaderAction):
                    outcome = Outcome(prior.outcome)
                else:
                    row = await self._step(ctx, position, index, seq)
                    if prior is None:
                        await record(row)
                        seq += 1
                    outcome = Outcome(row.outcome)
                if outcome is Outcome.STOP_RULE:
                    break
                if outcome is Outcome.STOP_RULE_SET:
                    return

    async def _step(self, ctx: ActionContext, position: int, index: int, seq: int) -> TraceRow:
        action = ctx.action
        started = time.perf_counter()
        executor = self.executors.get(action.WIRE)
        try:
            if executor is None:
                result = Result(error=f"no executor is registered for {action.WIRE}")
            else:
                result = await executor(ctx)
        except Exception as exc:  # a backend failure is a PublishFailure, not a crash (§8)
            result = Result(detail={"action": action_fields(action)}, error=_describe(exc))
        detail = dict(result.detail)
        if action.alert_topic:
            detail["alert"] = await self._alert(ctx, action.alert_topic, result)
        return TraceRow(
            seq=seq,
            kind="action",
            rule=ctx.rule.name,
            rule_position=position,
            action_index=index,
            action=action.NOTIFICATION_TYPE,
            outcome=result.outcome.value,
            ms=round((time.perf_counter() - started) * 1000, 3),
            detail=detail,
            error=result.error,
        )

    async def _alert(self, ctx: ActionContext, topic_arn: str, result: Result) -> dict[str, str]:
        """The action's alert notification: no body (spec §3, §4.1)."""
        fields = result.detail.get("action") or action_fields(ctx.action)
        try:
            sns_id = await self.backends.publisher.publish(
                topic_arn, SUBJECT, ctx.notification(fields), ctx.message_id
            )
        except Exception as exc:
            return {"topicArn": topic_arn, "error": _describe(exc)}
        return {"topicArn": topic_arn, "snsMessageId": sns_id}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
