"""Pages connected through Facebook Login (the console's Pages page), their tokens sealed.

Why a table and not pageflows.toml: a person connects a Page from a browser,
and every process that sends must pick the new token up without a restart or a
file edit. The token is stored only sealed with PAGEFLOWS_TOKEN_KEY
(token_crypto.py); this module is the one place that seals and opens it, and
nothing here logs or returns a token except `tokens`, which the worker calls.

A connected page with the id of a configured one replaces that page's token
(the connection is newer than the file); another one joins the pages `serve`
runs, with the default flows folder, at the next start (`with_connected`).
Storing a new token resumes a page paused for its old one, as
`pageflows pages resume` does (service/pages.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pageflows.service.config import PageConfig, Settings
from pageflows.service.pages import fingerprint, resume_if_token_replaced
from pageflows.service.storage.models import ConnectedPage
from pageflows.service.token_crypto import TokenBox, TokenUnreadable

log = logging.getLogger("pageflows.pages")


@dataclass(frozen=True)
class Connected:
    """A connected page as people may see it: everything but the token."""

    page_id: str
    name: str
    tasks: tuple[str, ...]
    subscribed_fields: tuple[str, ...]
    connected_by: str
    connected_at: datetime
    updated_at: datetime


def _shown(row: ConnectedPage) -> Connected:
    return Connected(
        row.page_id,
        row.name,
        tuple(row.tasks or ()),
        tuple(row.subscribed_fields or ()),
        row.connected_by,
        row.connected_at,
        row.updated_at,
    )


def store(
    engine: Engine,
    box: TokenBox,
    *,
    page_id: str,
    name: str,
    token: str,
    tasks: Sequence[str],
    subscribed_fields: Sequence[str],
    who: str,
    now: datetime,
) -> list[str]:
    """Connect the page (or give it its new token); returns the pages this resumed."""
    with Session(engine) as session, session.begin():
        row = session.get(ConnectedPage, page_id, with_for_update=True)
        if row is None:
            row = ConnectedPage(page_id=page_id, connected_at=now)
            session.add(row)
        row.name, row.tasks, row.subscribed_fields = name, list(tasks), list(subscribed_fields)
        row.token_sealed, row.token_fingerprint = box.seal(token), fingerprint(token)
        row.connected_by, row.updated_at = who, now
    log.info("page %s (%s) connected by %s", page_id, name, who)
    return resume_if_token_replaced(engine, {page_id: token}, now)


def set_subscribed(engine: Engine, page_id: str, fields: Sequence[str], now: datetime) -> None:
    """What Facebook now reports our app subscribed to on the page."""
    with Session(engine) as session, session.begin():
        row = session.get(ConnectedPage, page_id)
        if row is not None:
            row.subscribed_fields, row.updated_at = list(fields), now


def listing(engine: Engine) -> list[Connected]:
    with Session(engine) as session:
        rows = session.scalars(select(ConnectedPage).order_by(ConnectedPage.name))
        return [_shown(row) for row in rows]


def find(engine: Engine, page_id: str) -> Connected | None:
    with Session(engine) as session:
        row = session.get(ConnectedPage, page_id)
        return None if row is None else _shown(row)


def fingerprints(engine: Engine) -> dict[str, str]:
    """Each connected page's token fingerprint: cheap to ask every few seconds."""
    with Session(engine) as session:
        rows = session.execute(select(ConnectedPage.page_id, ConnectedPage.token_fingerprint))
        return {page_id: print_ for page_id, print_ in rows}


def token(engine: Engine, box: TokenBox, page_id: str) -> str:
    """The page's token, opened (for a call the console makes as the page).

    Raises LookupError for a page not connected, TokenUnreadable for another key's seal.
    """
    with Session(engine) as session:
        row = session.get(ConnectedPage, page_id)
        if row is None:
            raise LookupError(f"page {page_id} is not connected")
        return box.open(row.token_sealed)


def tokens(engine: Engine, box: TokenBox) -> dict[str, str]:
    """Every connected page's token that this key opens; the others are left out, said once
    each in the log (without the token): the page is connected again to fix it."""
    opened: dict[str, str] = {}
    with Session(engine) as session:
        for row in session.scalars(select(ConnectedPage)):
            try:
                opened[row.page_id] = box.open(row.token_sealed)
            except TokenUnreadable as exc:
                log.warning("page %s: %s", row.page_id, exc)
    return opened


def disconnect(engine: Engine, page_id: str) -> bool:
    """Forget the page's connection (its token with it); False when it was not connected."""
    with Session(engine) as session, session.begin():
        row = session.get(ConnectedPage, page_id)
        if row is None:
            return False
        session.delete(row)
    return True


def with_connected(settings: Settings, engine: Engine, box: TokenBox | None) -> Settings:
    """The settings with connected pages in: their tokens replace configured ones, the
    others join as pages of their own (default flows). Without a key: unchanged."""
    if box is None:
        return settings
    opened = tokens(engine, box)
    names = {c.page_id: c.name for c in listing(engine)}
    pages = [replace(p, token=opened.pop(p.id)) if p.id in opened else p for p in settings.pages]
    pages += [PageConfig(id=i, token=t, name=names.get(i, "")) for i, t in sorted(opened.items())]
    return replace(settings, pages=tuple(pages))
