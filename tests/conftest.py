"""Settings for the whole suite.

Hypothesis runs without per-example deadlines: the suite runs on small
shared machines, where a slow example is load, not a failure. Speed is
measured in ``bench/``, never asserted here.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("nova_ws", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("nova_ws")
