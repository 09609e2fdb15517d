"""
Tests for L{nova_ws.db.queries.images} on every backend.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from nova_ws.db.errors import Ambiguous, Conflict, NotFound
from nova_ws.db.queries import images
from tests.db.conftest import NOW

UUID = "22222222-2222-2222-2222-222222222222"


def test_create_and_get(session: Session) -> None:
    """
    When an image is added, it reads back by uuid and by name, with its properties.
    """
    created = images.create_image(
        session, name="cirros", uuid=UUID, disk_format="qcow2", container_format="bare",
        min_ram=64, min_disk=1, size=2**33, checksum="abc", owner="p1",
        properties={"hw_disk_bus": "virtio", "os_distro": "cirros"}, now=NOW,
    )
    assert (created.uuid, created.name, created.status) == (UUID, "cirros", "active")
    assert (created.min_ram, created.min_disk, created.size) == (64, 1, 2**33)
    assert (created.visibility, created.owner, created.protected) == ("public", "p1", False)
    assert created.properties == {"hw_disk_bus": "virtio", "os_distro": "cirros"}
    assert images.get_image(session, UUID) == created
    assert images.get_image(session, "cirros") == created


def test_get_errors(session: Session) -> None:
    """
    When no image matches, NotFound; when a name is shared, Ambiguous.
    """
    with pytest.raises(NotFound):
        images.get_image(session, "cirros")
    images.create_image(session, name="cirros")
    images.create_image(session, name="cirros")
    with pytest.raises(Ambiguous):
        images.get_image(session, "cirros")


def test_list(session: Session) -> None:
    """
    When images are listed, they come by name, and visibility rules what a project sees.
    """
    images.create_image(session, name="b-public")
    images.create_image(session, name="a-mine", visibility="private", owner="p1")
    images.create_image(session, name="c-theirs", visibility="private", owner="p2")
    images.create_image(session, name="d-community", visibility="community", owner="p2")
    images.create_image(session, name=None, status="queued")
    assert [i.name for i in images.list_images(session)] == [
        "a-mine", "b-public", "c-theirs", "d-community", None]
    assert [i.name for i in images.list_images(session, visible_to="p1")] == [
        "a-mine", "b-public", "d-community", None]
    assert [i.name for i in images.list_images(session, visible_to="p2")] == [
        "b-public", "c-theirs", "d-community", None]
    assert [i.name for i in images.list_images(session, owner="p2")] == [
        "c-theirs", "d-community"]
    assert [i.status for i in images.list_images(session, status="queued")] == ["queued"]
    assert [i.name for i in images.list_images(session, visibility="private")] == [
        "a-mine", "c-theirs"]
    assert [i.name for i in images.list_images(session, name="b-public")] == ["b-public"]


def test_update(session: Session) -> None:
    """
    When an image is updated, fields and properties change as asked.
    """
    images.create_image(session, name="x", uuid=UUID, status="queued", properties={"a": "1"})
    updated = images.update_image(session, UUID, status="active", size=10,
                                  properties={"a": None, "b": "2"}, now=NOW)
    assert (updated.status, updated.size, updated.updated_at) == ("active", 10, NOW)
    assert updated.properties == {"b": "2"}
    with pytest.raises(ValueError):
        images.update_image(session, UUID, uuid="other")
    with pytest.raises(ValueError):
        images.update_image(session, UUID, visibility="everyone")
    with pytest.raises(NotFound):
        images.update_image(session, "nope", status="active")


def test_delete(session: Session) -> None:
    """
    When an image is deleted it is gone, unless it is protected.
    """
    images.create_image(session, name="x", uuid=UUID, protected=True, properties={"a": "1"})
    with pytest.raises(Conflict):
        images.delete_image(session, UUID)
    images.update_image(session, UUID, protected=False)
    images.delete_image(session, UUID)
    with pytest.raises(NotFound):
        images.get_image(session, UUID)
    with pytest.raises(NotFound):
        images.delete_image(session, UUID)


def test_bad_visibility(session: Session) -> None:
    """
    When an image is created with an unknown visibility, ValueError.
    """
    with pytest.raises(ValueError):
        images.create_image(session, name="x", visibility="everyone")
