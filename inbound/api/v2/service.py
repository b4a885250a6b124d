"""botocore's `sesv2` service model, loaded once, and the route table built from it.

Like the v1 Query codec (`api/query/service.py`), the REST-JSON codec knows nothing about SES
but what this model says: each operation's `http.method` and `http.requestUri` (literal
segments, `{Label}` and greedy `{Label+}`), its shapes' locations and its error shapes'
`error.httpStatusCode`. A newer botocore model needs no code change.

A model can move an operation to another path, and clients built on the earlier model keep
sending the old one: `EARLIER_ROUTES` keeps those routes answering (listed by hand: botocore
carries one model version).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, StructureShape


@functools.cache
def service_model() -> ServiceModel:
    import botocore.session  # lazy, as api/query/service.py

    return botocore.session.get_session().get_service_model("sesv2")


def api_version() -> str:
    return str(service_model().metadata["apiVersion"])


@functools.cache
def operation_names() -> frozenset[str]:
    return frozenset(service_model().operation_names)


@dataclass(frozen=True)
class Route:
    method: str
    segments: tuple[str, ...]  # literal text, or `{Label}` / `{Label+}`
    operation: str
    from_query: tuple[str, ...] = ()  # members an earlier model sent in the query string

    def match(self, parts: tuple[str, ...]) -> dict[str, str] | None:
        """The URI labels (percent-decoded) when the path's raw `parts` fit this route."""
        labels: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.endswith("+}"):  # greedy: the rest of the path, slashes included
                rest = parts[index:]
                if not rest or not all(rest):
                    return None
                labels[segment[1:-2]] = unquote("/".join(rest))
                return labels
            if index >= len(parts):
                return None
            if segment.startswith("{"):
                if not parts[index]:
                    return None
                labels[segment[1:-1]] = unquote(parts[index])
            elif unquote(parts[index]) != segment:
                return None
        return labels if len(parts) == len(self.segments) else None

    @property
    def specificity(self) -> tuple[int, int]:
        """Literal segments first, then length: `/templates/{Name}/render` before a greedy
        label that could swallow it."""
        literal = sum(1 for s in self.segments if not s.startswith("{"))
        return (-literal, -len(self.segments))


def split_path(path: str) -> tuple[str, ...]:
    """`/v2/email/templates/x/` → ("v2", "email", "templates", "x"): a trailing slash is not
    a segment (the model writes both `/v2/email/insights/{MessageId}/` and `/v2/email/account`,
    and clients send what the model says)."""
    return tuple(path.strip("/").split("/"))


# (operation, method, path, members in the query string) of sesv2 models before 2025, where
# ListEmailIdentities and ListConfigurationSets were GETs (AWS CLI 1.46 and older SDKs still
# send them so); the newer model POSTs a JSON body to `list-identities` and
# `list-configuration-sets`.
EARLIER_ROUTES = (
    ("ListEmailIdentities", "GET", "/v2/email/identities", ("NextToken", "PageSize")),
    ("ListConfigurationSets", "GET", "/v2/email/configuration-sets", ("NextToken", "PageSize")),
)


@functools.cache
def routes() -> tuple[Route, ...]:
    table = []
    for name in service_model().operation_names:
        http = service_model().operation_model(name).http
        path = http["requestUri"].partition("?")[0]
        table.append(Route(http["method"], split_path(path), name))
    taken = {(r.method, r.segments) for r in table}
    for name, method, path, from_query in EARLIER_ROUTES:
        earlier = Route(method, split_path(path), name, from_query)
        if name in operation_names() and (method, earlier.segments) not in taken:
            table.append(earlier)
    table.sort(key=lambda route: route.specificity)
    return tuple(table)


def operation_model(name: str) -> OperationModel:
    return service_model().operation_model(name)


@functools.cache
def error_shape(code: str) -> StructureShape | None:
    from botocore.model import StructureShape as Structure  # loaded with the model

    for shape in service_model().error_shapes:
        if isinstance(shape, Structure) and code in (shape.error_code, shape.name):
            return shape
    return None


def error_status(code: str, default: int) -> int:
    shape = error_shape(code)
    if shape is None:
        return default
    return int(shape.metadata.get("error", {}).get("httpStatusCode", default))
