"""What an export job writes: VDM's metrics per day (METRICS_DATA) or one row per message and
destination (MESSAGE_INSIGHTS), as CSV or JSON. Pure: tracked messages in, rows and bytes out
(`insights.py` computes what the rows say).

SES does not publish its export files' layout, so the columns are decisions
(docs/behaviour.md, "Export jobs"): the model's member names for message insights, and
`<METRIC>_<AGGREGATION>` columns beside the day and the dimensions for metrics. CSV has a
header row (RFC 4180, CRLF line ends); JSON is one array of row objects.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbound.sending import insights
from inbound.sending.events import EventType
from inbound.timestamps import to_wire

Row = dict[str, Any]
ALL = "*"  # a dimension value that breaks the metrics down by every value met
DEFAULT_MAX_RESULTS = 1000  # "If you don't specify MaxResults, the export returns ... 1,000"


# ── metrics ─────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class ExportMetric:
    name: insights.Metric
    aggregation: str  # VOLUME | RATE ("relative to the SEND metric volume")

    @property
    def column(self) -> str:
        return f"{self.name}_{self.aggregation}"


def metric_rows(
    messages: Sequence[insights.Tracked],
    dimensions: Mapping[str, Sequence[str]],
    metrics: Sequence[ExportMetric],
    start: datetime,
    end: datetime,
) -> list[Row]:
    """A row per day and per combination of the dimensions' values (`*`: each value the
    messages have), oldest day first."""
    choices = []
    for name, values in dimensions.items():
        found = set(values) - {ALL}
        if ALL in values:
            found |= {v for m in messages if (v := m.dimension(name)) is not None}
        choices.append([(name, value) for value in sorted(found)])
    rows = []
    for combination in itertools.product(*choices):
        chosen = dict(combination)
        sends = insights.daily(messages, insights.Metric.SEND, chosen, start, end)
        columns = {m.column: insights.daily(messages, m.name, chosen, start, end) for m in metrics}
        for index, (day, sent) in enumerate(sends):
            row: Row = {"Timestamp": day.date().isoformat(), **chosen}
            for metric in metrics:
                count = columns[metric.column][index][1]
                rate = count / sent if sent else 0.0
                row[metric.column] = count if metric.aggregation == "VOLUME" else rate
            rows.append(row)
    return sorted(rows, key=lambda r: r["Timestamp"])


# ── message insights ────────────────────────────────────────────────────────────────────────
_DELIVERY_ORDER = ("SEND", "BOUNCE", "DELIVERY", "COMPLAINT")  # "SEND < BOUNCE < DELIVERY <
# COMPLAINT"


def _last_delivery(events: Iterable[insights.InsightEvent]) -> str | None:
    """`LastDeliveryEvent`: the latest in SES's order; a bounce by its type."""
    last: insights.InsightEvent | None = None
    for event in events:
        kind = event.kind.name
        if kind in _DELIVERY_ORDER and (
            last is None or _DELIVERY_ORDER.index(kind) >= _DELIVERY_ORDER.index(last.kind.name)
        ):
            last = event
    if last is None:
        return None
    if last.kind is EventType.BOUNCE:
        return f"{str(last.facts.get('bounceType', 'Undetermined')).upper()}_BOUNCE"
    return last.kind.name


def _last_engagement(events: Iterable[insights.InsightEvent]) -> str | None:
    """`LastEngagementEvent`: "OPEN < CLICK"."""
    kinds = {e.kind for e in events}
    return "CLICK" if EventType.CLICK in kinds else "OPEN" if EventType.OPEN in kinds else None


def insight_rows(messages: Iterable[tuple[insights.Tracked, str | None]]) -> list[Row]:
    """A row per message and destination, in sending order; `messages` pairs each message
    with its subject."""
    rows = []
    for message, subject in messages:
        record = message.record
        for destination in insights.destinations(record):
            events = insights.for_recipient(message.events, destination)
            rows.append(
                {
                    "MessageId": record.id,
                    "Timestamp": record.created,
                    "FromEmailAddress": record.source,
                    "Subject": subject,
                    "Destination": destination,
                    "Isp": insights.isp_of(destination),
                    "LastDeliveryEvent": _last_delivery(events),
                    "LastEngagementEvent": _last_engagement(events),
                    "EmailTags": [{"Name": k, "Value": v} for k, v in record.tags.items()],
                }
            )
    return rows


def _matches(row: Row, filters: Mapping[str, Sequence[str]]) -> bool:
    """Whether any filter list has the row's value (addresses without regard to case)."""
    for member, wanted in filters.items():
        value = row.get(member)
        if value is None:
            continue
        if member in ("FromEmailAddress", "Destination"):
            if str(value).lower() in {w.lower() for w in wanted}:
                return True
        elif value in wanted:
            return True
    return False


def _included(row: Row, filters: Mapping[str, Sequence[str]]) -> bool:
    """Every Include filter holds: the row's value is in each list given."""
    return all(_matches(row, {member: wanted}) for member, wanted in filters.items() if wanted)


def filtered(
    rows: Iterable[Row],
    include: Mapping[str, Sequence[str]],
    exclude: Mapping[str, Sequence[str]],
    limit: int,
) -> list[Row]:
    chosen = (r for r in rows if _included(r, include) and not _matches(r, exclude))
    return list(itertools.islice(chosen, limit))


# ── the file ────────────────────────────────────────────────────────────────────────────────
def encode(rows: Sequence[Row], columns: Sequence[str], data_format: str) -> bytes:
    """CSV with a header row (EmailTags as JSON text), or a JSON array of the rows."""
    if data_format == "JSON":
        return json.dumps([{c: r.get(c) for c in columns} for r in rows]).encode()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue().encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, datetime):
        return to_wire(value)
    return str(value)


INSIGHT_COLUMNS = (
    "MessageId",
    "Timestamp",
    "FromEmailAddress",
    "Subject",
    "Destination",
    "Isp",
    "LastDeliveryEvent",
    "LastEngagementEvent",
    "EmailTags",
)
