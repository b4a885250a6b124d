"""Run a rule-set snapshot over one received message (spec receiving.md §1.2, §1.3).

Every enabled rule that matches at least one envelope recipient runs, in order; its actions run
in order, once per message, with `receipt.recipients` = the recipients that rule matched.
Stop or a Lambda disposition ends the rule or the rule set. Before the first rule runs, the
message's verdicts are evaluated once (receiving/evaluation.py) and recorded as the run's first
row (`verdicts`, with the forced ones marked). The pipeline does no I/O itself:
executors reach backends, and a `Recorder` persists each step, so a restart can skip what
its `Journal` says already happened and finish the rest (inbound/receiving/journal.py).

A failed action's row says `detail.status = "PublishFailure"` (spec §8), plus `final: true`
when it must not be retried. `retry()` re-runs one such action later (inbound/retries.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from inbound.actions import ActionContext, Executor, Result, Site
from inbound.actions.fields import action_fields
from inbound.actions.sns import SUBJECT
from inbound.backends import Backends
from inbound.journal import Steps
from inbound.model import ReceiptState, RuleSet
from inbound.receiving.journal import Journal, Recorder
from inbound.receiving.matching import RecipientIndex
from inbound.receiving.message import MessageView
from inbound.records import Outcome, PublishStatus, RuleOutcome, TraceKind, TraceRow


@dataclass(frozen=True)
class Plan:
    """A rule-set snapshot compiled once and shared by every message received under it."""

    state: ReceiptState
    index: RecipientIndex
    rule_set: RuleSet | None  # the state's active one, found once (by name) for every message

    @classmethod
    def compile(cls, state: ReceiptState, previous: Plan | None = None) -> Plan:
        """`previous`: the plan of an earlier state, whose index the new one is derived from."""
        rule_set = state.active_rule_set
        index = RecipientIndex(rule_set, state.verified, previous.index if previous else None)
        return cls(state, index, rule_set)


@dataclass(frozen=True)
class Pipeline:
    executors: Mapping[str, Executor]
    backends: Backends
    site: Site

    async def run(
        self,
        view: MessageView,
        plan: Plan,
        journal: Journal,
        recorder: Recorder,
    ) -> None:
        """Walk the rules, skipping what `journal` has; every new step goes to `recorder`."""
        seq = journal.next_seq

        def record(row: TraceRow) -> TraceRow:
            nonlocal seq
            recorder.record(row)
            seq += 1
            return row

        actions = Steps(journal.actions, lambda _, row: record(row))

        def on_verdicts(detail: dict[str, object]) -> None:
            if journal.verdicts is None:
                record(TraceRow(seq=seq, kind=TraceKind.VERDICTS, rule=None, detail=detail))

        def on_rule(
            position: int, name: str, recipients: tuple[str, ...], reasons: Mapping[str, object]
        ) -> None:
            if position not in journal.rules:
                record(
                    TraceRow(
                        seq=seq,
                        kind=TraceKind.RULE,
                        rule=name,
                        rule_position=position,
                        outcome=RuleOutcome.MATCHED,
                        detail={"recipients": list(recipients), "why": reasons},
                    )
                )

        async def on_action(ctx: ActionContext, position: int, index: int) -> Outcome | None:
            if ctx.action.REAPPLIED:  # it edits the message: made on every run, recorded once
                row = await self._step(ctx, position, index, seq)
                actions.keep((position, index), row)
                return _steering(row)

            async def act() -> TraceRow:
                await recorder.checkpoint()
                return await self._step(ctx, position, index, seq)

            done = await actions.once((position, index), act)
            assert done is not None
            return _steering(done)

        await self._walk(view, plan, journal, on_action, on_rule, on_verdicts)

    async def retry(
        self,
        view: MessageView,
        plan: Plan,
        target: tuple[int, int],
        journal: Journal,
    ) -> TraceRow | None:
        """Run the action at `target` (rule position, action index) again, on the message as
        that action saw it: the walk of `run` is repeated under the same snapshot, re-applying
        the actions before it that edit the message (AddHeader) and taking every other
        action's outcome from `journal`.
        Its alert notification is not published again (it went out with the first attempt).

        The returned row's `outcome` is recorded but steers nothing: the rule evaluation it
        belonged to finished long ago. None when the snapshot has no such matching action.
        """
        found: list[TraceRow] = []

        async def on_action(ctx: ActionContext, position: int, index: int) -> Outcome | None:
            if (position, index) == target:
                found.append(await self._step(ctx, position, index, -1, alert=False))
                return None
            if ctx.action.REAPPLIED:
                await self._step(ctx, position, index, -1)
                return Outcome.CONTINUE
            prior = journal.actions.get((position, index))
            return _steering(prior) if prior is not None else Outcome.CONTINUE

        await self._walk(view, plan, journal, on_action)
        return found[0] if found else None

    async def evaluate(self, view: MessageView, plan: Plan, journal: Journal) -> None:
        """Evaluate the message's verdicts, as a run does before its first rule: for a step
        outside the walk that shows the message (a retry's DSN)."""
        rule_set = plan.rule_set
        if rule_set is not None:
            positions = {p for r in view.record.recipients for p in plan.index.explain(r)}
            await _evaluate(view, rule_set, positions, journal)

    async def _walk(
        self,
        view: MessageView,
        plan: Plan,
        journal: Journal,
        on_action: Callable[[ActionContext, int, int], Awaitable[Outcome | None]],
        on_rule: Callable[[int, str, tuple[str, ...], Mapping[str, object]], None] | None = None,
        on_verdicts: Callable[[dict[str, object]], None] | None = None,
    ) -> None:
        """The message's verdicts, then every matching rule in order, its actions in order;
        `on_action` says how the flow goes on (None: stop here)."""
        rule_set = plan.rule_set
        if rule_set is None:
            return
        matches = {r: plan.index.explain(r) for r in view.record.recipients}
        positions = sorted({p for found in matches.values() for p in found})
        if not positions:
            return
        detail = await _evaluate(view, rule_set, positions, journal)
        if on_verdicts is not None:
            on_verdicts(detail)
        for position in positions:
            rule = rule_set.rules[position]
            recipients = tuple(r for r in view.record.recipients if position in matches[r])
            if on_rule is not None:
                reasons = {r: matches[r][position] for r in recipients}
                on_rule(position, rule.name, recipients, reasons)
            for index, action in enumerate(rule.actions):
                ctx = ActionContext(
                    view, rule_set.name, rule, action, recipients, self.backends, self.site
                )
                outcome = await on_action(ctx, position, index)
                if outcome is None or outcome is Outcome.STOP_RULE_SET:
                    return
                if outcome is Outcome.STOP_RULE:
                    break

    async def _step(
        self, ctx: ActionContext, position: int, index: int, seq: int, *, alert: bool = True
    ) -> TraceRow:
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
        if result.error is not None:
            detail["status"] = PublishStatus.FAILURE
            if result.final:
                detail["final"] = True
        if action.alert_topic and alert:
            detail["alert"] = await self._alert(ctx, action.alert_topic, result)
        return TraceRow(
            seq=seq,
            kind=TraceKind.ACTION,
            rule=ctx.rule.name,
            rule_position=position,
            action_index=index,
            action=action.NOTIFICATION_TYPE,
            outcome=result.outcome,
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


async def _evaluate(
    view: MessageView, rule_set: RuleSet, positions: Iterable[int], journal: Journal
) -> dict[str, object]:
    """The message's verdicts, scanned when a rule it matched scans (spec §6), as the
    detail of its `verdicts` row."""
    scan = any(rule_set.rules[p].scan_enabled for p in positions)
    verdicts = await view.evaluate(rule_set.name, scan, journal.verdicts)
    return {**view.verdicts(scan), "forced": dict(verdicts.forced)}


def _steering(row: TraceRow) -> Outcome:
    """How an action's step lets the walk go on (every action row has an outcome)."""
    assert isinstance(row.outcome, Outcome), row.outcome
    return row.outcome


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
