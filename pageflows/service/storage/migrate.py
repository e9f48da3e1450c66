"""Applying Alembic migrations from code: `serve` on start, `pageflows db upgrade`."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    location = resources.files("pageflows.service.storage").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revise(engine: Engine, message: str) -> None:  # pragma: no cover - a developer's tool
    """Autogenerate a new migration from the models (developers only)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
