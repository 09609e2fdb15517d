"""
EC2 ids of instances (C{i-...}) and images (C{ami-...}): derived from uuids.

An EC2 id is its prefix and the first 17 hex digits of the resource's uuid
(C{i-0f1e2d3c4b5a69788} for C{0f1e2d3c-4b5a-6978-...}), the length of
today's EC2 ids. The derivation is deterministic, so:

  - it needs no mapping table, no write when an id is first shown, and is
    the same on every API server and after a database moves;
  - it reveals nothing of other projects (Nova's old C{i-%08x} of the row id
    told anyone how many instances the cloud had made);
  - it is reversible through the database: the instance whose uuid starts
    with C{0f1e2d3c-4b5a-6978-8} (C{LIKE} on the unique uuid column).

Two uuids share their first 17 hex digits with a chance of about one in
2**64 per pair (a uuid4's 13th digit is always 4); should it happen, a
lookup finds both and the id names both.
"""

from __future__ import annotations

import hashlib
import re
import uuid as uuidlib

from nova_ws.api.ec2.errors import Ec2Error

DIGITS = 17
INSTANCE, IMAGE, RESERVATION = "i", "ami", "r"
_ID = re.compile(r"^(i|ami|r)-([0-9a-f]{17})$")


def _hex(value: str) -> str:
    try:
        return uuidlib.UUID(value).hex
    except ValueError:  # an image registered with an id that is not a uuid
        return hashlib.sha256(value.encode("utf-8")).hexdigest()


def ec2_id(kind: str, uuid: str) -> str:
    """The EC2 id of a resource of C{kind} (C{i}, C{ami}, C{r}) with that uuid."""
    return f"{kind}-{_hex(uuid)[:DIGITS]}"


def instance_id(uuid: str) -> str:
    """An instance's EC2 id."""
    return ec2_id(INSTANCE, uuid)


def image_id(uuid: str) -> str:
    """An image's EC2 id."""
    return ec2_id(IMAGE, uuid)


def uuid_prefix(value: str, kind: str = INSTANCE) -> str:
    """
    The uuid prefix (with its dashes) that an EC2 id of C{kind} stands for.

    @raise Ec2Error: C{InvalidInstanceID.Malformed} (C{InvalidAMIID.Malformed}).
    """
    found = _ID.match(value.strip().lower())
    if found is None or found.group(1) != kind:
        code = "InvalidAMIID.Malformed" if kind == IMAGE else "InvalidInstanceID.Malformed"
        what = "image" if kind == IMAGE else "instance"
        raise Ec2Error(code, f"Invalid id: '{value}' (expecting '{kind}-' and {DIGITS} "
                       f"hexadecimal digits for an {what} id)")
    digits = found.group(2)
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:]}"
