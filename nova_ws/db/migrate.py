"""
Run the Alembic migrations shipped in C{nova_ws/db/migrations/}.

No C{alembic.ini} is needed: L{alembic_config} builds the configuration in
code. To draft a new revision in a checkout, against a scratch database::

    .venv/bin/python -c "from nova_ws.db import migrate; \\
        migrate.revision('add something', 'sqlite:////tmp/scratch.sqlite')"
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

SCRIPT_LOCATION = "nova_ws.db:migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """
    An Alembic C{Config} for nova_ws's migrations; with C{engine}, they run
    against it (L{nova_ws.db.migrations} C{env.py} reads it from
    C{config.attributes["engine"]}).
    """
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """
    The newest revision the package ships.
    """
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """
    The revision the database at C{engine} is at; C{None} if it has none.
    """
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """
    Migrate the database at C{engine} up to C{revision}; return the revision
    it is at afterwards. Running it again is a no-op.
    """
    command.upgrade(alembic_config(engine), revision)
    return current_revision(engine)


def downgrade(engine: Engine, revision: str) -> str | None:
    """
    Migrate the database at C{engine} down to C{revision} (C{"base"}: empty).
    """
    command.downgrade(alembic_config(engine), revision)
    return current_revision(engine)


def revision(message: str, url: str) -> None:
    """
    Write a new revision file into C{versions/}: the difference between the
    models and the database at C{url} once migrated to head (use a scratch
    database). It is a starting point: review it, and spell its column types
    out as C{0001_initial} does rather than importing the models' types.
    """
    from nova_ws.config import DatabaseSection
    from nova_ws.db.engine import create_engine_from_config

    engine = create_engine_from_config(DatabaseSection(connection=url))
    try:
        upgrade(engine)
        command.revision(alembic_config(engine), message=message, autogenerate=True)
    finally:
        engine.dispose()
