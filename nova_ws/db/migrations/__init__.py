"""
Alembic migrations for the nova_ws database: C{env.py} and C{versions/}.
Run them with L{nova_ws.db.migrate} or C{nova-ws db sync}.
"""
