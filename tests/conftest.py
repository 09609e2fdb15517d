"""Settings for the whole suite.

Hypothesis runs without per-example deadlines: the suite runs on small
shared machines, where a slow example is load, not a failure. Speed is
measured in ``bench/``, never asserted here. With ``CI`` set (``.ci/run``
sets it) Hypothesis draws the same examples every run, so CI is
reproducible; elsewhere it explores new ones each time.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("nova_ws", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("nova_ws"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "nova_ws")
