"""The contract between the scheduler and its host weighers.

A weigher gives each candidate host a raw score; the scheduler
(:func:`nova_ws.scheduler.select.weigh_hosts`) then does what Nova does:
for each weigher it scales the raw scores of all candidates to 0..1
(min-max; all 0 when they are equal), multiplies them by the weigher's
multiplier, and adds up the results per host. The host with the highest
total is the best. A positive multiplier prefers hosts with a higher raw
score, a negative one hosts with a lower raw score, and 0 turns the
weigher off.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface

from nova_ws.scheduler.request import HostState, RequestSpec


class IHostWeigher(Interface):
    """Scores one host for one server."""

    name = Attribute("The weigher's name, e.g. 'RAMWeigher' (str).")
    multiplier = Attribute(
        "What the weigher's normalised score is multiplied by (float), "
        "from its [filter_scheduler] option."
    )

    def weigh(host: HostState, spec: RequestSpec) -> float:
        """The host's raw score for this server: higher is better before
        the multiplier is applied.

        Depends only on the two arguments and changes neither. Must not
        raise; a weigher with nothing to say about the request returns the
        same score for every host (0.0 by convention).
        """
