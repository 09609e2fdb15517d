"""The Image API v2 subset that clients need to resolve ``--image NAME``."""

from nova_ws.api.image.app import ImageApi

__all__ = ["ImageApi"]
