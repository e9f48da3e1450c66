"""Each page's message templates as Facebook last said, over the ones pageflows.toml declares.

Two writers: `pageflows templates sync` stores Facebook's whole list for a page
(`store_synced`), and the worker applies each `message_template_status_update`
webhook (`apply_status`). One reader: `load_page_facts`, the page as the engine
sees it, where a stored template wins over a declared one (it is newer, and
Facebook's word).

A template that has gone from Facebook's list is kept, marked DELETED, not
removed: were its row removed, a declaration of it in pageflows.toml (APPROVED
unless it says otherwise) would stand again, and the engine would send a
template Facebook no longer has. A later sync that lists it again restores it.

Statuses carry their time (`updated_at`): a sync's moment, or the webhook
entry's time. A status older than the stored one is ignored, so webhooks
decided out of order by several worker processes, or one arriving after a
sync that already saw a later status, never move a template back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pageflows.rules.page_facts import PageFacts, TemplateInfo
from pageflows.service.graph.templates import ListedTemplate
from pageflows.service.storage.models import MessageTemplate

if TYPE_CHECKING:
    from pageflows.service.config import PageConfig

DELETED = "DELETED"
# Webhook events that are not a status of their own: REINSTATED puts a template back.
EVENT_STATUS = {"REINSTATED": "APPROVED"}


@dataclass(frozen=True)
class SyncResult:
    statuses: Counter[str]  # the listed templates by status
    deleted: int  # stored templates no longer listed, now marked DELETED

    @property
    def listed(self) -> int:
        return sum(self.statuses.values())


def _insert(session: Session) -> Callable[[type[MessageTemplate]], Any]:
    """The dialect's INSERT, which has ON CONFLICT on both databases."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def store_synced(
    session: Session, page_id: str, listed: Sequence[ListedTemplate], now: datetime
) -> SyncResult:
    """Store Facebook's full list for the page: each listed template as listed, every
    stored one not listed marked DELETED. One transaction: the caller's."""
    by_key = {(t.info.name, t.info.language): t for t in listed}  # a repeat: the last wins
    insert = _insert(session)
    for template in by_key.values():
        info = template.info
        values = {
            "status": info.status,
            "category": info.category,
            "body": info.body,
            "parameters": info.parameters,
            "buttons": list(info.buttons),
            "components": template.components,
            "template_id": template.template_id,
            "updated_at": now,
        }
        session.execute(
            insert(MessageTemplate)
            .values(page_id=page_id, name=info.name, language=info.language, **values)
            .on_conflict_do_update(index_elements=["page_id", "name", "language"], set_=values)
        )
    deleted = 0
    rows = session.scalars(
        select(MessageTemplate)
        .where(MessageTemplate.page_id == page_id, MessageTemplate.status != DELETED)
        .with_for_update()
    ).all()
    for row in rows:
        if (row.name, row.language) not in by_key:
            row.status, row.updated_at = DELETED, now
            deleted += 1
    return SyncResult(Counter(t.info.status for t in by_key.values()), deleted)


Applied = Literal["updated", "created", "stale"]


def apply_status(
    session: Session,
    page_id: str,
    status: str,
    at: datetime,
    *,
    name: str,
    language: str,
    template_id: str | None = None,
) -> Applied:
    """One template's new status, found by Facebook's id, else by name and language.

    An unknown template becomes a row with only its status (a later sync fills in the
    rest); a status older than the stored one is `stale` and changes nothing.
    """
    status = EVENT_STATUS.get(status.upper(), status.upper())
    row = None
    if template_id is not None:
        row = session.scalars(
            select(MessageTemplate)
            .where(MessageTemplate.page_id == page_id, MessageTemplate.template_id == template_id)
            .limit(1)
            .with_for_update()
        ).first()
    if row is None:
        key = (page_id, name, language)
        row = session.get(MessageTemplate, key, with_for_update=True)
        if row is None:
            created = session.execute(
                _insert(session)(MessageTemplate)
                .values(
                    page_id=page_id,
                    name=name,
                    language=language,
                    status=status,
                    template_id=template_id,
                    updated_at=at,
                )
                .on_conflict_do_nothing(index_elements=["page_id", "name", "language"])
                .returning(MessageTemplate.name)
            ).first()
            if created is not None:
                return "created"
            # another process inserted it meanwhile: apply to that row
            row = session.get(MessageTemplate, key, with_for_update=True, populate_existing=True)
            assert row is not None
    if row.updated_at > at:
        return "stale"
    row.status, row.updated_at = status, at
    if template_id is not None and row.template_id is None:
        row.template_id = template_id
    return "updated"


def stored(session: Session, page_id: str) -> list[MessageTemplate]:
    return list(
        session.scalars(
            select(MessageTemplate)
            .where(MessageTemplate.page_id == page_id)
            .order_by(MessageTemplate.name, MessageTemplate.language)
        ).all()
    )


def stored_pages(session: Session) -> list[str]:
    """Every page with a stored template, configured here or not."""
    return list(session.scalars(select(MessageTemplate.page_id).distinct()).all())


def load_page_facts(bind: Session | Engine, page: PageConfig) -> PageFacts:
    """The page as declared, each template overlaid by its stored row (stored wins).

    A row a status webhook made (no components yet) gives only the status; the
    declared body, parameters and buttons stand until a sync brings Facebook's.
    """
    if isinstance(bind, Engine):
        with Session(bind) as session:
            return load_page_facts(session, page)
    declared = page.facts()
    templates = {(t.name, t.language): t for t in declared.templates}
    for row in stored(bind, page.id):
        key = (row.name, row.language)
        templates[key] = overlay(templates.get(key), row)
    return replace(declared, templates=tuple(templates.values()))


def overlay(declared: TemplateInfo | None, row: MessageTemplate) -> TemplateInfo:
    base = declared or TemplateInfo(name=row.name, language=row.language)
    if row.components is None:
        return replace(base, status=row.status)
    return replace(
        base,
        status=row.status,
        category=row.category or base.category,
        body=row.body or "",
        parameters=row.parameters or 0,
        buttons=tuple(row.buttons or ()),
    )
