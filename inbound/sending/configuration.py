"""Sending-side state of SES v1, pure logic: names, limits, event destinations, email templates
(a Handlebars subset and the MIME preview of TestRenderTemplate), list paging, statistics.

Nothing here does I/O; `api/operations/sending.py` reads and writes the store documents. The
rules quote the API reference text of the botocore model (`ses/2010-12-01`) and the SES
Developer Guide; where AWS documents a rule but not the error it raises, the choice is marked
UNCONFIRMED.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import quoprimime
from email.header import Header
from email.utils import format_datetime
from typing import Any

from inbound.errors import (
    InvalidCloudWatchDestination,
    InvalidFirehoseDestination,
    InvalidParameterValue,
    InvalidSNSDestination,
)
from inbound.timestamps import from_wire, to_wire

# ── store documents: kind → key "<region>/<name>" (SES resources are per Region) ─────────────
CONFIGURATION_SETS = "sending.configuration-sets"
TEMPLATES = "sending.templates"
VERIFICATION_TEMPLATES = "sending.custom-verification-templates"
ACCOUNT = "sending.account"  # key: region → {"SendingEnabled": bool}
STATISTICS = "sending.statistics"  # key: region → {"buckets": {iso: SendDataPoint counters}}

# ── limits ──────────────────────────────────────────────────────────────────────────────────
MAX_CONFIGURATION_SETS = 10_000  # SES quotas: "Configuration sets per account: 10,000"
MAX_EVENT_DESTINATIONS = 10  # SES quotas: "Event destinations per configuration set: 10"
MAX_TEMPLATES = 10_000  # Developer Guide: "You can create up to 10,000 email templates"
MAX_TEMPLATE_BYTES = 500 * 1024  # "Each template can be up to 500 KB in size, including
# both the text and HTML parts."
MAX_VERIFICATION_TEMPLATES = 50  # "up to 50 custom verification email templates"
MAX_VERIFICATION_CONTENT = 10 * 1024 * 1024  # TemplateContent: "less than 10 MB"
LIST_CONFIGURATION_SETS_PAGE = 1000  # "This operation returns up to 1,000 configuration sets"
LIST_TEMPLATES_DEFAULT, LIST_TEMPLATES_MAX = 10, 100  # MaxItems doc of ListTemplates
LIST_VERIFICATION_TEMPLATES_MAX = 50  # MaxResults doc: "up to 50 results"
# Sandbox quotas (SES Developer Guide, "Moving out of the Amazon SES sandbox"): "You can send a
# maximum of 200 messages per 24-hour period" and "a maximum of 1 message per second".
SANDBOX_MAX_24_HOUR_SEND = 200.0
SANDBOX_MAX_SEND_RATE = 1.0
STATISTICS_BUCKET = timedelta(minutes=15)  # "Each data point … for a 15-minute period"
STATISTICS_WINDOW = timedelta(days=14)  # "the last two weeks of sending activity"

# ConfigurationSetName / EventDestinationName: "Contain only letters (a-z, A-Z), numbers (0-9),
# underscores (_), or dashes (-). Contain 64 characters or fewer."
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# DimensionName: "ASCII letters, numbers, underscores, dashes, or colons. 256 characters or
# fewer." DefaultDimensionValue: "… dashes, at signs (@), or periods (.). 256 characters or fewer."
DIMENSION_NAME = re.compile(r"[A-Za-z0-9_:-]{1,256}")
DIMENSION_VALUE = re.compile(r"[A-Za-z0-9_@.-]{1,256}")
DOMAIN = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_PARTITION = r"arn:aws(?:-[a-z]+)*"
SNS_TOPIC = re.compile(_PARTITION + r":sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
FIREHOSE_STREAM = re.compile(
    _PARTITION + r":firehose:([a-z0-9-]+):\d{12}:deliverystream/[A-Za-z0-9_.-]{1,64}"
)
IAM_ROLE = re.compile(_PARTITION + r":iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")


def key(region: str, name: str) -> str:
    return f"{region}/{name}"


def in_region(documents: Mapping[str, Any], region: str) -> dict[str, Any]:
    """The documents of one Region, by resource name."""
    prefix = f"{region}/"
    return {k[len(prefix) :]: v for k, v in documents.items() if k.startswith(prefix)}


def now() -> datetime:
    return datetime.now(UTC)


# ── paging ──────────────────────────────────────────────────────────────────────────────────
def page(names: Sequence[str], token: str | None, size: int) -> tuple[list[str], str | None]:
    """One page of `names` (sorted) and the token for the next. The token names the next item,
    so pages stay consistent when items are created or deleted between calls."""
    start = 0
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()))["next"]
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise InvalidParameterValue(f"Invalid NextToken: {token}") from None
        start = next((i for i, n in enumerate(names) if n >= after), len(names))
    chosen = list(names[start : start + size])
    if start + size >= len(names):
        return chosen, None
    nxt = json.dumps({"next": names[start + size]}).encode()
    return chosen, base64.urlsafe_b64encode(nxt).decode()


def page_size(requested: int | None, default: int, maximum: int, member: str) -> int:
    """ListTemplates MaxItems: "This value must be at least 1 and less than or equal to 100.
    If more than 100 items are requested, the page size will automatically set to 100." """
    if requested is None:
        return default
    if requested < 1:
        raise InvalidParameterValue(f"{member} must be at least 1.")
    return min(requested, maximum)


# ── names ───────────────────────────────────────────────────────────────────────────────────
def valid_name(name: str) -> bool:
    return NAME.fullmatch(name) is not None


# ── event destinations ──────────────────────────────────────────────────────────────────────
DESTINATIONS = ("CloudWatchDestination", "KinesisFirehoseDestination", "SNSDestination")


def check_event_destination(set_name: str, region: str, dest: Mapping[str, Any]) -> dict[str, Any]:
    """The destination as stored and described (`Enabled` filled in: "The default value is
    false"). EventDestination doc: "When you create or update an event destination, you must
    provide one, and only one, destination."

    A malformed name or event-type list has no modeled error: `InvalidParameterValue`
    (UNCONFIRMED). Destination contents raise the destination's modeled error.
    """
    name = dest["Name"]
    if not valid_name(name):
        raise InvalidParameterValue(
            f"Invalid event destination name: {name}. The name must contain only ASCII letters, "
            "numbers, underscores, or dashes, and 64 characters or fewer."
        )
    given = [d for d in DESTINATIONS if dest.get(d) is not None]
    if len(given) != 1:
        raise InvalidParameterValue(
            "You must provide one, and only one, destination: CloudWatchDestination, "
            "KinesisFirehoseDestination or SNSDestination."
        )
    if not dest["MatchingEventTypes"]:
        raise InvalidParameterValue("MatchingEventTypes must contain at least one event type.")
    fields = {"ConfigurationSetName": set_name, "EventDestinationName": name}
    kind = given[0]
    body = dest[kind]
    if kind == "SNSDestination":
        _check_sns(body["TopicARN"], region, fields)
    elif kind == "KinesisFirehoseDestination":
        _check_firehose(body, region, fields)
    else:
        _check_cloudwatch(body["DimensionConfigurations"], fields)
    return {
        "Name": name,
        "Enabled": bool(dest.get("Enabled", False)),
        "MatchingEventTypes": list(dict.fromkeys(dest["MatchingEventTypes"])),
        kind: body,
    }


def _check_sns(topic: str, region: str, fields: dict[str, str]) -> None:
    """The topic must be an SNS topic ARN in the sending Region (SES publishes events only to
    topics in its own Region)."""
    match = SNS_TOPIC.fullmatch(topic)
    if match is None or match.group(1) != region:
        raise InvalidSNSDestination(
            f"SNS topic <{topic}> is invalid: it must be an Amazon SNS topic ARN in {region}.",
            **fields,
        )


def _check_firehose(body: Mapping[str, str], region: str, fields: dict[str, str]) -> None:
    stream, role = body["DeliveryStreamARN"], body["IAMRoleARN"]
    match = FIREHOSE_STREAM.fullmatch(stream)
    if match is None or match.group(1) != region:
        raise InvalidFirehoseDestination(
            f"Delivery stream <{stream}> is invalid: it must be a Kinesis Firehose delivery "
            f"stream ARN in {region}.",
            **fields,
        )
    if IAM_ROLE.fullmatch(role) is None:
        raise InvalidFirehoseDestination(
            f"IAM role <{role}> is invalid: it must be an IAM role ARN.", **fields
        )


def _check_cloudwatch(dimensions: Sequence[Mapping[str, str]], fields: dict[str, str]) -> None:
    if not dimensions:
        raise InvalidCloudWatchDestination(
            "DimensionConfigurations must contain at least one dimension.", **fields
        )
    seen: set[str] = set()
    for dimension in dimensions:
        name, default = dimension["DimensionName"], dimension["DefaultDimensionValue"]
        if DIMENSION_NAME.fullmatch(name) is None:
            raise InvalidCloudWatchDestination(
                f"Invalid dimension name: {name}. It must contain only ASCII letters, numbers, "
                "underscores, dashes, or colons, and 256 characters or fewer.",
                **fields,
            )
        if DIMENSION_VALUE.fullmatch(default) is None:
            raise InvalidCloudWatchDestination(
                f"Invalid default dimension value: {default}. It must contain only ASCII "
                "letters, numbers, underscores, dashes, at signs, or periods, and 256 "
                "characters or fewer.",
                **fields,
            )
        if name in seen:
            raise InvalidCloudWatchDestination(f"Duplicate dimension name: {name}.", **fields)
        seen.add(name)


# ── templates: a Handlebars subset ──────────────────────────────────────────────────────────
class TemplateSyntaxError(ValueError):
    """The template cannot be compiled (→ `InvalidTemplate`)."""


class MissingAttribute(LookupError):
    """A `{{name}}` with no value in the rendering data (→ `MissingRenderingAttribute`)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@dataclass
class _Node:
    kind: str  # text | var | block | partial
    text: str = ""  # text, or the path of var/block
    raw: bool = False  # var: {{{x}}} / {{&x}}
    helper: str = ""  # block: if | unless | each | with
    children: list[_Node] = field(default_factory=list)
    inverse: list[_Node] = field(default_factory=list)


@dataclass
class _Tag:
    kind: str  # text | var | open | close | else | partial | comment | inline
    body: str
    raw: bool = False
    strip_left: bool = False
    strip_right: bool = False

    @property
    def standalone_kind(self) -> bool:
        return self.kind in ("open", "close", "else", "comment", "inline", "partial")


BLOCK_HELPERS = ("if", "unless", "each", "with")
_PATH = re.compile(r"(\.\./)*(@?[A-Za-z0-9_$-]+|this|\.)(\.[A-Za-z0-9_$-]+)*")


@dataclass
class Compiled:
    nodes: list[_Node]
    partials: dict[str, list[_Node]]


_TAG = re.compile(r"\{\{(~)?(?:(!--.*?--)|(\{.*?\})|(.*?))(~)?\}\}", re.S)


def _scan(source: str) -> list[_Tag]:
    """Split into text and tags (a text item between every two tags, possibly empty)."""
    tags: list[_Tag] = []
    pos = 0
    for match in _TAG.finditer(source):
        tags.append(_Tag("text", source[pos : match.start()]))
        left, comment, raw, plain, right = match.groups()
        body = "!" if comment is not None else raw if raw is not None else plain
        tags.append(_classify(body, bool(left), bool(right)))
        pos = match.end()
    tags.append(_Tag("text", source[pos:]))
    for t in tags:
        if t.kind == "text" and "{{" in t.body:
            raise TemplateSyntaxError("Unclosed expression: " + t.body[t.body.index("{{") :][:40])
    return tags


def _classify(body: str, strip_left: bool, strip_right: bool) -> _Tag:
    def tag(kind: str, text: str, raw: bool = False) -> _Tag:
        return _Tag(kind, text.strip(), raw, strip_left, strip_right)

    if body.startswith("!"):
        return tag("comment", "")
    if body.startswith("{") and body.endswith("}"):
        return tag("var", body[1:-1], raw=True)
    if body.startswith("&"):
        return tag("var", body[1:], raw=True)
    if body.startswith("#*"):
        words = body[2:].split(None, 1)
        if len(words) != 2 or words[0] != "inline":
            raise TemplateSyntaxError(f"Unsupported decorator: {{{{{body}}}}}")
        return tag("inline", words[1].strip().strip("\"'"))
    if body.startswith("#"):
        return tag("open", body[1:])
    if body.startswith("/"):
        return tag("close", body[1:])
    if body.strip() in ("else", "^"):
        return tag("else", "")
    if body.startswith(">"):
        return tag("partial", body[1:].strip().strip("\"'"))
    return tag("var", body)


def _whitespace_control(tags: list[_Tag]) -> None:
    """`~` strips the whitespace next to the tag; a block tag alone on its line takes the
    line with it (Handlebars "standalone" tags). `tags` alternates text, tag, text, …"""
    last = len(tags) - 1
    for i in range(1, last, 2):
        t, before, after = tags[i], tags[i - 1], tags[i + 1]
        if t.strip_left:
            before.body = before.body.rstrip()
        if t.strip_right:
            after.body = after.body.lstrip()
    # Decide on the original text, then cut: a text between two standalone lines loses both
    # its leading line end and its trailing indentation.
    cuts: dict[int, list[int]] = {}  # text index → [chars cut at start, chars cut at end]
    for i in range(1, last, 2):
        t, before, after = tags[i], tags[i - 1], tags[i + 1]
        if not t.standalone_kind:
            continue
        head = re.search(r"(?:^|\n)([ \t]*)$", before.body)
        tail = re.match(r"[ \t]*(\r?\n|$)", after.body)
        if head is None or tail is None:
            continue
        if (i - 1 != 0 and "\n" not in before.body) or (i + 1 != last and not tail.group(1)):
            continue
        cuts.setdefault(i - 1, [0, 0])[1] = len(head.group(1))
        cuts.setdefault(i + 1, [0, 0])[0] = tail.end()
    for index, (cut_start, cut_end) in cuts.items():
        body = tags[index].body
        tags[index].body = (
            body[cut_start : len(body) - cut_end] if cut_start < len(body) - cut_end else ""
        )


def compile_template(source: str) -> Compiled:
    """Parse `source`: `{{path}}` (HTML-escaped), `{{{path}}}` / `{{&path}}` (raw), dotted
    paths, `this`, `../`, `@index/@key/@first/@last`, `{{#if}}`, `{{#unless}}`, `{{#each}}`,
    `{{#with}}` with `{{else}}`, comments, and inline partials (`{{#* inline "p"}}…{{/inline}}`
    used as `{{> p}}`) — the features the SES Developer Guide shows for templates ("Advanced
    email personalization"). Anything else raises `TemplateSyntaxError`; so does a partial that
    is never defined, as `InvalidTemplate`'s doc says ("a template refers to a partial that does
    not exist")."""
    tags = _scan(source)
    _whitespace_control(tags)
    partials: dict[str, list[_Node]] = {}
    stack: list[tuple[_Tag, _Node | None, list[_Node]]] = []  # (opener, block, outer list)
    current: list[_Node] = []
    used: set[str] = set()
    in_inverse: list[bool] = []
    for t in tags:
        if t.kind == "text":
            if t.body:
                current.append(_Node("text", t.body))
        elif t.kind == "comment":
            continue
        elif t.kind == "var":
            if " " in t.body or not _PATH.fullmatch(t.body):
                raise TemplateSyntaxError(f"Unsupported expression: {{{{{t.body}}}}}")
            current.append(_Node("var", t.body, raw=t.raw))
        elif t.kind == "partial":
            if not t.body:
                raise TemplateSyntaxError("Partial without a name")
            used.add(t.body)
            current.append(_Node("partial", t.body))
        elif t.kind == "open":
            words = t.body.split()
            if len(words) != 2 or words[0] not in BLOCK_HELPERS or not _PATH.fullmatch(words[1]):
                raise TemplateSyntaxError(f"Unsupported block: {{{{#{t.body}}}}}")
            block = _Node("block", words[1], helper=words[0])
            current.append(block)
            stack.append((t, block, current))
            in_inverse.append(False)
            current = block.children
        elif t.kind == "inline":
            if not t.body:
                raise TemplateSyntaxError("Inline partial without a name")
            stack.append((t, None, current))
            in_inverse.append(False)
            current = partials.setdefault(t.body, [])
            if current:
                raise TemplateSyntaxError(f"Partial defined twice: {t.body}")
        elif t.kind == "else":
            if not stack or stack[-1][1] is None or in_inverse[-1]:
                raise TemplateSyntaxError("{{else}} outside a block")
            block = stack[-1][1]
            in_inverse[-1] = True
            current = block.inverse
        else:  # close
            if not stack:
                raise TemplateSyntaxError(f"{{{{/{t.body}}}}} does not close any block")
            _opener, block, outer = stack.pop()
            in_inverse.pop()
            expected = "inline" if block is None else block.helper
            if t.body != expected:
                raise TemplateSyntaxError(f"{{{{/{t.body}}}}} does not match {{{{#{expected}}}}}")
            current = outer
    if stack:
        raise TemplateSyntaxError(f"Unclosed block: {{{{#{stack[-1][0].body}}}}}")
    missing = sorted(used - set(partials))
    if missing:
        raise TemplateSyntaxError(f"The partial {missing[0]} could not be found")
    _check_partial_cycles(partials)
    return Compiled(current, partials)


def _check_partial_cycles(partials: Mapping[str, list[_Node]]) -> None:
    def refs(nodes: Iterable[_Node]) -> set[str]:
        out: set[str] = set()
        for n in nodes:
            if n.kind == "partial":
                out.add(n.text)
            out |= refs(n.children) | refs(n.inverse)
        return out

    graph = {name: refs(body) for name, body in partials.items()}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise TemplateSyntaxError(f"The partial {name} includes itself")
        for nxt in graph.get(name, ()):
            visit(nxt, (*path, name))

    for name in graph:
        visit(name, ())


_MISSING = object()
_HTML_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;"}
    | {"=": "&#x3D;"}
)


@dataclass
class _Frame:
    context: Any
    data: dict[str, Any] = field(default_factory=dict)


def render(compiled: Compiled, data: Mapping[str, Any]) -> str:
    out: list[str] = []
    _render(compiled.nodes, [_Frame(data)], compiled.partials, out)
    return "".join(out)


def _render(
    nodes: Sequence[_Node],
    frames: list[_Frame],
    partials: Mapping[str, list[_Node]],
    out: list[str],
) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "partial":
            _render(partials[node.text], frames, partials, out)
        elif node.kind == "var":
            value = _lookup(node.text, frames)
            if value is _MISSING or value is None:
                raise MissingAttribute(node.text)
            text = _stringify(value)
            out.append(text if node.raw else text.translate(_HTML_ESCAPES))
        else:
            _block(node, frames, partials, out)


def _block(
    node: _Node, frames: list[_Frame], partials: Mapping[str, list[_Node]], out: list[str]
) -> None:
    value = _lookup(node.text, frames)
    truthy = _truthy(value)
    if node.helper in ("if", "unless"):
        chosen = node.children if truthy == (node.helper == "if") else node.inverse
        _render(chosen, frames, partials, out)
    elif node.helper == "with":
        if truthy:
            _render(node.children, [*frames, _Frame(value)], partials, out)
        else:
            _render(node.inverse, frames, partials, out)
    else:  # each
        items: list[tuple[Any, dict[str, Any]]] = []
        if isinstance(value, list):
            items = [(v, {"index": i}) for i, v in enumerate(value)]
        elif isinstance(value, dict):
            items = [(v, {"key": k, "index": i}) for i, (k, v) in enumerate(value.items())]
        if not items:
            _render(node.inverse, frames, partials, out)
        for position, (item, extra) in enumerate(items):
            extra |= {"first": position == 0, "last": position == len(items) - 1}
            _render(node.children, [*frames, _Frame(item, extra)], partials, out)


def _lookup(path: str, frames: list[_Frame]) -> Any:
    depth = 0
    while path.startswith("../"):
        depth, path = depth + 1, path[3:]
    if depth >= len(frames):
        return _MISSING
    frame = frames[len(frames) - 1 - depth]
    if path.startswith("@"):
        return frame.data.get(path[1:], _MISSING)
    parts = path.split(".")
    value = frame.context
    if parts[0] in ("this", ""):
        parts = [p for p in parts[1:] if p]
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _truthy(value: Any) -> bool:
    """Handlebars: false, undefined, null, "", 0 and [] are falsy; {} is truthy."""
    if value is _MISSING or value is None or value is False:
        return False
    if isinstance(value, (str, list, int, float)) and not isinstance(value, bool):
        return bool(value)
    return True


def _stringify(value: Any) -> str:
    """As Handlebars (JavaScript) prints JSON values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join("" if v is None else _stringify(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


@dataclass(frozen=True)
class TemplateParts:
    subject: Compiled
    text: Compiled | None
    html: Compiled | None


def template_size(template: Mapping[str, Any]) -> int:
    return sum(
        len(template.get(part, "").encode()) for part in ("SubjectPart", "TextPart", "HtmlPart")
    )


def check_template(template: Mapping[str, Any]) -> TemplateParts:
    """Validate a `Template` for Create/UpdateTemplate; returns its compiled parts.

    Raises `InvalidParameterValue` for content SES documents as required ("composed of a
    subject line and either an HTML part or a text-only part"; "Each template can be up to
    500 KB in size, including both the text and HTML parts") and `TemplateSyntaxError` for a
    template that cannot be compiled. The name is checked by the caller.
    """
    if not template.get("SubjectPart"):
        raise InvalidParameterValue("The subject must be specified.")
    if not template.get("TextPart") and not template.get("HtmlPart"):
        raise InvalidParameterValue("The template must contain a text part or an HTML part.")
    size = template_size(template)
    if size > MAX_TEMPLATE_BYTES:
        raise InvalidParameterValue(
            f"Template size ({size} bytes) exceeds the maximum of {MAX_TEMPLATE_BYTES} bytes."
        )
    text, markup = template.get("TextPart"), template.get("HtmlPart")
    return TemplateParts(
        compile_template(template["SubjectPart"]),
        compile_template(text) if text else None,
        compile_template(markup) if markup else None,
    )


def parse_template_data(text: str) -> dict[str, Any]:
    """TemplateData: "This parameter is a JSON object" → ValueError when it is not one."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("TemplateData must be a JSON object")
    return data


def render_mime(parts: TemplateParts, data: Mapping[str, Any], when: datetime) -> str:
    """TestRenderTemplate's RenderedTemplate: "The complete MIME message rendered by applying
    the data in the TemplateData parameter to the template": Date, Subject, MIME-Version and
    the text part, the HTML part, or both as multipart/alternative (text first), UTF-8, with
    CRLF line ends and a JavaMail-style boundary as SES writes them."""
    subject = re.sub(r"\r\n|\r|\n", " ", render(parts.subject, data))
    bodies = [
        (subtype, render(compiled, data))
        for subtype, compiled in (("plain", parts.text), ("html", parts.html))
        if compiled is not None
    ]
    head = [
        f"Date: {format_datetime(when)}",
        f"Subject: {_header_text(subject)}",
        "MIME-Version: 1.0",
    ]
    if len(bodies) == 1:
        subtype, body = bodies[0]
        return "\r\n".join([*head, *_part(subtype, body)])
    boundary = f"----=_Part_{uuid.uuid4().int % 10**12}"
    lines = [*head, f'Content-Type: multipart/alternative; \r\n\tboundary="{boundary}"', ""]
    for subtype, body in bodies:
        lines += [f"--{boundary}", *_part(subtype, body)]
    lines.append(f"--{boundary}--")
    return "\r\n".join(lines) + "\r\n"


def _header_text(text: str) -> str:
    return text if text.isascii() else Header(text, "utf-8").encode()


def _part(subtype: str, body: str) -> list[str]:
    body = re.sub(r"\r\n|\r|\n", "\r\n", body)
    if body.isascii() and all(len(line) <= 998 for line in body.split("\r\n")):
        encoding = "7bit"
    else:
        encoding = "quoted-printable"
        # body_encode escapes code points 128-255 as bytes: feed it the UTF-8 bytes as such.
        body = quoprimime.body_encode(body.encode().decode("latin-1"), eol="\r\n")
    return [
        f"Content-Type: text/{subtype}; charset=UTF-8",
        f"Content-Transfer-Encoding: {encoding}",
        "",
        body,
    ]


# ── statistics ──────────────────────────────────────────────────────────────────────────────
COUNTERS = ("DeliveryAttempts", "Bounces", "Complaints", "Rejects")


def bucket_start(moment: datetime) -> datetime:
    minute = moment.minute - moment.minute % 15
    return moment.astimezone(UTC).replace(minute=minute, second=0, microsecond=0)


def add_counts(
    document: Mapping[str, Any] | None, moment: datetime, **counts: int
) -> dict[str, Any]:
    """The statistics document with `counts` added to `moment`'s 15-minute bucket; buckets
    older than two weeks are dropped. For the sending path (a later issue) to call."""
    buckets = dict((document or {}).get("buckets", {}))
    oldest = moment - STATISTICS_WINDOW
    buckets = {k: v for k, v in buckets.items() if from_wire(k) >= oldest}
    slot = to_wire(bucket_start(moment))
    current = dict(buckets.get(slot, dict.fromkeys(COUNTERS, 0)))
    for name, count in counts.items():
        current[name] = current.get(name, 0) + count
    buckets[slot] = current
    return {"buckets": buckets}


def data_points(document: Mapping[str, Any] | None, moment: datetime) -> list[dict[str, Any]]:
    oldest = moment - STATISTICS_WINDOW
    points = []
    for slot, counts in sorted((document or {}).get("buckets", {}).items()):
        if from_wire(slot) >= oldest:
            points.append({"Timestamp": slot, **{c: int(counts.get(c, 0)) for c in COUNTERS}})
    return points


def sent_last_24_hours(document: Mapping[str, Any] | None, moment: datetime) -> float:
    oldest = bucket_start(moment - timedelta(hours=24))
    return float(
        sum(
            counts.get("DeliveryAttempts", 0)
            for slot, counts in (document or {}).get("buckets", {}).items()
            if from_wire(slot) >= oldest
        )
    )
