"""
EC2's XML documents: C{<ActionResponse>} with its C{requestId}, and the
error document C{<Response><Errors><Error>}.

A body is plain data: a mapping becomes child elements in order (a
C{None} value is left out), a list becomes C{<item>} elements, a C{bool}
C{true}/C{false} and a C{datetime} EC2's C{2030-01-02T03:04:05.000Z}.
Characters that XML 1.0 cannot carry are dropped from text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

DEFAULT_VERSION = "2016-11-15"
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
CONTENT_TYPE = b"text/xml;charset=UTF-8"


def namespace(version: str | None) -> str:
    """The response namespace for the API version the client asked for."""
    if version is None or not _VERSION.match(version):
        version = DEFAULT_VERSION
    return f"http://ec2.amazonaws.com/doc/{version}/"


def timestamp(when: datetime) -> str:
    """EC2's time format, in UTC with milliseconds."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return timestamp(value)
    return _NOT_XML.sub("", str(value))


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for name, child in value.items():
            if child is not None:
                _fill(ElementTree.SubElement(element, name), child)
    elif isinstance(value, list | tuple):
        for item in value:
            _fill(ElementTree.SubElement(element, "item"), item)
    else:
        element.text = _text(value)


def _document(root: ElementTree.Element) -> bytes:
    body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def response(action: str, request_id: str, body: Mapping[str, Any],
             version: str | None = None) -> bytes:
    """C{<ActionResponse xmlns=...><requestId>...</requestId>body</ActionResponse>}."""
    root = ElementTree.Element(f"{action}Response", xmlns=namespace(version))
    ElementTree.SubElement(root, "requestId").text = request_id
    _fill(root, body)
    return _document(root)


def error(code: str, message: str, request_id: str) -> bytes:
    """EC2's error document."""
    root = ElementTree.Element("Response")
    _fill(root, {"Errors": {"Error": {"Code": code, "Message": message}},
                 "RequestID": request_id})
    return _document(root)
