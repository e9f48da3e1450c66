"""Applying Alembic migrations from code: `serve` on start, `pageflows db upgrade`."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

# Any fixed number: the key of the lock that lets one process at a time migrate.
MIGRATION_LOCK = 7_261_842_001


def alembic_config(engine: Engine) -> Config:
    config = Config()
    location = resources.files("pageflows.service.storage").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate, one process at a time: on PostgreSQL, webhook and worker processes that
    start together wait on a lock (held to the end of this transaction) instead of
    racing to create the same table; the later ones then find nothing to do."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revise(engine: Engine, message: str) -> None:  # pragma: no cover - a developer's tool
    """Autogenerate a new migration from the models (developers only)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
