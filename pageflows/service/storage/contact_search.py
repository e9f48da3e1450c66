"""The columns and rows operators search contacts by, copied from the contact's state.

The state (JSON) stays the truth the core reads; these copies exist so that a
list of 100,000 contacts filters by name, tag, field or ref with an index
instead of reading every state. They are written in the same transaction as
the state, so they never disagree with it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.util import identity_key

from pageflows.engine.contact import ContactState
from pageflows.service.storage.bulk import JsonText
from pageflows.service.storage.models import Contact, ContactField, ContactTag

NAME_LIMIT = 255
TAG_LIMIT = 255
FIELD_VALUE_LIMIT = 1000
LAST_MESSAGE_LIMIT = 500


@dataclass(slots=True)
class ContactValues:
    """issue 13: F. A contact's row as plain values, for a batch of due follow-ups: read
    with one query and written back with one statement per batch (`worker.fire_batch`),
    where an ORM object cost its construction, an attribute event per column set and a
    unit-of-work flush. `state` is the state's JSON text, as stored (F2: parsed by
    pydantic straight from the text, `parsed`, only when a decision reads it, and written
    back as the same text when the decision left the state as it was); `parsed` is the
    state as last read from `state` (the state is frozen, so reading it twice gives the
    same). The columns after `last_message` are not read into their fields (`stored` holds
    them as the driver gave them, to write only the ones that change): `save_contact` and
    `copy_searchable` set every one of them before they mark the row `changed`, the only
    rows written back."""

    page_id: str
    psid: str
    state: JsonText
    last_message: str | None
    last_user_message_at: datetime | None = None
    updated_at: datetime | None = None
    first_name: str | None = None
    last_name: str | None = None
    ref: str | None = None
    ref_source: str | None = None
    first_seen_at: datetime | None = None
    agent_until: datetime | None = None
    first_key: str | None = None
    last_key: str | None = None
    parsed: ContactState | None = None
    changed: bool = False
    stored: list[Any] = field(default_factory=list)  # WRITTEN_COLUMNS as the driver read them
    # A contact a batch of inbox events meets first (worker.py `save_contact`): inserted at
    # the batch's end with every column, its profile checked at `profile_checked_at`.
    new: bool = False
    profile_checked_at: datetime | None = None


# What `save_contact` and `copy_searchable` write (all but the key and profile_checked_at).
WRITTEN_COLUMNS = (
    "state",
    "last_user_message_at",
    "updated_at",
    "first_name",
    "last_name",
    "first_key",
    "last_key",
    "ref",
    "ref_source",
    "first_seen_at",
    "agent_until",
    "last_message",
)


def copy_searchable(
    session: Session,
    row: Contact | ContactValues,
    before: ContactState | None,
    after: ContactState,
    last_message: str | None = None,
) -> None:
    """Bring `row`'s searchable columns and the contact's tag and field rows up to `after`."""
    row.first_name = _cut(after.first_name, NAME_LIMIT)
    row.last_name = _cut(after.last_name, NAME_LIMIT)
    row.first_key = name_key(row.first_name)
    row.last_key = name_key(row.last_name)
    row.ref = _cut(after.ref, NAME_LIMIT)
    row.ref_source = _cut(after.ref_source, 32)
    row.first_seen_at = after.first_seen_at
    row.agent_until = after.agent_until
    if last_message is not None:
        row.last_message = _cut(last_message, LAST_MESSAGE_LIMIT)
    if after is before:  # issue 13: the same state, so the same tags and fields (a follow-up)
        return
    page_id, psid = row.page_id, row.psid
    old_tags = set(before.tags) if before else set()
    new_tags = {_cut(tag, TAG_LIMIT) or "" for tag in after.tags}
    gone = old_tags - new_tags
    if gone:
        session.flush()  # a batch's tag rows added before are deleted too (worker.py)
        session.execute(
            delete(ContactTag).where(
                ContactTag.page_id == page_id, ContactTag.psid == psid, ContactTag.tag.in_(gone)
            )
        )
    for tag in sorted(new_tags - old_tags):
        _put(session, ContactTag(page_id=page_id, psid=psid, tag=tag))
    old_fields = dict(before.fields) if before else {}
    removed = set(old_fields) - set(after.fields)
    if removed:
        session.flush()
        session.execute(
            delete(ContactField).where(
                ContactField.page_id == page_id,
                ContactField.psid == psid,
                ContactField.name.in_(removed),
            )
        )
    for name, value in sorted(after.fields.items()):
        if old_fields.get(name) != value:
            _put(
                session,
                ContactField(
                    page_id=page_id,
                    psid=psid,
                    name=_cut(name, NAME_LIMIT) or "",
                    value=_cut(value, FIELD_VALUE_LIMIT) or "",
                ),
            )


def _put(session: Session, row: ContactTag | ContactField) -> None:
    """`session.merge(row)`, remembering the row merged: a worker's batch (worker.py) writes
    at its end, so a second event of the contact in the batch must find the row the first
    added (merge would not: it looks in the database, where it is not yet)."""
    merged_rows: dict[tuple[object, ...], ContactTag | ContactField] = session.info.setdefault(
        MERGED, {}
    )
    name = row.tag if isinstance(row, ContactTag) else row.name
    key = (type(row), row.page_id, row.psid, name)
    _load_deferred(session, (row.page_id, row.psid))  # before: it fills `merged_rows`
    earlier = merged_rows.get(key)
    preloaded = (row.page_id, row.psid) in session.info.get(PRELOADED, ())
    if earlier is None and preloaded:  # its rows are all in the session (`preload`)
        found = session.identity_map.get(identity_key(type(row), key[1:]))
        earlier = found if isinstance(found, ContactTag | ContactField) else None
    if earlier is not None and (
        instance_state(earlier).pending or instance_state(earlier).persistent
    ):
        if isinstance(row, ContactField) and isinstance(earlier, ContactField):
            earlier.value = row.value
        return
    if preloaded:  # known absent: no look-up
        session.add(row)
        merged_rows[key] = row
        return
    merged_rows[key] = session.merge(row)


def preload(session: Session, contacts: list[tuple[str, str]], where: Any) -> None:
    """issue 13: C. The tag and field rows of a batch's contacts (locked by the caller, so
    no one else writes them), read in one query each: `copy_searchable` then finds them in
    the session, and adds a new one without a look-up of its own. `where(table)` is the
    contacts' condition on a table with `page_id` and `psid`.

    The two queries run when the batch first needs them (`_put`: a tag or field row
    to add or change), not here: a batch whose decisions change no tag or field (a
    follow-up that sends a message) reads none of those rows. The contacts stay
    locked until the batch commits, so reading later reads the same rows."""
    deferred: list[tuple[list[tuple[str, str]], Any]] = session.info.setdefault(DEFERRED, [])
    deferred.append((list(contacts), where))


MERGED = "pageflows.searchable_rows"
PRELOADED = "pageflows.searchable_preloaded"


def _cut(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


@lru_cache(maxsize=4096)  # issue 13: pure, and asked for every contact a batch writes
def name_key(text: str | None) -> str | None:
    """A name as search compares it: accents dropped, case folded, spaces squeezed.

    Computed here rather than with SQL's lower(), which on SQLite folds ASCII
    only: "élodie", "Elodie" and "ÉLODIE" must find the same contact on both
    databases.
    """
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())[:NAME_LIMIT] or None


DEFERRED = "pageflows.searchable_deferred"


def _load_deferred(session: Session, pair: tuple[str, str]) -> None:
    """Read the tag and field rows `preload` deferred, for the batch that holds `pair`,
    the first time one of its contacts needs them (in one query per table, as before)."""
    deferred: list[tuple[list[tuple[str, str]], Any]] | None = session.info.get(DEFERRED)
    if not deferred:
        return
    for index, (contacts, where) in enumerate(deferred):
        if pair in contacts:
            del deferred[index]
            # Held in MERGED, where `_put` looks first: the session's identity map holds
            # its objects weakly, so a row read and dropped here could be gone by the time
            # `_put` looks for it, and be inserted again (a UNIQUE failure that sent the
            # whole batch to the one-at-a-time path).
            merged_rows: dict[tuple[object, ...], ContactTag | ContactField] = (
                session.info.setdefault(MERGED, {})
            )
            for tag in session.scalars(select(ContactTag).where(where(ContactTag))):
                merged_rows.setdefault((ContactTag, tag.page_id, tag.psid, tag.tag), tag)
            for field in session.scalars(select(ContactField).where(where(ContactField))):
                merged_rows.setdefault((ContactField, field.page_id, field.psid, field.name), field)
            loaded: set[tuple[str, str]] = session.info.setdefault(PRELOADED, set())
            loaded.update(contacts)
            return
