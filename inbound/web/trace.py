"""A received message's path through the rules, as the message page draws it: the IP filters,
then every rule of the rule set it was received under (matched or not, and why), then each
action of a matched rule with what it did, its payload, its failure and its retries.

The trace (store) says what ran; the rule-set snapshot the message was received under says
what did not and why, through the same matching code the engine used
(inbound/receiving/matching.py, filters.py), so the page cannot disagree with the engine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from inbound.model import Action, ReceiptRule, ReceiptState, to_api
from inbound.receiving.filters import FilterVerdict, IpFilterTable
from inbound.receiving.matching import RecipientIndex
from inbound.records import MessageRecord, MessageStatus, RetryEntry, TraceKind, TraceRow
from inbound.store import Store


@dataclass(frozen=True)
class Payload:
    label: str
    text: str  # shown as preformatted text (JSON pretty-printed)


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class ActionStep:
    index: int
    type: str
    fields: dict[str, Any]
    state: str  # done | failed | retrying | expired | delivered | waiting | not run
    ms: float | None = None
    error: str | None = None
    retry: RetryEntry | None = None
    attempts: list[TraceRow] = field(default_factory=list)  # the retry rows
    links: list[Link] = field(default_factory=list)
    payloads: list[Payload] = field(default_factory=list)


@dataclass(frozen=True)
class RuleStep:
    position: int
    name: str
    state: str  # matched | not matched | disabled | not reached | waiting
    why: list[str]
    rule: ReceiptRule
    actions: list[ActionStep] = field(default_factory=list)


@dataclass(frozen=True)
class FilterStep:
    verdict: str
    why: str
    filters: list[str]


@dataclass(frozen=True)
class Path:
    filters: FilterStep
    rule_set: str | None
    rules: list[RuleStep]
    retryable: bool  # an action is pending or expired: "retry now" has something to do


_FILTER_WHY = {
    FilterVerdict.ALLOWED: "an Allow filter covers {ip}: accepted (Allow beats Block)",
    FilterVerdict.BLOCKED: "a Block filter covers {ip} (the filters changed since: it was taken)",
    FilterVerdict.UNLISTED: "no filter covers {ip}: accepted",
}


def path(
    store: Store,
    record: MessageRecord,
    state: ReceiptState,
    rows: Sequence[TraceRow],
    retries: Sequence[RetryEntry],
) -> Path:
    table = IpFilterTable(state.filters)
    verdict = table.verdict(record.client_ip)
    filters = FilterStep(
        verdict.value,
        _FILTER_WHY[verdict].format(ip=record.client_ip),
        [f"{f.name}: {f.ip_filter.policy} {f.ip_filter.cidr}" for f in state.filters],
    )
    rule_set = state.active_rule_set
    if rule_set is None:
        return Path(filters, None, [], False)
    index = RecipientIndex(rule_set, state.verified)
    matches = {r: index.explain(r) for r in record.recipients}
    pending = record.status is MessageStatus.PENDING
    ran = {r.rule_position: r for r in rows if r.kind is TraceKind.RULE}
    steps = []
    for position, rule in enumerate(rule_set.rules):
        row = ran.get(position)
        reasons = [f"{r}: {m[position]}" for r, m in matches.items() if position in m]
        if not rule.enabled:
            state_name, why = "disabled", ["the rule is disabled: it is skipped"]
        elif row is not None:
            state_name = "matched"
            why = [f"{r}: {reason}" for r, reason in row.detail.get("why", {}).items()]
        elif reasons:
            state_name = "waiting" if pending else "not reached"
            why = reasons if pending else [*reasons, "an earlier rule stopped the rule set"]
        else:
            state_name, why = "not matched", [_unmatched(rule, record.recipients)]
        actions = _actions(store, rule, position, rows, retries, pending) if row else []
        steps.append(RuleStep(position, rule.name, state_name, why, rule, actions))
    retryable = any(e.status != "delivered" for e in retries)
    return Path(filters, rule_set.name, steps, retryable)


def settings(action: Action) -> dict[str, Any]:
    """The action's members as the SES API names them (`BucketName`, `HeaderValue`, ...)."""
    [members] = to_api(action).values()
    return dict(members)


def _unmatched(rule: ReceiptRule, recipients: Sequence[str]) -> str:
    if not rule.recipients:
        return "catch-all rule: no recipient is in a verified domain"
    return f"no recipient ({', '.join(recipients)}) matches {', '.join(rule.recipients)}"


def _actions(
    store: Store,
    rule: ReceiptRule,
    position: int,
    rows: Sequence[TraceRow],
    retries: Sequence[RetryEntry],
    pending: bool,
) -> list[ActionStep]:
    steps = []
    for index, action in enumerate(rule.actions):
        target = (position, index)
        mine = [r for r in rows if r.target == target]
        first = next((r for r in mine if r.kind is TraceKind.ACTION), None)
        retry = next((e for e in retries if e.target == target), None)
        fields = settings(action)
        if first is None:
            steps.append(ActionStep(index, action.NOTIFICATION_TYPE, fields, _idle(pending)))
            continue
        attempts = [r for r in mine if r.kind is TraceKind.RETRY]
        last = attempts[-1] if attempts else first
        links, payloads = _evidence(store, [first, *attempts])
        steps.append(
            ActionStep(
                index,
                action.NOTIFICATION_TYPE,
                fields,
                _state(first, retry),
                first.ms,
                last.error,
                retry,
                attempts,
                links,
                payloads,
            )
        )
    return steps


def _idle(pending: bool) -> str:
    return "waiting" if pending else "not run"


def _state(first: TraceRow, retry: RetryEntry | None) -> str:
    if first.error is None:
        return "done"
    if retry is None:
        return "failed"
    return {"pending": "retrying", "expired": "expired", "delivered": "delivered"}[retry.status]


def _evidence(store: Store, rows: Sequence[TraceRow]) -> tuple[list[Link], list[Payload]]:
    """What the action's rows point at: the S3 object, the SNS notification, the Lambda event
    and response, the DSN queued in the outbox."""
    links: list[Link] = []
    payloads: list[Payload] = []
    for row in rows:
        detail = row.detail
        if "bucket" in detail and "key" in detail:
            url = f"/api/s3/{quote(detail['bucket'], safe='')}/{quote(detail['key'])}"
            links.append(Link(f"S3 object s3://{detail['bucket']}/{detail['key']}", url))
        for key in ("snsMessageId",):
            if key in detail:
                payloads += _notification(store, str(detail[key]), "notification")
        alert = detail.get("alert")
        if isinstance(alert, dict) and "snsMessageId" in alert:
            payloads += _notification(store, str(alert["snsMessageId"]), "alert notification")
        if "event" in detail:
            payloads.append(Payload("Lambda event", _pretty(detail["event"])))
        if "response" in detail:
            payloads.append(Payload("Lambda response", _pretty(detail["response"])))
        links += _dsn(store, detail.get("dsn"))
        if "header" in detail:
            payloads.append(Payload("header added", str(detail["header"])))
        if "delivered" in detail:
            payloads.append(Payload("WorkMail delivery", _pretty(detail["delivered"])))
    return links, payloads


def dsn_links(store: Store, retries: Sequence[RetryEntry]) -> list[Link]:
    """The DSNs of expired actions (the 451 4.3.0 one, spec receiving.md §8)."""
    return [link for e in retries for link in _dsn(store, e.dsn)]


def _dsn(store: Store, outbox_id: object) -> list[Link]:
    if not isinstance(outbox_id, str):
        return []
    found = store.outbox_message(outbox_id)
    if found is None:  # "not sent: ..." says why there is none
        return [Link(f"DSN {outbox_id}", "")]
    return [Link(f"DSN sent to {', '.join(found.recipients)} ({found.status})",
                 f"/api/outbox/{quote(outbox_id)}/raw")]  # fmt: skip


def _notification(store: Store, sns_id: str, label: str) -> list[Payload]:
    found = store.notification(sns_id)
    if found is None:
        return [Payload(label, f"SNS message {sns_id} (published to AWS, not kept here)")]
    try:
        body: Any = json.loads(found.message)
    except ValueError:
        body = found.message
    return [Payload(f"{label} to {found.topic_arn}", _pretty(body))]


def _pretty(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
