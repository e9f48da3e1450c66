"""Tables. One row per fact the service must not lose.

- `inbox`: every webhook event, stored before we answer 200; `dedup_key` is
  unique per page, so a redelivery by Facebook is recognised and ignored.
  pending -> done | ignored, or, after `attempts` failures, parked (the event
  and its error kept; `pageflows inbox replay` retries it). `occurred_at` is
  empty for the documented items that carry no time.
- `contacts`: the core's ContactState as JSON, plus the columns queries need.
- `outbox`: every outbound message, one state machine: queued -> claimed
  (`lease_until`) -> sending (in flight) -> sent (Facebook's message id) -> delivered ->
  read, or failed (code, subcode, message), skipped (our reason), held
  (another app owns the thread). A row found `sending` after its lease is in
  doubt: sent again at most once, with `possible_duplicate` set. Never deleted.
- `page_state`: a page whose sending is paused (token, permission, policy
  block) and why, and a page slowed by Facebook's rate limits until when.
- `follow_ups`: scheduled work; the row's `due_at` is the truth, APScheduler
  only the alarm. `key` is unique, so scheduling is idempotent. pending -> done,
  or cancelled with the engine's reason and detail (the contact replied, a human
  has the thread); one never scheduled (its date passed) is a cancelled row too.
- `comment_replies`: the one private reply per comment.
- `media_checks`: HEAD results per URL (size, type), cached.
- `broadcast_runs`: a broadcast goes out once per page; its contacts become
  `follow_ups` rows (purpose `broadcast`), so any worker process takes a share.
- `workers`: one row per running worker process and its last heartbeat, so
  `/healthz` in any web process knows whether anything is deciding and sending.
- `message_templates`: each page's templates as Facebook last said
  (`pageflows templates sync`, the `message_template_status_update` webhook);
  they overlay the ones declared in pageflows.toml (storage/templates.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out: SQLite keeps no zone, and the policy needs one."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("pageflows stores only timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # issue 13 (thirteenth session): `value.replace(tzinfo=UTC)`, the same datetime
            # (fields, fold, zone object), without `replace`'s keyword parsing: ~9,000
            # instructions a call against ~1,500, once per time read (SQLite's are naive).
            return datetime.combine(value, value.timetz(), UTC)
        return value.astimezone(UTC)


# Byte order (PostgreSQL's "C" collation, SQLite's default BINARY): a prefix is one range.
SEARCH_KEY = String(255).with_variant(String(255, collation="C"), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime()}  # noqa: RUF012


class InboxEvent(Base):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("page_id", "dedup_key", name="uq_inbox_dedup"),
        # A contact's earliest pending event: what the process holding its lock takes next.
        Index("ix_inbox_contact_pending", "page_id", "contact_id", "status", "id"),
        Index("ix_inbox_conversation", "page_id", "contact_id", "id"),
        # The worker's candidates (pending, oldest first), and any count by status.
        Index("ix_inbox_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # Not indexed alone (migration 0012): the unique dedup key and the contact indexes
    # begin with the page.
    page_id: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(512))
    occurred_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    # issue 12: R. What the engine said of it when nothing else shows why (its `Note`s:
    # "no trigger matched", "a human has this conversation; automation waits"), a list.
    notes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class Contact(Base):
    __tablename__ = "contacts"
    # Newest conversations first, a page at a time (keyset on last message, psid), and by ref.
    __table_args__ = (
        Index("ix_contacts_recent", "page_id", "last_user_message_at", "psid"),
        Index("ix_contacts_ref", "page_id", "ref"),
        Index("ix_contacts_first_key", "page_id", "first_key"),
        Index("ix_contacts_last_key", "page_id", "last_key"),
    )

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    psid: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict[str, Any]]
    last_user_message_at: Mapped[datetime | None]
    profile_checked_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    # Copies of the state operators search by (the state stays the truth), kept by save.
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    ref: Mapped[str | None] = mapped_column(String(255))
    ref_source: Mapped[str | None] = mapped_column(String(32))
    first_seen_at: Mapped[datetime | None]
    last_message: Mapped[str | None] = mapped_column(String(500))  # the contact's, shortened
    # A person answered: automation waits for this contact until then (or a handback).
    agent_until: Mapped[datetime | None]
    # The names folded for search (contact_search.name_key: no case, no accents), compared
    # byte by byte on both databases, so a name prefix is a range on an index.
    first_key: Mapped[str | None] = mapped_column(SEARCH_KEY)
    last_key: Mapped[str | None] = mapped_column(SEARCH_KEY)


class ContactTag(Base):
    __tablename__ = "contact_tags"
    __table_args__ = (Index("ix_contact_tags_tag", "page_id", "tag", "psid"),)

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    psid: Mapped[str] = mapped_column(String(64), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)


class ContactField(Base):
    __tablename__ = "contact_fields"
    __table_args__ = (Index("ix_contact_fields_value", "page_id", "name", "value"),)

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    psid: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(1000))


class OutboxMessage(Base):
    __tablename__ = "outbox"
    # Whether a contact has a message in flight (claimed or sending) anywhere: if so, its
    # next one waits, so a contact's messages leave in order across processes.
    __table_args__ = (
        Index("ix_outbox_contact_status", "page_id", "contact_id", "status"),
        Index("ix_outbox_conversation", "page_id", "contact_id", "id"),
        Index("ix_outbox_broadcast", "page_id", "broadcast", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    page_id: Mapped[str] = mapped_column(String(64), index=True)
    contact_id: Mapped[str] = mapped_column(String(64))  # by page first: the indexes above
    kind: Mapped[str] = mapped_column(String(16), default="message")
    body: Mapped[dict[str, Any]]
    preview: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str | None] = mapped_column(String(512))
    messaging_type: Mapped[str | None] = mapped_column(String(32))
    tag: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(128))  # read by page and contact
    error_code: Mapped[int | None]
    error_subcode: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime | None]
    possible_duplicate: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    # Why Facebook's rules allowed it, decided with it (policy.Delivery.because).
    rationale: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(16))  # flow | agent | broadcast
    broadcast: Mapped[str | None] = mapped_column(String(128))  # the broadcast's name
    author: Mapped[str | None] = mapped_column(String(128))  # the person who typed it


class PageState(Base):
    __tablename__ = "page_state"

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused_reason: Mapped[str | None] = mapped_column(String(64))
    paused_detail: Mapped[str | None] = mapped_column(Text)
    paused_code: Mapped[int | None]
    paused_subcode: Mapped[int | None]
    paused_at: Mapped[datetime | None]
    token_fingerprint: Mapped[str | None] = mapped_column(String(64))
    slow_until: Mapped[datetime | None]
    rate_limit_strikes: Mapped[int] = mapped_column(default=0, server_default="0")
    # The page's pace, shared by every process: the earliest moment the next send may start.
    next_send_at: Mapped[datetime | None]
    # Sends per second, set by the last process to start: every process paces by it.
    rate: Mapped[float | None]
    updated_at: Mapped[datetime]


class FollowUp(Base):
    __tablename__ = "follow_ups"
    # The claim query's (worker.process_due): the pending ones due by now, earliest first.
    __table_args__ = (Index("ix_follow_ups_pending_due", "status", "due_at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    page_id: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    # Both read through ix_follow_ups_pending_due (migration 0011: no index of their own).
    due_at: Mapped[datetime]
    spec: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    # issue 12: R. Why one did not run (status `cancelled`): the engine's reason
    # (contact_replied, handed_off, date_passed...) and its sentence. A follow-up never
    # scheduled is a cancelled row of its own, `fired_at` the moment that was decided.
    reason: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class CommentReply(Base):
    __tablename__ = "comment_replies"

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    comment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    replied_at: Mapped[datetime]


class MediaCheck(Base):
    __tablename__ = "media_checks"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(255))
    checked_at: Mapped[datetime]


class BroadcastRun(Base):
    __tablename__ = "broadcast_runs"

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime]
    contacts: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="running", server_default="running")
    # schedule (its time in the flow came) | operator (`broadcast send`)
    requested: Mapped[str] = mapped_column(
        String(16), default="schedule", server_default="schedule"
    )
    after_psid: Mapped[str | None] = mapped_column(String(64))  # enumerated up to here
    finished_at: Mapped[datetime | None]


class Arrival(Base):
    """A contact arriving: by which ref, from which source (link, QR, ad, comment), or
    with the ref missing (Facebook drops refs for some EU users)."""

    __tablename__ = "arrivals"
    __table_args__ = (
        Index("ix_arrivals_ref", "page_id", "ref", "via"),
        Index("ix_arrivals_at", "page_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    page_id: Mapped[str] = mapped_column(String(64))
    psid: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(32))  # Facebook's referral source
    via: Mapped[str] = mapped_column(String(16))  # link | qr | ad | comment | direct
    ref_missing: Mapped[bool] = mapped_column(default=False, server_default=false())
    at: Mapped[datetime]


class MessageTemplate(Base):
    """A page's template. `components` is NULL while only a status webhook has named it
    (its body, parameters and buttons are then unknown: the declared ones stand)."""

    __tablename__ = "message_templates"
    __table_args__ = (Index("ix_message_templates_template_id", "page_id", "template_id"),)

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(512), primary_key=True)
    language: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    body: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[int | None]
    buttons: Mapped[list[str] | None] = mapped_column(JSON)
    components: Mapped[str | None] = mapped_column(Text)  # Facebook's, as JSON text
    template_id: Mapped[str | None] = mapped_column(String(64))
    # When the stored status was true: a sync's time, or the status webhook's entry time.
    # An older status arriving late never overwrites a newer one.
    updated_at: Mapped[datetime]


class WorkerProcess(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid:random
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime] = mapped_column(index=True)
    stopping: Mapped[bool] = mapped_column(default=False, server_default=false())


class ConnectedPage(Base):
    """A Page connected through Facebook Login on the console's Pages page (issue 11).

    The long-lived page token is kept only sealed (service/token_crypto.py); the
    fingerprint lets a worker notice a new token without opening it.
    """

    __tablename__ = "connected_pages"

    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    token_sealed: Mapped[str] = mapped_column(Text)
    token_fingerprint: Mapped[str] = mapped_column(String(64))
    tasks: Mapped[list[str]] = mapped_column(JSON)
    subscribed_fields: Mapped[list[str]] = mapped_column(JSON)  # as Facebook reported them
    connected_by: Mapped[str] = mapped_column(String(255))
    connected_at: Mapped[datetime]
    updated_at: Mapped[datetime]
