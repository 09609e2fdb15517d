"""Host weighers: each one scores the hosts that passed the filters.

One weigher per module, each behind :class:`~.interfaces.IHostWeigher`;
:data:`~.registry.WEIGHERS` maps their names to their classes and to the
``[filter_scheduler]`` option holding their multiplier.
"""
