"""
The database: SQLAlchemy 2 models, Alembic migrations, query functions.

  - L{nova_ws.db.engine}: C{create_engine_from_config} turns C{[database]} into
    an C{Engine}; L{Database} runs query functions in its own thread pool and
    is the only way code on the reactor touches the database.
  - L{nova_ws.db.models}: the tables, one module per topic.
  - L{nova_ws.db.queries}: plain synchronous functions that take a
    C{Session} and return frozen dataclasses, one module per topic.
  - L{nova_ws.db.migrate}: run the Alembic migrations in
    C{nova_ws/db/migrations/} (C{nova-ws db sync}).
"""
