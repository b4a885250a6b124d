"""botocore's Query-protocol service models, loaded once, and the per-shape lookups the codec
repeats.

The Query codec (`codec.py` in, `xml.py` out) is generic: everything it knows about SES comes
from here, so a newer botocore model needs no code change (query-api.md §6). The embedded SNS
speaks the same protocol, so the same codec serves it with botocore's `sns` model: each lookup
takes the model's name, `ses` unless said. botocore's shapes are hashable by identity and cache
their own members, so `functools.cache` over them is safe.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape, StructureShape


SES = "ses"


def service_model(service: str = SES) -> ServiceModel:
    return _loaded(service)  # one model per name, however the name is passed


@functools.cache
def _loaded(service: str) -> ServiceModel:
    import botocore.session  # lazy: ~0.1 s, paid by the first request only

    return botocore.session.get_session().get_service_model(service)


def api_version(service: str = SES) -> str:
    return str(service_model(service).metadata["apiVersion"])


def namespace(service: str = SES) -> str:
    return str(service_model(service).metadata["xmlNamespace"])


def operation_names(service: str = SES) -> frozenset[str]:
    return _operation_names(service)


@functools.cache
def _operation_names(service: str) -> frozenset[str]:
    return frozenset(service_model(service).operation_names)


def operation_model(name: str, service: str = SES) -> OperationModel | None:
    """The model of `name`, or None when the model has no such operation."""
    if name not in operation_names(service):
        return None
    return service_model(service).operation_model(name)


@dataclass(frozen=True)
class Member:
    name: str  # the boto3 key
    wire: str  # the Query / XML element name
    path: str  # Coral's lowerCamel name in validation messages (`ruleSetName`, `sNSAction`)
    shape: Shape
    required: bool


@functools.cache
def members(shape: StructureShape) -> tuple[Member, ...]:
    required = set(shape.required_members)
    return tuple(
        Member(
            name,
            member.serialization.get("name", name),
            name[:1].lower() + name[1:],
            member,
            name in required,
        )
        for name, member in shape.members.items()
    )


@functools.cache
def _error_shapes(service: str) -> dict[str, StructureShape]:
    """Wire code and shape name → error shape (handlers may raise either spelling)."""
    from botocore.model import StructureShape  # loaded by service_model() already

    shapes = [s for s in service_model(service).error_shapes if isinstance(s, StructureShape)]
    table: dict[str, StructureShape] = {}
    for shape in shapes:
        table[shape.name] = shape
    for shape in shapes:
        table[shape.error_code] = shape  # the wire code wins over a colliding shape name
    return table


def error_shape(code: str, service: str = SES) -> StructureShape | None:
    return _error_shapes(service).get(code)
