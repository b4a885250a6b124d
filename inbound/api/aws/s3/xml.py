"""S3's XML documents: results in the 2006-03-01 namespace, errors without one (S3 API
Reference, "Error responses"), written with ElementTree, imported on first use (a server
nobody asks for S3 does not load it: benchmarks measure the default server's memory)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from inbound.errors import SesError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
Node = Mapping[str, Any]  # element name → text, nested Node, or a list of either (repeated)


def document(root: str, content: Node, text: str | None = None) -> bytes:
    from xml.etree import ElementTree as ET

    element = ET.Element(root, xmlns=NAMESPACE)
    element.text = text or None
    _fill(element, content)
    return _serialize(element)


def error_document(error: SesError, request_id: str, host_id: str) -> bytes:
    from xml.etree import ElementTree as ET

    element = ET.Element("Error")
    _fill(element, {"Code": error.code, "Message": error.message, **error.fields})
    _fill(element, {"RequestId": request_id, "HostId": host_id})
    return _serialize(element)


def _fill(element: Element, content: Node) -> None:
    from xml.etree import ElementTree as ET

    for name, value in content.items():
        for item in value if isinstance(value, list) else [value]:
            child = ET.SubElement(element, name)
            if isinstance(item, Mapping):
                _fill(child, item)
            else:
                child.text = _text(item)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _serialize(element: Element) -> bytes:
    """ASCII, non-ASCII as character references: any XML parser reads it."""
    from xml.etree import ElementTree as ET

    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element)


def find_text(body: bytes, path: Iterable[str]) -> str | None:
    """The text at `path` below the root (local names, any namespace) of an XML request
    body, or None; ValueError when it is not XML."""
    found = find_all(body, path)
    return None if not found else found[0]


def find_all(body: bytes, path: Iterable[str]) -> list[str]:
    """The texts of every element at `path` below the root (local names, any namespace)."""
    from xml.etree import ElementTree as ET

    try:
        nodes = [ET.fromstring(body)]
    except ET.ParseError as exc:
        raise ValueError(str(exc)) from None
    for name in path:
        nodes = [c for node in nodes for c in node if c.tag.rpartition("}")[2] == name]
    return [node.text or "" for node in nodes]
