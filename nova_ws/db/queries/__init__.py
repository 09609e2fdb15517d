"""
Plain synchronous query functions, one module per topic.

Every function takes a SQLAlchemy C{Session} first and returns frozen
dataclasses, plain values or C{None}, never ORM objects, so results can
leave the session and the thread. They neither commit nor roll back: the
caller's transaction does (L{nova_ws.db.engine.Database.run}). Functions
that write take C{now} (timezone-aware UTC; default: the current time) so
callers and tests can pass their own clock.

Errors: L{nova_ws.db.errors.NotFound} when a named row does not exist,
L{nova_ws.db.errors.Conflict} when a write breaks a unique key.
"""
