"""Contacts and their conversations as operators read them: queries only, no writes.

Shared by the API (`api/contacts.py`) and the CLI (`cli/conversations.py`), so
both show the same thing. Lists are keyset-paginated (an opaque cursor holds the
last row's sort key; never OFFSET, which reads and throws away every earlier
row), so page 1,000 of 100,000 contacts costs what page 1 costs.

- Contacts come newest last message first: (last_user_message_at DESC, psid
  DESC) on `ix_contacts_recent`; contacts who never wrote come after, by psid.
- `q` matches the start of the first or last name (every word of `q` must
  start one of them), folded (no case, no accents): a prefix is a range on
  `ix_contacts_first_key` / `ix_contacts_last_key`; a substring could use no
  index and would read every contact. An exact PSID also matches.
- The window state comes from the dated policy table (`engine.policy.RULES`):
  open (the standard window), human_agent (after it, within the human agent
  window), closed.
- A conversation merges the contact's inbox events and outbox rows, each read
  backwards on its own (page, contact, id) index, newest first, and the
  follow-ups that did not run (cancelled when due, or never scheduled), with
  the engine's reason; an inbox event carries the engine's notes ("no trigger
  matched").
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Engine, and_, exists, or_, select, tuple_
from sqlalchemy.orm import Session

from pageflows.engine.contact import ContactState
from pageflows.engine.inbound import PAGE_INBOX_APP_ID
from pageflows.engine.policy import RULES, PolicyTable, window_closes_at
from pageflows.service.storage.contact_search import name_key
from pageflows.service.storage.models import (
    Contact,
    ContactField,
    ContactTag,
    FollowUp,
    InboxEvent,
    OutboxMessage,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
WINDOWS = ("open", "human_agent", "closed")
# Inbox kinds a person wants to read; deliveries, reads and template news are not talk.
SHOWN_KINDS = ("message", "postback", "referral", "optin", "comment", "handover", "echo")


class QueryError(ValueError):
    """A request the queries cannot answer (bad cursor, limit or filter): the caller's 4xx."""

    def __init__(self, message: str, **facts: Any) -> None:
        super().__init__(message)
        self.facts = facts


@dataclass(frozen=True)
class ContactFilter:
    q: str | None = None
    tag: str | None = None
    field: str | None = None  # name=value
    ref: str | None = None
    source: str | None = None
    window: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next: str | None  # the cursor of the next page, None on the last


# ------------------------------------------------------------------ cursors and limits


def encode_cursor(key: dict[str, Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> dict[str, Any] | None:
    """The key a cursor holds, or a QueryError: cursors are ours, never built by hand."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, dict) or key.get("k") != kind:
        raise QueryError(
            f"this is not a {kind} cursor: pass back the `next` value of the previous page as is"
        )
    return key


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be 1 to {MAX_LIMIT}", limit=limit, max_limit=MAX_LIMIT)
    return limit


def parse_limit(text: str | None) -> int:
    """A limit from a query string."""
    if text is None or text == "":
        return DEFAULT_LIMIT
    try:
        return check_limit(int(text))
    except ValueError:
        raise QueryError(
            f"limit must be a whole number, 1 to {MAX_LIMIT}", limit=text, max_limit=MAX_LIMIT
        ) from None


# ------------------------------------------------------------------ windows


def window(
    now: datetime,
    last: datetime | None,
    ad_message_at: datetime | None = None,
    rules: PolicyTable = RULES,
) -> dict[str, Any]:
    """Where the contact's window stands: what a reply typed now could be."""
    open_until = window_closes_at(now, last, rules, ad_message_at)
    human_until = last + rules.human_agent_window if last is not None else None
    if human_until is not None and human_until <= now:
        human_until = None
    state = "open" if open_until else "human_agent" if human_until else "closed"
    return {
        "state": state,
        "open_until": _iso(open_until),
        "human_agent_until": _iso(human_until),
    }


def _window_clause(
    name: str, now: datetime, rules: PolicyTable, ad_window: bool = False
) -> ColumnElement[bool]:
    """The window as a range of last-message times. With the page's ad window, an ad
    message (never after the last message) may keep a window open longer: `open` and
    `human_agent` then only narrow the range, and each row's state decides (_recent)."""
    last = Contact.last_user_message_at
    standard = now - rules.standard_window
    human = now - rules.human_agent_window
    if ad_window and name in ("open", "human_agent"):
        longest = max(rules.ad_window, rules.human_agent_window, rules.standard_window)
        return last > now - longest
    if name == "open":
        return last > standard
    if name == "human_agent":
        return and_(last <= standard, last > human)
    return or_(last.is_(None), last <= human)


# ------------------------------------------------------------------ contacts


def list_contacts(
    engine: Engine,
    page_id: str,
    now: datetime,
    filters: ContactFilter = ContactFilter(),
    limit: int | None = None,
    after: str | None = None,
    ad_window: bool = False,
) -> Page:
    """One page of a page's contacts, newest last message first."""
    size = check_limit(limit)
    cursor = decode_cursor(after, "contacts")
    # On a page with the ad window, the SQL range only narrows `open` and `human_agent`
    # (the ad message's time is in the state): each row's own window state decides.
    exact = not (ad_window and filters.window in ("open", "human_agent"))
    rows: list[Contact] = []
    with Session(engine) as session:
        conditions = _conditions(session, page_id, filters, now, ad_window)
        phase = cursor.get("p", 1) if cursor else 1
        if phase == 1:
            key = (_cursor_moment(cursor), str(cursor.get("id", ""))) if cursor else None
            rows = _recent(session, conditions, key, size + 1, exact, now, filters.window)
        if len(rows) <= size and filters.window in (None, "closed"):
            # Contacts who never wrote (a referral, a comment): after the others, by psid.
            query = select(Contact).where(*conditions, Contact.last_user_message_at.is_(None))
            if cursor and phase == 2:
                query = query.where(Contact.psid < str(cursor.get("id", "")))
            query = query.order_by(Contact.psid.desc()).limit(size + 1 - len(rows))
            rows += list(session.scalars(query))
        session.expunge_all()
    items = [contact_item(row, now, ad_window) for row in rows[:size]]
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        if last.last_user_message_at is not None:
            where = {"k": "contacts", "p": 1, "at": last.last_user_message_at.isoformat()}
        else:
            where = {"k": "contacts", "p": 2}
        next_cursor = encode_cursor({**where, "id": last.psid})
    return Page(items, next_cursor)


def _recent(
    session: Session,
    conditions: list[ColumnElement[bool]],
    key: tuple[datetime, str] | None,
    want: int,
    exact: bool,
    now: datetime,
    window_state: str | None,
) -> list[Contact]:
    """Contacts who wrote, newest first, after `key`; without `exact`, read on in chunks
    until `want` rows pass the window check."""
    chunk = want if exact else max(want, MAX_LIMIT)
    rows: list[Contact] = []
    while len(rows) < want:
        query = select(Contact).where(*conditions, Contact.last_user_message_at.is_not(None))
        if key is not None:
            query = query.where(tuple_(Contact.last_user_message_at, Contact.psid) < tuple_(*key))
        query = query.order_by(Contact.last_user_message_at.desc(), Contact.psid.desc())
        batch = list(session.scalars(query.limit(chunk)))
        if exact:
            return batch
        rows += [r for r in batch if contact_item(r, now, True)["window"]["state"] == window_state]
        if len(batch) < chunk:
            break
        last = batch[-1]
        assert last.last_user_message_at is not None
        key = (last.last_user_message_at, last.psid)
    return rows[:want]


def _cursor_moment(cursor: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(cursor.get("at")))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise QueryError("this contacts cursor is damaged: start again without `after`")
    return moment


def _conditions(
    session: Session, page_id: str, filters: ContactFilter, now: datetime, ad_window: bool
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Contact.page_id == page_id]
    if filters.q is not None and filters.q.strip():
        conditions.append(_name_clause(filters.q.strip()))
    if filters.tag:
        conditions.append(_tag_clause(session, page_id, filters.tag))
    if filters.field is not None:
        name, equals, value = filters.field.partition("=")
        if not equals or not name:
            raise QueryError("field must be name=value, such as field=city=Lisbon")
        conditions.append(
            Contact.psid.in_(
                select(ContactField.psid).where(
                    ContactField.page_id == page_id,
                    ContactField.name == name,
                    ContactField.value == value,
                )
            )
        )
    if filters.ref:
        conditions.append(Contact.ref == filters.ref)
    if filters.source:
        conditions.append(Contact.ref_source == filters.source)
    if filters.window is not None:
        if filters.window not in WINDOWS:
            raise QueryError(
                f"window must be one of {', '.join(WINDOWS)}",
                window=filters.window,
                allowed=list(WINDOWS),
            )
        conditions.append(_window_clause(filters.window, now, RULES, ad_window))
    return conditions


FEW_TAGGED = 5000


def _tag_clause(session: Session, page_id: str, tag: str) -> ColumnElement[bool]:
    """Contacts with the tag, in the form that keeps a page cheap for this tag.

    A tag few contacts have: read them from the tag's index (at most FEW_TAGGED),
    then fetch those contacts by primary key and sort them; handing the planner
    the ids rather than a subquery stops PostgreSQL from walking the newest
    contacts one by one looking for the few tagged (measured: 5 ms against 50).
    A common tag: walk the newest contacts and check each for the tag (its
    primary key), stopping after a page; sorting every tagged contact would
    cost more.
    """
    tagged = select(ContactTag.psid).where(ContactTag.page_id == page_id, ContactTag.tag == tag)
    psids = list(session.scalars(tagged.limit(FEW_TAGGED)))
    if len(psids) < FEW_TAGGED:
        return Contact.psid.in_(psids)
    return exists().where(
        ContactTag.page_id == Contact.page_id,
        ContactTag.psid == Contact.psid,
        ContactTag.tag == tag,
    )


def _name_clause(q: str) -> ColumnElement[bool]:
    """Every word of `q` starts the first or the last name (folded); or `q` is the PSID."""
    words = (name_key(q) or "").split()
    per_word = [
        or_(_prefix(Contact.first_key, word), _prefix(Contact.last_key, word)) for word in words
    ]
    return or_(Contact.psid == q, and_(*per_word)) if per_word else Contact.psid == q


def _prefix(column: Any, word: str) -> ColumnElement[bool]:
    """`word`'s prefix range: byte order (collation C) on both databases keeps it exact."""
    return and_(column >= word, column < word + "\U0010ffff")


def get_contact(engine: Engine, page_id: str, psid: str) -> Contact | None:
    with Session(engine) as session:
        row = session.get(Contact, (page_id, psid))
        session.expunge_all()
        return row


def contact_item(row: Contact, now: datetime, ad_window: bool = False) -> dict[str, Any]:
    """A contact as a list shows it; tags and fields from the state, the truth."""
    state = _state(row)
    ad_at = state.ad_message_at if (ad_window and state is not None) else None
    names = [n for n in (row.first_name, row.last_name) if n]
    return {
        "psid": row.psid,
        "page": row.page_id,
        "name": " ".join(names) or None,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "tags": sorted(state.tags) if state else [],
        "fields": dict(sorted(state.fields.items())) if state else {},
        "ref": row.ref,
        "ref_source": row.ref_source,
        "first_seen_at": _iso(row.first_seen_at),
        "last_message": row.last_message,
        "last_message_at": _iso(row.last_user_message_at),
        "window": window(now, row.last_user_message_at, ad_at),
        "automation": {
            "paused_until": _iso(row.agent_until),
            "handed_off": bool(state and state.handed_off),
        },
    }


def contact_detail(row: Contact, now: datetime, ad_window: bool = False) -> dict[str, Any]:
    """One contact: the list's item and what else the state knows."""
    state = _state(row)
    item = contact_item(row, now, ad_window)
    item["message_count"] = state.message_count if state else 0
    item["waiting_for"] = state.waiting.field if state and state.waiting else None
    item["updated_at"] = _iso(row.updated_at)
    return item


def _state(row: Contact) -> ContactState | None:
    try:
        return ContactState.model_validate(row.state)
    except ValidationError:
        return None


# ------------------------------------------------------------------ conversation


def conversation(
    engine: Engine, page_id: str, psid: str, limit: int | None = None, before: str | None = None
) -> Page:
    """The newest `limit` items before the cursor, returned oldest first (a transcript)."""
    size = check_limit(limit)
    cursor = decode_cursor(before, "conversation")
    in_before = _int(cursor, "in")
    out_before = _int(cursor, "out")
    fu_before = _follow_up_key(cursor)
    with Session(engine) as session:
        inbound = _inbound(session, page_id, psid, in_before)
        outbound = _outbound(session, page_id, psid, out_before)
        unrun = _not_run(session, page_id, psid, fu_before)
        taken: list[Item] = []
        next_in, next_out, next_fu = _peek(inbound), _peek(outbound), _peek(unrun)
        while len(taken) < size and (next_in or next_out or next_fu):
            # Newest first; on a tie the reply (outbound) is the later one, and a
            # follow-up not run, decided with it, later still.
            if next_fu and all(n is None or next_fu[2] >= n[2] for n in (next_in, next_out)):
                taken.append(next_fu)
                next_fu = _peek(unrun)
            elif next_out and (not next_in or next_out[2] >= next_in[2]):
                taken.append(next_out)
                next_out = _peek(outbound)
            else:
                assert next_in is not None
                taken.append(next_in)
                next_in = _peek(inbound)
        more = next_in is not None or next_out is not None or next_fu is not None
    next_cursor = None
    if more:
        ins = [row_id for side, row_id, _, _ in taken if side == "in"]
        outs = [row_id for side, row_id, _, _ in taken if side == "out"]
        fus = [(at, row_id) for side, row_id, at, _ in taken if side == "fu"]
        last_fu = min(fus) if fus else fu_before
        next_cursor = encode_cursor(
            {
                "k": "conversation",
                "in": min(ins) if ins else in_before,
                "out": min(outs) if outs else out_before,
                "fu": [last_fu[0].isoformat(), last_fu[1]] if last_fu else None,
            }
        )
    return Page([item for _, _, _, item in reversed(taken)], next_cursor)


def _int(cursor: dict[str, Any] | None, key: str) -> int | None:
    if cursor is None or cursor.get(key) is None:
        return None
    value = cursor[key]
    if not isinstance(value, int):
        raise QueryError("this conversation cursor is damaged: start again without `before`")
    return value


def _follow_up_key(cursor: dict[str, Any] | None) -> tuple[datetime, int] | None:
    """issue 12: R. Where the follow-ups not run stopped: (time, id), newest first."""
    if cursor is None or cursor.get("fu") is None:
        return None
    value = cursor["fu"]
    try:
        at, row_id = datetime.fromisoformat(value[0]), value[1]
    except (TypeError, ValueError, IndexError, KeyError):
        at, row_id = None, None
    if at is None or at.tzinfo is None or not isinstance(row_id, int):
        raise QueryError("this conversation cursor is damaged: start again without `before`")
    return at, row_id


Item = tuple[str, int, datetime, dict[str, Any]]
EARLIEST = datetime.min.replace(tzinfo=UTC)


def _peek(items: Iterator[Item]) -> Item | None:
    return next(items, None)


CHUNK = 100


def _inbound(session: Session, page_id: str, psid: str, before: int | None) -> Iterator[Item]:
    """The contact's inbox events worth reading, newest first, read CHUNK rows at a time."""
    while True:
        query = (
            select(InboxEvent)
            .where(
                InboxEvent.page_id == page_id,
                InboxEvent.contact_id == psid,
                InboxEvent.kind.in_((*SHOWN_KINDS, "standby")),
            )
            .order_by(InboxEvent.id.desc())
            .limit(CHUNK)
        )
        if before is not None:
            query = query.where(InboxEvent.id < before)
        rows = list(session.scalars(query))
        ours = _our_message_ids(session, page_id, psid, rows)
        for row in rows:
            item = inbound_item(row, ours)
            if item is not None:
                yield ("in", row.id, row.occurred_at or row.received_at or EARLIEST, item)
        if len(rows) < CHUNK:
            return
        before = rows[-1].id


def _our_message_ids(session: Session, page_id: str, psid: str, rows: list[InboxEvent]) -> set[str]:
    """Echoes of messages the outbox sent (or recorded): shown once, as outbox rows."""
    mids = {
        str(r.payload.get("mid"))
        for r in rows
        if r.kind == "echo" and isinstance(r.payload, dict) and r.payload.get("mid")
    }
    if not mids:
        return set()
    found = session.scalars(
        select(OutboxMessage.message_id).where(
            OutboxMessage.page_id == page_id,
            OutboxMessage.contact_id == psid,
            OutboxMessage.message_id.in_(mids),
        )
    )
    return {m for m in found if m}


def _outbound(session: Session, page_id: str, psid: str, before: int | None) -> Iterator[Item]:
    while True:
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.page_id == page_id, OutboxMessage.contact_id == psid)
            .order_by(OutboxMessage.id.desc())
            .limit(CHUNK)
        )
        if before is not None:
            query = query.where(OutboxMessage.id < before)
        rows = list(session.scalars(query))
        for row in rows:
            yield ("out", row.id, row.created_at, outbound_item(row))
        if len(rows) < CHUNK:
            return
        before = rows[-1].id


def _not_run(
    session: Session, page_id: str, psid: str, before: tuple[datetime, int] | None
) -> Iterator[Item]:
    """issue 12: R. The contact's follow-ups that did not run, newest decision first:
    cancelled when due (the contact replied, a human has the thread) or never scheduled
    (the date it counts from is missing, unreadable or past). Few per contact."""
    moment = FollowUp.fired_at
    while True:
        query = (
            select(FollowUp)
            .where(
                FollowUp.page_id == page_id,
                FollowUp.contact_id == psid,
                FollowUp.status == "cancelled",
                moment.is_not(None),
            )
            .order_by(moment.desc(), FollowUp.id.desc())
            .limit(CHUNK)
        )
        if before is not None:
            query = query.where(tuple_(moment, FollowUp.id) < tuple_(*before))
        rows = list(session.scalars(query))
        for row in rows:
            assert row.fired_at is not None
            yield ("fu", row.id, row.fired_at, not_run_item(row))
        if len(rows) < CHUNK:
            return
        last = rows[-1]
        assert last.fired_at is not None
        before = (last.fired_at, last.id)


NOT_SCHEDULED = ("date_missing", "date_unreadable", "date_passed")
NOT_RUN_WHAT = {
    "broadcast": "broadcast",
    "ask_timeout": "question's time limit",
    "handoff_timeout": "handoff's time limit",
}


def not_run_item(row: FollowUp) -> dict[str, Any]:
    """A follow-up (or broadcast delivery) that did not run, and the engine's reason."""
    never = row.reason in NOT_SCHEDULED
    what = NOT_RUN_WHAT.get(row.purpose, "follow-up")
    detail = (row.detail or "").removeprefix("not scheduled: ")
    return {
        "id": f"fu-{row.id}",
        "direction": "out",
        "kind": "follow_up",
        "purpose": row.purpose,
        "at": _iso(row.fired_at),
        "text": f"{what} {'not scheduled' if never else 'cancelled'} ({row.reason}): {detail}",
        "status": "not_scheduled" if never else "cancelled",
        "reason": row.reason,
        "detail": row.detail,
        "due_at": _iso(row.due_at),
    }


def inbound_item(
    row: InboxEvent, ours: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any] | None:
    """An inbox event as a transcript line, or None when it is not talk."""
    payload = row.payload if isinstance(row.payload, dict) else {}
    standby = False
    kind = row.kind
    if kind == "standby":  # seen while another app (the Page inbox) owned the thread
        inner = payload.get("event")
        if not isinstance(inner, dict) or inner.get("kind") not in SHOWN_KINDS:
            return None
        payload, kind, standby = inner, str(inner["kind"]), True
    at = _iso(row.occurred_at or row.received_at)
    if kind == "echo":
        return _echo_item(row, payload, at, ours, standby)
    item: dict[str, Any] = {
        "id": f"in-{row.id}",
        "direction": "in",
        "kind": kind,
        "at": at,
        "text": None,
        "standby": standby,
        # issue 12: R. What the engine said of it, when that is why nothing came back.
        "notes": list(row.notes or ()),
    }
    if kind == "message":
        item["text"] = payload.get("text")
        item["quick_reply"] = payload.get("quick_reply")
        item["attachments"] = [
            {k: a.get(k) for k in ("type", "url", "title")}
            for a in payload.get("attachments") or ()
            if isinstance(a, dict)
        ]
        item["deleted"] = bool(payload.get("is_deleted"))
        referral = payload.get("referral")
        if isinstance(referral, dict):
            item["referral"] = {"ref": referral.get("ref"), "source": referral.get("source")}
    elif kind == "postback":
        item["text"] = payload.get("title")
        item["postback"] = {"title": payload.get("title"), "payload": payload.get("payload")}
    elif kind == "referral":
        item["referral"] = {"ref": payload.get("ref"), "source": payload.get("source")}
    elif kind == "comment":
        item["text"] = payload.get("message")
        item["comment"] = {"id": payload.get("comment_id"), "post": payload.get("post_id")}
    elif kind == "optin":
        item["optin"] = {k: payload.get(k) for k in ("type", "title", "ref") if payload.get(k)}
    elif kind == "handover":
        item["handover"] = {
            "action": payload.get("action"),
            "new_owner_app_id": payload.get("new_owner_app_id"),
        }
    return item


def _echo_item(
    row: InboxEvent,
    payload: dict[str, Any],
    at: str | None,
    ours: frozenset[str] | set[str],
    standby: bool,
) -> dict[str, Any] | None:
    """A message the Page sent that the outbox does not hold: a person in the Page inbox
    (Facebook's Page inbox app id) or another app."""
    mid = payload.get("mid")
    if mid and str(mid) in ours:
        return None
    by_person = payload.get("app_id") == PAGE_INBOX_APP_ID
    attachments = [
        {k: a.get(k) for k in ("type", "url", "title")}
        for a in payload.get("attachments") or ()
        if isinstance(a, dict)
    ]
    return {
        "id": f"in-{row.id}",
        "direction": "out",
        "kind": "echo",
        "at": at,
        "text": payload.get("text"),
        "attachments": attachments,
        "status": "sent",
        "source": "page_inbox" if by_person else "other_app",
        "app_id": payload.get("app_id"),
        "standby": standby,
    }


def outbound_item(row: OutboxMessage) -> dict[str, Any]:
    """An outbox row: what went (or not), its status and why it was allowed."""
    failed = (
        {
            "error_code": row.error_code,
            "error_subcode": row.error_subcode,
            "error_message": row.error_message,
            "reason": row.reason,
        }
        if row.status == "failed"
        else None
    )
    skipped = {"reason": row.reason, "detail": row.detail} if row.status == "skipped" else None
    return {
        "id": f"out-{row.id}",
        "direction": "out",
        "kind": row.kind,
        "at": _iso(row.created_at),
        "text": _outbound_text(row),
        "status": row.status,
        "messaging_type": row.messaging_type,
        "tag": row.tag,
        "rationale": row.rationale,
        "source": row.source or "flow",
        "author": row.author,
        "broadcast": row.broadcast,
        "failed": failed,
        "skipped": skipped,
        "held": {"reason": row.reason, "detail": row.detail} if row.status == "held" else None,
        "created_at": _iso(row.created_at),
        "sent_at": _iso(row.sent_at),
        "delivered_at": _iso(row.delivered_at),
        "read_at": _iso(row.read_at),
        "possible_duplicate": row.possible_duplicate,
        "message_id": row.message_id,
    }


def _outbound_text(row: OutboxMessage) -> str:
    """A message's preview; the calls that move the thread, in words."""
    reason = row.body.get("reason") if isinstance(row.body, dict) else None
    because = f": {reason}" if reason else ""
    if row.kind == "handoff":
        return f"(the conversation was handed to the Page inbox{because})"
    if row.kind == "take_thread":
        return f"(the thread was taken back from the Page inbox{because})"
    if row.kind == "notify":
        return "(a notification to an outside address)"
    return row.preview


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "WINDOWS",
    "ContactFilter",
    "Page",
    "QueryError",
    "contact_detail",
    "contact_item",
    "conversation",
    "get_contact",
    "list_contacts",
    "parse_limit",
    "window",
]
