"""
Alembic's environment for nova_ws: migrations run on the engine that
L{nova_ws.db.migrate.alembic_config} put in C{config.attributes["engine"]},
or offline (SQL printed) for the URL in C{sqlalchemy.url}.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from nova_ws.db.models import Base

config = context.config


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration copies and drops tables: with foreign keys
            # on, dropping a parent would cascade into its children.
            _sqlite_foreign_keys(connection, "OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
            )
            with context.begin_transaction():
                context.run_migrations()
            if connection.in_transaction():
                connection.commit()
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, "ON")


def _sqlite_foreign_keys(connection: Connection, state: str) -> None:
    """
    Set SQLite's foreign_keys pragma outside any transaction (inside one it
    is ignored), on the DBAPI connection itself.
    """
    driver_connection: Any = connection.connection.driver_connection
    driver_connection.execute(f"PRAGMA foreign_keys={state}")


if context.is_offline_mode():
    run_offline()
else:
    run_online()
