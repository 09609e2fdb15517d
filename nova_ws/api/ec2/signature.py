"""
AWS Signature Version 4, verified: the C{Authorization} header form and the
presigned query form (C{X-Amz-Signature} in the query string).

The server rebuilds the canonical request from what it received (method,
path, query, the signed headers and the SHA-256 of the body), the string to
sign from it and the credential scope, and the HMAC-SHA256 signature with
the key derived from the EC2 secret; the client's signature must match, and
the request's time must be within 15 minutes of the server's (or, presigned,
within its C{X-Amz-Expires}).

Pure logic: nothing here touches Twisted or the database. Every refusal is
an L{Ec2Error} with EC2's code (C{MissingAuthenticationToken},
C{IncompleteSignature}, C{AuthFailure}, C{RequestExpired},
C{SignatureDoesNotMatch}).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from nova_ws.api.ec2.errors import Ec2Error

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "ec2"
TERMINATOR = "aws4_request"
MAX_SKEW = timedelta(minutes=15)
MAX_EXPIRES = 7 * 24 * 3600
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_UNRESERVED = "-_.~"
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
_SHORT_DATE = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class HttpRequest:
    """
    What the signature covers, as received: the path and query string raw
    (still percent-encoded), header names in lower case (repeated headers'
    values joined with commas), and the body.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Credential:
    """The parsed signature: who claims to sign, for which scope, and what."""

    access: str
    date: str  # YYYYMMDD of the scope
    region: str
    service: str
    timestamp: str  # the X-Amz-Date
    signed_headers: tuple[str, ...]
    signature: str
    presigned: bool

    @property
    def scope(self) -> str:
        """The credential scope: C{date/region/service/aws4_request}."""
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


def _incomplete(message: str) -> Ec2Error:
    return Ec2Error("IncompleteSignature", message, 400)


def _mismatch(message: str) -> Ec2Error:
    return Ec2Error("SignatureDoesNotMatch", message, 403)


def query_pairs(query: str) -> list[tuple[str, str]]:
    """
    The percent-decoded C{(name, value)} pairs of a raw query string, in
    order (a C{+} stays a C{+}, as SigV4 canonicalizes it).
    """
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


def parse(request: HttpRequest) -> Credential:
    """
    The signature a request carries (header or presigned query form).

    @raise Ec2Error: none (C{MissingAuthenticationToken}), another scheme
        (C{AuthFailure}) or a malformed one (C{IncompleteSignature}).
    """
    header = request.headers.get("authorization", "").strip()
    query = dict(query_pairs(request.query))
    if header:
        scheme, _, rest = header.partition(" ")
        if scheme != ALGORITHM:
            raise Ec2Error("AuthFailure", f"Unsupported authorization scheme {scheme!r}: "
                           f"only {ALGORITHM} (Signature Version 4) is accepted.", 401)
        fields = {}
        for item in rest.split(","):
            name, sep, value = item.strip().partition("=")
            if sep:
                fields[name] = value
        missing = [n for n in ("Credential", "SignedHeaders", "Signature") if n not in fields]
        if missing:
            raise _incomplete(f"Authorization header requires {', '.join(missing)}.")
        timestamp = request.headers.get("x-amz-date", "").strip()
        if not timestamp:
            raise _incomplete("Authorization header requires existence of a 'X-Amz-Date' "
                              "header.")
        return _credential(fields["Credential"], fields["SignedHeaders"],
                           fields["Signature"], timestamp, presigned=False)
    if "X-Amz-Algorithm" in query or "X-Amz-Signature" in query:
        if query.get("X-Amz-Algorithm") != ALGORITHM:
            raise Ec2Error("AuthFailure", f"Only {ALGORITHM} (Signature Version 4) is "
                           "accepted.", 401)
        missing = [n for n in ("X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature",
                               "X-Amz-Date") if not query.get(n)]
        if missing:
            raise _incomplete(f"The query string requires {', '.join(missing)}.")
        return _credential(query["X-Amz-Credential"], query["X-Amz-SignedHeaders"],
                           query["X-Amz-Signature"], query["X-Amz-Date"], presigned=True)
    if "Signature" in query or "AWSAccessKeyId" in query:
        raise Ec2Error("AuthFailure", "Signature Version 2 is not accepted: sign requests "
                       "with Signature Version 4.", 401)
    raise Ec2Error("MissingAuthenticationToken", "The request must contain a valid access key "
                   "and a Signature Version 4 signature.", 401)


def _credential(credential: str, signed_headers: str, signature: str, timestamp: str, *,
                presigned: bool) -> Credential:
    parts = credential.rsplit("/", 4)
    if len(parts) != 5 or not parts[0]:
        raise _incomplete(f"Credential is malformed: expected "
                          f"'<access>/<YYYYMMDD>/<region>/{SERVICE}/{TERMINATOR}', got "
                          f"{credential!r}.")
    access, date, region, service, terminator = parts
    if not _SHORT_DATE.match(date) or not region:
        raise _incomplete(f"Credential is malformed: {credential!r}.")
    if terminator != TERMINATOR:
        raise _mismatch(f"Credential should be scoped with a valid terminator: "
                        f"'{TERMINATOR}', not '{terminator}'.")
    if service != SERVICE:
        raise _mismatch(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if timestamp[:8] != date:
        raise _mismatch("Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                        "version of date from HTTP.")
    names = tuple(signed_headers.split(";"))
    if not all(names) or list(names) != sorted(set(n.lower() for n in names)):
        raise _incomplete("SignedHeaders must be lower-case names, sorted, separated by ';'.")
    if "host" not in names:
        raise _incomplete("'Host' must be a signed header.")
    if not _SIGNATURE.match(signature):
        raise _incomplete("Signature must be 64 lower-case hexadecimal digits.")
    return Credential(access, date, region, service, timestamp, names, signature, presigned)


def check_time(credential: Credential, query: Mapping[str, str], now: datetime) -> None:
    """
    The request is not stale: within 15 minutes of C{now}, or presigned and
    not yet expired.

    @raise Ec2Error: C{RequestExpired}, or C{IncompleteSignature} for an
        unreadable date or expiry.
    """
    try:
        when = datetime.strptime(credential.timestamp, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise _incomplete(f"X-Amz-Date must be {DATE_FORMAT}, not "
                          f"{credential.timestamp!r}.") from None
    if when - now > MAX_SKEW:
        raise Ec2Error("RequestExpired", "Request is not yet valid: its date is more than "
                       "15 minutes ahead of the server's clock.", 400)
    if credential.presigned:
        expires = query.get("X-Amz-Expires", "")
        if not expires.isdigit() or not 1 <= int(expires) <= MAX_EXPIRES:
            raise _incomplete(f"X-Amz-Expires must be a number of seconds from 1 to "
                              f"{MAX_EXPIRES}.")
        if now > when + timedelta(seconds=int(expires)):
            raise Ec2Error("RequestExpired", "Request has expired.", 400)
    elif now - when > MAX_SKEW:
        raise Ec2Error("RequestExpired", "Request has expired: its date is more than "
                       "15 minutes behind the server's clock.", 400)


def canonical_uri(path: str) -> str:
    """The path without empty, C{.} and C{..} segments, URI-encoded once more."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return quote("/" + "/".join(segments) + trailing, safe="/~")


def canonical_query(query: str, *, presigned: bool) -> str:
    """Every parameter but the signature, each encoded as SigV4 wants, sorted."""
    pairs = sorted((quote(name, safe=_UNRESERVED), quote(value, safe=_UNRESERVED))
                   for name, value in query_pairs(query)
                   if not (presigned and name == "X-Amz-Signature"))
    return "&".join(f"{name}={value}" for name, value in pairs)


def payload_hash(request: HttpRequest) -> str:
    """
    The hex SHA-256 of the body; a C{X-Amz-Content-SHA256} header must
    agree with it (the body carries the parameters, so it is always signed).
    """
    digest = hashlib.sha256(request.body).hexdigest()
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed is not None and claimed.strip() != digest:
        raise _mismatch("The X-Amz-Content-SHA256 header does not match the request body.")
    return digest


def canonical_request(request: HttpRequest, credential: Credential) -> str:
    """SigV4's canonical request."""
    headers = []
    for name in credential.signed_headers:
        value = request.headers.get(name)
        if value is None:
            raise _mismatch(f"The signed header {name!r} is not in the request.")
        headers.append(f"{name}:{' '.join(value.split())}\n")
    return "\n".join([
        request.method.upper(),
        canonical_uri(request.path),
        canonical_query(request.query, presigned=credential.presigned),
        "".join(headers),
        ";".join(credential.signed_headers),
        payload_hash(request),
    ])


def string_to_sign(request: HttpRequest, credential: Credential) -> str:
    """SigV4's string to sign."""
    digest = hashlib.sha256(canonical_request(request, credential).encode("utf-8")).hexdigest()
    return "\n".join([ALGORITHM, credential.timestamp, credential.scope, digest])


def signing_key(secret: str, credential: Credential) -> bytes:
    """The key derived from the secret for the credential's scope."""
    key = ("AWS4" + secret).encode("utf-8")
    for part in (credential.date, credential.region, credential.service, TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def signature(request: HttpRequest, credential: Credential, secret: str) -> str:
    """The signature the request should carry for C{secret}."""
    return hmac.new(signing_key(secret, credential),
                    string_to_sign(request, credential).encode("utf-8"),
                    hashlib.sha256).hexdigest()


def verify(request: HttpRequest, credential: Credential, secret: str) -> None:
    """
    @raise Ec2Error: C{SignatureDoesNotMatch} unless the request is signed
        with C{secret} (compared in constant time).
    """
    expected = signature(request, credential, secret)
    if not hmac.compare_digest(expected, credential.signature):
        raise _mismatch("The request signature we calculated does not match the signature "
                        "you provided. Check your AWS Secret Access Key and signing method.")
