"""
Tests for the C{ClientToken} claims of L{nova_ws.db.queries.ec2} on every backend.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nova_ws.db.errors import Conflict
from nova_ws.db.queries import ec2


def test_a_token_is_claimed_once_per_project(engine: Engine) -> None:
    """
    When a project claims a token twice, Conflict (the first claim stands);
    another project's claim of the same token is its own; settling records
    the reservation, settling with none releases the token.
    """
    with Session(engine) as session:
        ec2.claim_client_token(session, "p1", "tok", "d1")
        session.commit()
        with pytest.raises(Conflict):
            ec2.claim_client_token(session, "p1", "tok", "d2")
        session.rollback()
        ec2.claim_client_token(session, "p2", "tok", "d2")
        session.commit()
        claimed = ec2.get_client_token(session, "p1", "tok")
        assert claimed is not None
        assert (claimed.request_digest, claimed.reservation_id) == ("d1", None)
        ec2.settle_client_token(session, "p1", "tok", "r-0001")
        session.commit()
        settled = ec2.get_client_token(session, "p1", "tok")
        assert settled is not None and settled.reservation_id == "r-0001"
        ec2.settle_client_token(session, "p2", "tok", None)
        session.commit()
        assert ec2.get_client_token(session, "p2", "tok") is None
        assert ec2.get_client_token(session, "p1", "TOK") is None  # tokens are case-sensitive
