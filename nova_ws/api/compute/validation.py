"""Request validation: the body and query of every Compute request, before its handler.

:func:`check_request` runs once per request, after the microversion is
negotiated and the token is checked (as in Nova, where schema validation
comes before policy). It finds the request's :class:`~schemas.Operation`
by the route Klein matched, answers 404 when the route does not exist at
the negotiated microversion, and validates the query string and the JSON
body against the operation's schemas for that microversion. Every refusal
is a :class:`~nova_ws.api.errors.Fault` in Nova's format:

- 400 with Nova's messages: ``Invalid input for field/attribute name.
  Value: 5. 5 is not of type 'string'`` (bodies), ``Invalid input for
  query parameters limit. Value: x. ...`` (queries);
- 400 ``Malformed request body`` when the body is not JSON, or holds what
  JSON allows and no client means: ``NaN``, nesting deeper than
  :data:`MAX_DEPTH`, NUL characters or unpaired surrogates in strings;
- 413 ``overLimit`` for bodies over :data:`MAX_BODY` bytes (Nova's
  ``max_request_body_size``);
- 415 ``badMediaType`` for a body sent as something other than JSON.

The validator is JSON Schema 2020-12 with Nova's one extension: numbers may
come as numeric strings (``"min_count": "2"``), and ``minimum``,
``maximum`` and their exclusive forms then apply to their value.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import uuid as uuidlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from klein.interfaces import IKleinRequest

from nova_ws.api.compute import schemas
from nova_ws.api.compute.schemas import Operation, Query, Schema
from nova_ws.api.errors import BadRequest, Fault, NotFound
from nova_ws.api.microversions import Version

#: The largest body accepted, in bytes (Nova's ``max_request_body_size``).
MAX_BODY = 114688
#: The deepest nesting of arrays and objects accepted in a body.
MAX_DEPTH = 32
#: The media types a body may be sent as (none given is taken as JSON).
JSON_TYPES = frozenset({"application/json", "application/vnd.openstack.compute+json"})
#: Longest excerpt of a client's value quoted back in an error message.
QUOTE_LIMIT = 200

#: The attribute under which a request keeps its decoded body.
_BODY = "_nova_json_body"
#: The attribute under which a request keeps the project id its URL named.
URL_PROJECT = "nova_url_project_id"
_MISSING = object()


class TooLarge(Fault):
    """413: the body is over :data:`MAX_BODY`."""

    status = 413


class UnsupportedMediaType(Fault):
    """415: the body is not JSON."""

    status = 415


# -- formats ----------------------------------------------------------------------

FORMATS = FormatChecker(())


@FORMATS.checks("uuid")
def _uuid(value: object) -> bool:
    """A UUID, with or without dashes (as Nova's ``is_uuid_like``)."""
    if not isinstance(value, str):
        return True
    try:
        parsed = uuidlib.UUID(value)
    except ValueError:
        return False
    return parsed.hex == value.replace("-", "").lower()


@FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    """An ISO 8601 time that can be taken to UTC (``Z`` or an offset; none: UTC)."""
    if not isinstance(value, str):
        return True
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if when.tzinfo is not None:
            when.astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return True


@FORMATS.checks("regex")
def _regex(value: object) -> bool:
    """A regular expression Python compiles."""
    if not isinstance(value, str):
        return True
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


@FORMATS.checks("base64")
def _base64(value: object) -> bool:
    """Standard base64."""
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


@FORMATS.checks("ipv4")
def _ipv4(value: object) -> bool:
    """A dotted IPv4 address."""
    if not isinstance(value, str):
        return True
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


@FORMATS.checks("ipv6")
def _ipv6(value: object) -> bool:
    """An IPv6 address."""
    if not isinstance(value, str):
        return True
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


# -- the validator -------------------------------------------------------------------

def _number(value: Any) -> Any:
    """*value*, or the number a numeric string spells (other strings: None)."""
    if not isinstance(value, str):
        return value
    for kind in (int, float):
        try:
            number = kind(value)
        except (ValueError, OverflowError):
            continue
        return number if number == number else None  # NaN compares with nothing
    return None


def _numeric(keyword: str) -> Callable[..., Iterator[ValidationError]]:
    """Nova's bound check: numeric strings are compared by their value too."""
    original = Draft202012Validator.VALIDATORS[keyword]

    def check(validator: Any, bound: Any, instance: Any, schema: Schema
              ) -> Iterator[ValidationError]:
        if isinstance(instance, bool):
            return
        number = _number(instance)
        if number is None or not validator.is_type(number, "number"):
            return
        yield from original(validator, bound, number, schema)

    return check


_NovaValidator = validators.extend(Draft202012Validator, {
    keyword: _numeric(keyword)
    for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")})
_validators: dict[int, tuple[object, Validator]] = {}


def validator_for(schema: Schema | Query) -> Validator:
    """The (cached) validator of a body schema or a query."""
    cached = _validators.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    document = schema.json_schema() if isinstance(schema, Query) else schema
    made: Validator = _NovaValidator(document, format_checker=FORMATS)
    _validators[id(schema)] = (schema, made)  # keeps *schema* alive, so its id stays its own
    return made


def _quote(value: Any) -> str:
    text = str(value)
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "..."


def _first_error(validator: Validator, instance: Any) -> ValidationError | None:
    try:
        return best_match(validator.iter_errors(instance))
    except RecursionError:  # only a pathological schema/instance pair could get here
        return ValidationError("The request is nested too deeply.")


def check_body(schema: Schema, body: Any) -> None:
    """400 in Nova's words unless *body* is valid under *schema*."""
    error = _first_error(validator_for(schema), body)
    if error is None:
        return
    if error.absolute_path:
        raise BadRequest(f"Invalid input for field/attribute {error.absolute_path[-1]}. "
                         f"Value: {_quote(error.instance)}. {_quote(error.message)}")
    raise BadRequest(_quote(error.message))


def check_query(query: Query, args: Mapping[str, list[str]]) -> None:
    """400 in Nova's words unless every parameter's values are valid under *query*."""
    for name, values in args.items():
        if any("\x00" in value for value in (name, *values)):
            raise BadRequest(f"Invalid input for query parameters {_quote(name)}. "
                             "NUL characters are not allowed.")
    error = _first_error(validator_for(query), dict(args))
    if error is None:
        return
    if error.absolute_path:
        raise BadRequest(f"Invalid input for query parameters {error.absolute_path[0]}. "
                         f"Value: {_quote(error.instance)}. {_quote(error.message)}")
    raise BadRequest(_quote(error.message))


# -- the body ---------------------------------------------------------------------------

def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _check_tree(body: Any) -> None:
    """Refuse nesting over :data:`MAX_DEPTH` and strings no database can keep."""
    pending: list[tuple[Any, int]] = [(body, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise BadRequest(f"Malformed request body: nested deeper than {MAX_DEPTH} "
                                 "levels")
            if isinstance(item, dict):
                for key in item:
                    _check_text(key)
                pending.extend((value, depth + 1) for value in item.values())
            else:
                pending.extend((value, depth + 1) for value in item)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise BadRequest("Malformed request body: NUL characters are not allowed")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("Malformed request body: unpaired surrogate in a string") from None


def decode(raw: bytes) -> Any:
    """The JSON document *raw* holds; 400 ``Malformed request body`` otherwise."""
    if not raw.strip():
        return None
    try:
        body = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise BadRequest("Malformed request body") from None
    _check_tree(body)
    return body


def _media_type(request: Any) -> str | None:
    value = request.getHeader(b"Content-Type")
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return text.split(";", 1)[0].strip().lower() or None


def _declared_length(request: Any) -> int | None:
    value = request.getHeader(b"Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def read_body(request: Any) -> Any:
    """The request's JSON body (None when empty), decoded once and kept on the request.

    413 over :data:`MAX_BODY` bytes, 415 when sent as another media type,
    400 when it is not JSON a client could mean.
    """
    kept = getattr(request, _BODY, _MISSING)
    if kept is not _MISSING:
        return kept
    declared = _declared_length(request)
    if declared is not None and declared > MAX_BODY:
        raise TooLarge("Request is too large.")
    content = request.content
    raw = b""
    if content is not None:
        content.seek(0)
        raw = content.read(MAX_BODY + 1)
        content.seek(0)
    if len(raw) > MAX_BODY:
        raise TooLarge("Request is too large.")
    body = None
    if raw.strip():
        media_type = _media_type(request)
        if media_type is not None and media_type not in JSON_TYPES \
                and not media_type.endswith("+json"):
            raise UnsupportedMediaType(f"Unsupported Content-Type: {_quote(media_type)}")
        body = decode(raw)
    setattr(request, _BODY, body)
    return body


# -- the whole request ------------------------------------------------------------------

def route(request: Any) -> tuple[str, dict[str, Any]] | None:
    """The endpoint name and path arguments of the route Klein matched, if any."""
    try:
        rule, kwargs = IKleinRequest(request).mapper.match(return_rule=True)
    except Exception:  # noqa: BLE001 - no mapper (not routed by Klein) or no match
        return None
    return str(rule.endpoint), dict(kwargs)


def query_args(request: Any) -> dict[str, list[str]]:
    """The query string as ``{name: [values]}`` (bytes decoded as UTF-8, leniently)."""
    return {k.decode("utf-8", "replace"): [v.decode("utf-8", "replace") for v in vs]
            for k, vs in (request.args or {}).items()}


def check_action(operation: Operation, body: Any, version: Version) -> None:
    """A server action's body: one key, a known action, valid under that action's schema."""
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body: an action body is an object with one "
                         "key, the action's name")
    name = next(iter(body))
    action = (operation.dispatch or {}).get(name)
    schema = action.at(version) if action is not None else None
    if schema is None:
        raise BadRequest(f"There is no such action: {_quote(name)}")
    check_body(schema, body)


def check_request(request: Any, version: Version, project_id: str,
                  operations: Mapping[str, Operation] = schemas.OPERATIONS) -> None:
    """Validate the request for the token's *project_id* at *version*, or raise a Fault."""
    url_project = getattr(request, URL_PROJECT, None)
    if url_project is not None and url_project != project_id:
        raise BadRequest(f"Malformed request URL: URL's project_id '{_quote(url_project)}' "
                         f"doesn't match Context's project_id '{project_id}'")
    matched = route(request)
    if matched is None:
        return
    endpoint, kwargs = matched
    operation = operations.get(endpoint)
    if operation is None:
        return
    if not operation.serves(version) \
            or any("\x00" in str(value) for value in kwargs.values()):
        raise NotFound("The resource could not be found.")
    query = operation.query_at(version)
    if query is not None:
        check_query(query, query_args(request))
    if operation.dispatch is not None:
        check_action(operation, read_body(request), version)
        return
    schema = operation.body_at(version)
    if schema is not None:
        check_body(schema, read_body(request))
