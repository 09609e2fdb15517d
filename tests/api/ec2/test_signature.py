"""
Signature Version 4 verification against botocore's own signers: what
botocore signs verifies, and any change to what was signed does not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import urlencode, urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.api.ec2 import signature
from nova_ws.api.ec2.errors import Ec2Error

ACCESS, SECRET = "0123456789abcdef0123456789abcdef", "s3cr3t" * 8
URL = "http://cloud.example:8774/ec2"


def _http(prepared: AWSRequest) -> signature.HttpRequest:
    """The request as the server receives it (what botocore would send)."""
    parts = urlsplit(prepared.url)
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers.setdefault("host", parts.netloc)
    body = prepared.body or b""
    return signature.HttpRequest(prepared.method, parts.path or "/", parts.query, headers,
                                 body if isinstance(body, bytes) else body.encode())


def signed(params: dict[str, str], *, secret: str = SECRET, url: str = URL,
           method: str = "POST", presign: bool = False) -> signature.HttpRequest:
    """A request signed by botocore, as EC2 clients sign them."""
    body = urlencode(params) if method == "POST" else None
    target = url if method == "POST" else f"{url}?{urlencode(params)}"
    request = AWSRequest(method=method, url=target, data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"} if body else {})
    credentials = Credentials(ACCESS, secret)
    auth = (SigV4QueryAuth(credentials, "ec2", "RegionOne", expires=300) if presign
            else SigV4Auth(credentials, "ec2", "RegionOne"))
    auth.add_auth(request)
    return _http(request.prepare())


def verify(http: signature.HttpRequest, *, secret: str = SECRET,
           now: datetime | None = None) -> signature.Credential:
    """Parse, check the time and verify, as the API does."""
    credential = signature.parse(http)
    signature.check_time(credential, dict(signature.query_pairs(http.query)),
                         now or datetime.now(UTC))
    signature.verify(http, credential, secret)
    return credential


def _code(call: Callable[[], object]) -> str:
    with pytest.raises(Ec2Error) as info:
        call()
    return info.value.code


def test_header_signature_verifies() -> None:
    """When botocore signs a form POST, the signature verifies and names the access key."""
    credential = verify(signed({"Action": "DescribeInstances", "InstanceId.1": "i-1"}))
    assert (credential.access, credential.region, credential.service) == (
        ACCESS, "RegionOne", "ec2")
    assert "host" in credential.signed_headers and not credential.presigned


def test_presigned_get_verifies() -> None:
    """When botocore presigns a GET, the query-string signature verifies."""
    http = signed({"Action": "DescribeImages", "Owner.1": "self"}, method="GET",
                  presign=True)
    assert verify(http).presigned


@given(st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=30), max_size=6),
       st.sampled_from(["/ec2", "/ec2/", "/", "/ec2/./a/../b", "/ec2//x y"]),
       st.booleans())
def test_any_parameters_and_path_verify(params: dict[str, str], path: str, get: bool) -> None:
    """Whatever the parameters (any Unicode) and path, botocore's signature verifies."""
    http = signed({"Action": "DescribeInstances", **params},
                  url="http://cloud.example:8774" + path.replace(" ", "%20"),
                  method="GET" if get else "POST", presign=get)
    verify(http)


def test_changes_break_the_signature() -> None:
    """When the secret, body, a signed header or the query changes, it is SignatureDoesNotMatch."""
    http = signed({"Action": "RunInstances", "MaxCount": "1"})
    assert _code(lambda: verify(http, secret="other")) == "SignatureDoesNotMatch"
    body = signature.HttpRequest(http.method, http.path, http.query, http.headers,
                                 http.body.replace(b"MaxCount=1", b"MaxCount=9"))
    assert _code(lambda: verify(body)) == "SignatureDoesNotMatch"
    host = {**http.headers, "host": "evil.example:8774"}
    assert _code(lambda: verify(signature.HttpRequest(
        http.method, http.path, http.query, host, http.body))) == "SignatureDoesNotMatch"
    query = signature.HttpRequest(http.method, http.path, "Action=TerminateInstances",
                                  http.headers, http.body)
    assert _code(lambda: verify(query)) == "SignatureDoesNotMatch"
    claimed = {**http.headers, "x-amz-content-sha256": "0" * 64}
    assert _code(lambda: verify(signature.HttpRequest(
        http.method, http.path, http.query, claimed, http.body))) == "SignatureDoesNotMatch"
    get = signed({"Action": "DescribeImages"}, method="GET", presign=True)
    tampered = signature.HttpRequest(get.method, get.path,
                                     get.query.replace("DescribeImages", "DescribeInstances"),
                                     get.headers, get.body)
    assert _code(lambda: verify(tampered)) == "SignatureDoesNotMatch"


def test_stale_requests_are_refused() -> None:
    """When a request is over 15 minutes old or early, or presigned and expired: RequestExpired."""
    http = signed({"Action": "DescribeInstances"})
    now = datetime.now(UTC)
    assert _code(lambda: verify(http, now=now + timedelta(minutes=16))) == "RequestExpired"
    assert _code(lambda: verify(http, now=now - timedelta(minutes=16))) == "RequestExpired"
    verify(http, now=now + timedelta(minutes=10))
    get = signed({"Action": "DescribeInstances"}, method="GET", presign=True)
    verify(get, now=now + timedelta(seconds=200))
    assert _code(lambda: verify(get, now=now + timedelta(seconds=400))) == "RequestExpired"


def test_missing_or_malformed_signatures() -> None:
    """When a request is unsigned, SigV2 or malformed, the code says which."""
    def bare(headers: dict[str, str], query: str = "") -> signature.HttpRequest:
        return signature.HttpRequest("POST", "/ec2", query, {"host": "h", **headers}, b"")
    assert _code(lambda: signature.parse(bare({}))) == "MissingAuthenticationToken"
    assert _code(lambda: signature.parse(bare(
        {}, "AWSAccessKeyId=a&SignatureVersion=2&Signature=x"))) == "AuthFailure"
    assert _code(lambda: signature.parse(bare({"authorization": "AWS a:b"}))) == "AuthFailure"
    good = signed({"Action": "DescribeInstances"})
    auth = good.headers["authorization"]
    cases = {
        auth.replace("SignedHeaders=", "Headers="): "IncompleteSignature",
        auth.replace("/ec2/", "/s3/"): "SignatureDoesNotMatch",
        auth.replace("aws4_request", "aws5_request"): "SignatureDoesNotMatch",
        auth.replace("host;", ""): "IncompleteSignature",
        auth.replace(f"{ACCESS}/", ""): "IncompleteSignature",
        auth[:-4]: "IncompleteSignature",
    }
    for value, code in cases.items():
        http = signature.HttpRequest("POST", "/ec2", "", {**good.headers,
                                                         "authorization": value}, good.body)
        assert _code(partial(signature.parse, http)) == code, value
    no_date = {k: v for k, v in good.headers.items() if k != "x-amz-date"}
    assert _code(lambda: signature.parse(signature.HttpRequest(
        "POST", "/ec2", "", no_date, good.body))) == "IncompleteSignature"
    wrong_day = {**good.headers, "x-amz-date": "20000101T000000Z"}
    assert _code(lambda: signature.parse(signature.HttpRequest(
        "POST", "/ec2", "", wrong_day, good.body))) == "SignatureDoesNotMatch"
