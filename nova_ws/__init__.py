"""
nova_ws: a compact compute cloud in the shape of OpenStack Nova, on Twisted and WAMP.
"""

__version__ = "0.1.0"
