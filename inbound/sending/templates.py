"""SES email templates: a Handlebars subset (compile, render) and the MIME preview of
TestRenderTemplate. Pure: the sending configuration stores templates, this reads them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import quoprimime
from email.header import Header
from typing import Any

from inbound.errors import InvalidParameterValue
from inbound.receiving.receipt import smtp_date

MAX_TEMPLATE_BYTES = 500 * 1024  # "Each template can be up to 500 KB in size, including
# both the text and HTML parts."


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
            _opener, closed, outer = stack.pop()
            in_inverse.pop()
            expected = "inline" if closed is None else closed.helper
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
        f"Date: {smtp_date(when)}",
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
