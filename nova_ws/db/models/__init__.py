"""
Every nova_ws table. Importing this package registers them all on
C{Base.metadata}, which the migrations and their tests compare against.
"""

from nova_ws.db.models import identity  # noqa: F401  (registers the Identity tables)
from nova_ws.db.models.actions import InstanceAction, InstanceActionEvent
from nova_ws.db.models.aggregates import Aggregate, AggregateHost, AggregateMetadata
from nova_ws.db.models.auth import Certificate, ConsoleAuthToken, Keypair
from nova_ws.db.models.base import Base, JSONText, UTCDateTime, utcnow
from nova_ws.db.models.ec2 import Ec2ClientToken
from nova_ws.db.models.flavors import Flavor, FlavorExtraSpec
from nova_ws.db.models.images import Image, ImageProperty
from nova_ws.db.models.instances import Instance, InstanceMetadata
from nova_ws.db.models.quotas import Quota
from nova_ws.db.models.server_groups import ServerGroup, ServerGroupMember
from nova_ws.db.models.services import ComputeNode, Service

__all__ = [
    "Aggregate",
    "AggregateHost",
    "AggregateMetadata",
    "Base",
    "Certificate",
    "ComputeNode",
    "ConsoleAuthToken",
    "Ec2ClientToken",
    "Flavor",
    "FlavorExtraSpec",
    "Image",
    "ImageProperty",
    "Instance",
    "InstanceAction",
    "InstanceActionEvent",
    "InstanceMetadata",
    "JSONText",
    "Keypair",
    "Quota",
    "ServerGroup",
    "ServerGroupMember",
    "Service",
    "UTCDateTime",
    "utcnow",
]
