"""The Compute API's OpenAPI 3.1 document, built from its routes and :mod:`schemas`.

``GET /compute/v2.1/openapi.json`` answers it, with or without a token, for
the microversion the request negotiates (2.1 unless it asks for another, as
every Compute request): the request schemas in it are the ones
:mod:`validation` enforces at that microversion, and each operation
requires that microversion's header, so a client generating requests from
the document gets the behaviour it describes. Errors are documented as
Nova's fault document (``{"itemNotFound": {"code": 404, "message": ...}}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from nova_ws.api.compute.schemas import OPERATIONS, Operation, Schema
from nova_ws.api.microversions import MAX_VERSION, MIN_VERSION, Version

OPENAPI_VERSION = "3.1.0"
#: Routes that are not resources of the API (version discovery, the document itself).
_NOT_OPERATIONS = frozenset({"versions", "version", "unknown", "openapi_document"})
_ARGUMENT = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")

FAULT: Schema = {
    "type": "object", "minProperties": 1, "maxProperties": 1,
    "additionalProperties": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}}},
}
_DESCRIPTIONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content"}


def _path(rule: str) -> tuple[str, list[str]]:
    """``/v2.1/servers/<server_id>`` -> ``/v2.1/servers/{server_id}`` and its arguments."""
    return _ARGUMENT.sub(r"{\1}", rule), _ARGUMENT.findall(rule)


def _responses(operation: Operation) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for status in operation.ok:
        answer: dict[str, Any] = {"description": _DESCRIPTIONS.get(status, "Success")}
        if status not in operation.empty:
            answer["content"] = {"application/json": {"schema": {"type": "object"}}}
        answers[str(status)] = answer
    fault = {"application/json": {"schema": {"$ref": "#/components/schemas/Fault"}}}
    answers["4XX"] = {"description": "A fault in Nova's format", "content": fault}
    for status in operation.errors:
        answers[str(status)] = {"description": "A fault in Nova's format", "content": fault}
    return answers


def _operation(endpoint: str, operation: Operation, arguments: list[str], method: str,
               version: Version) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "string", "minLength": 1}} for name in arguments]
    parameters.append({"name": "OpenStack-API-Version", "in": "header", "required": True,
                       "description": "The microversion this document describes.",
                       "schema": {"type": "string", "enum": [f"compute {version}"]}})
    query = operation.query_at(version)
    for name, schema in sorted((query.params if query else {}).items()):
        parameters.append({"name": name, "in": "query", "required": False,
                           "schema": schema})
    document: dict[str, Any] = {"operationId": endpoint, "summary": operation.summary,
                                "tags": [operation.tag], "parameters": parameters,
                                "responses": _responses(operation)}
    body = operation.body_at(version)
    if body is not None and method in ("post", "put"):
        document["requestBody"] = {
            "required": "null" not in str(body.get("type", "")),
            "content": {"application/json": {"schema": body}}}
    return document


def document(routes: Iterable[tuple[str, str, Iterable[str]]], base_url: str,
             version: Version, operations: Mapping[str, Operation] = OPERATIONS
             ) -> dict[str, Any]:
    """The OpenAPI document of *routes* (``(endpoint, rule, methods)``) at *version*.

    Routes without an operation, and those the microversion does not serve,
    are left out.
    """
    paths: dict[str, dict[str, Any]] = {}
    for endpoint, rule, methods in routes:
        operation = operations.get(endpoint)
        if endpoint in _NOT_OPERATIONS or operation is None or not operation.serves(version):
            continue
        path, arguments = _path(rule)
        for method in sorted(m.lower() for m in methods if m not in ("HEAD", "OPTIONS")):
            paths.setdefault(path, {})[method] = _operation(endpoint, operation, arguments,
                                                            method, version)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "nova_ws Compute API", "version": str(version),
                 "description": (
                     "OpenStack Compute API v2.1 as nova_ws serves it, at microversion "
                     f"{version} (this server supports {Version(*MIN_VERSION)} to "
                     f"{Version(*MAX_VERSION)}; ask for another with the "
                     "OpenStack-API-Version header). Authenticate with an Identity v3 "
                     "token in X-Auth-Token.")},
        "servers": [{"url": base_url}],
        "security": [{"token": []}],
        "components": {"securitySchemes": {"token": {"type": "apiKey", "in": "header",
                                                     "name": "X-Auth-Token"}},
                       "schemas": {"Fault": FAULT}},
        "paths": dict(sorted(paths.items())),
    }


def klein_routes(app: Any) -> list[tuple[str, str, list[str]]]:
    """The ``(endpoint, rule, methods)`` of every route of a Klein app."""
    return [(str(rule.endpoint), str(rule.rule), sorted(rule.methods or ()))
            for rule in app.url_map.iter_rules()]
