"""Which Pages a set of flows runs on, as Facebook knows them, for the commands that check.

`check`, `test`, `chat` and `policy` need the Page's region and templates without
starting a server. They read the settings file the operator names (--config), else
`pageflows.toml` in the current folder, else the one beside the flows; environment
variables win over the file, as for `serve`. Templates synced from Facebook into the
database (`pageflows templates sync`) overlay the declared ones when that database
already exists; a check never creates or migrates one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import click

from pageflows.cli.options import config_lookup_option as config_lookup_option
from pageflows.rules.page_facts import PageFacts
from pageflows.service.config import ConfigError, PageConfig, Settings, read_settings

CONFIG_NAME = "pageflows.toml"


def find_config(explicit: str | None, flow_paths: Sequence[str]) -> Path | None:
    """--config, else ./pageflows.toml, else pageflows.toml in (or beside) the first flows path."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise click.BadParameter(f"{explicit}: no such file", param_hint="'--config'")
        return path
    here = Path(CONFIG_NAME)
    if here.is_file():
        return here
    for raw in flow_paths:
        folder = Path(raw) if Path(raw).is_dir() else Path(raw).parent
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def read_settings_or_exit(config: Path | None) -> Settings:
    try:
        return read_settings(os.environ, config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def pages_of(settings: Settings, page_id: str | None = None) -> tuple[PageFacts, ...]:
    """The facts of the configured Pages (declared, then synced), or of the one asked for."""
    pages: Sequence[PageConfig] = settings.pages
    if page_id is not None:
        pages = [p for p in settings.pages if p.id == page_id]
        if not pages:
            known = ", ".join(p.id for p in settings.pages) or "none configured"
            raise click.BadParameter(f"no page {page_id} (pages: {known})", param_hint="'--page'")
    return tuple(_with_synced(settings, page) for page in pages)


def _with_synced(settings: Settings, page: PageConfig) -> PageFacts:
    """Declared facts, overlaid by the stored ones when the database already exists."""
    if not _database_exists(settings.database_url):
        return page.facts()
    # issue 13: A: only now, with a database to read: `check` beside no database
    # does not import SQLAlchemy (a second of start-up).
    from sqlalchemy.exc import SQLAlchemyError

    from pageflows.service.storage.database import DatabaseUrlError, make_engine
    from pageflows.service.storage.templates import load_page_facts

    try:
        engine = make_engine(settings.database_url)
        try:
            return load_page_facts(engine, page)
        finally:
            engine.dispose()
    except (SQLAlchemyError, DatabaseUrlError):
        # No migrated database to read (or none reachable): what the file declares.
        return page.facts()


def _database_exists(url: str) -> bool:
    """SQLite: the file is there (a check must not create one); other databases: try them."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        return bool(path) and path != ":memory:" and Path(path).is_file()
    return True
