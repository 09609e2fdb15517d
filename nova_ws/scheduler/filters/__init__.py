"""Host filters: each one answers "may this server run on this host?".

One filter per module, each behind :class:`~.interfaces.IHostFilter`;
:data:`~.registry.FILTERS` maps the names used in ``[filter_scheduler]
enabled_filters`` to their classes.
"""
