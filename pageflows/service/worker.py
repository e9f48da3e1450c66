"""The worker: inbox events -> the core -> outbox rows and follow-ups, in order per contact.

An event's decision is written in one transaction: the contact's new state,
the outbox rows (queued or skipped with the reason) and the follow-ups are
written together, so a crash never leaves half a decision. A pass decides up
to `BATCH_CONTACTS` contacts per transaction (`decide_batch`, `fire_batch`;
issue 13): their locks in one statement, their events and rows in one query
each, one flush and one commit for all, so a busy page costs a few round
trips per hundred events, not several per event; a batch that cannot be
decided or stored as a whole is redone one event per transaction. Sending happens
after, from the outbox, so a slow or failing Graph API never loses an event.
Any number of worker processes share the work: a contact's events, follow-ups
and broadcast deliveries are decided under the contact's lock (locks.py),
its events always the earliest pending first, so they run in order and never
at the same time, on one machine or many.

No event can stop the others: one that raises is rolled back, retried a few
times with backoff (the contact's later events wait behind it, keeping their
order), then parked with its error (`pageflows inbox replay` retries it after
a fix) and the worker moves on. The same holds for a follow-up and for each
contact of a broadcast.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, cast

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import (
    Engine,
    Table,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pageflows.clock import Clock
from pageflows.engine.contact import ContactState
from pageflows.engine.core import TIMER_KINDS, Decision, handle
from pageflows.engine.effects import (
    Cancelled,
    Effect,
    HandOff,
    Note,
    NotifyOut,
    Schedule,
    Send,
    Skipped,
    TakeBack,
    Typing,
)
from pageflows.engine.events import (
    BroadcastDue,
    FollowUpDue,
    InboundEvent,
    MessageIn,
    TimeoutDue,
    WindowClosingDue,
)
from pageflows.engine.inbound import (
    EchoEvent,
    HandoverEvent,
    MessageEvent,
    PostbackEvent,
    StandbyEvent,
    TemplateStatusEvent,
    UnknownEvent,
    to_core,
)
from pageflows.engine.inbound import InboxEvent as WebhookEvent
from pageflows.engine.policy import send_deadline
from pageflows.rules.compile import Program
from pageflows.rules.page_facts import PageFacts
from pageflows.service import agent, arrivals, broadcasts, pages
from pageflows.service.config import PageConfig
from pageflows.service.facts import FactsCache
from pageflows.service.graph.client import GraphClient, Profile
from pageflows.service.locks import lock_contact, try_lock_contact, try_lock_contacts
from pageflows.service.sender import TYPING_PAUSE, release_held
from pageflows.service.storage.bulk import (
    JsonText,
    Query,
    defer_writes,
    insert_rows,
    run_deferred,
    select_together,
    update_changed,
    update_rows,
)
from pageflows.service.storage.contact_search import (
    WRITTEN_COLUMNS,
    ContactValues,
    copy_searchable,
)
from pageflows.service.storage.contact_search import preload as preload_searchable
from pageflows.service.storage.database import single_statements
from pageflows.service.storage.models import (
    BroadcastRun,
    CommentReply,
    Contact,
    FollowUp,
    InboxEvent,
    OutboxMessage,
)
from pageflows.service.storage.templates import apply_status
from pageflows.service.wake import NOTIFY_SQL, OUTBOX, notify

log = logging.getLogger("pageflows.worker")
EVENTS: TypeAdapter[WebhookEvent] = TypeAdapter(WebhookEvent)
LATE_BROADCAST = timedelta(hours=24)
PROFILE_TTL = timedelta(days=7)
MAX_EVENT_ATTEMPTS = 3
EVENT_RETRY = (timedelta(seconds=1), timedelta(seconds=5))
CANDIDATES = 500
BATCH_CONTACTS = 100  # issue 13: C. Contacts decided per transaction
PROFILE_THREADS = 4  # profile look-ups at once, before a batch's transaction
AHEAD_PASSES = 3  # a batch's contacts checked ahead are forgotten after this many passes
RECEIPT_KINDS = ("delivery", "read", "standby", "template_status")  # make no contact
# New contacts' profiles, looked up (or being looked up) before their batch: wait, get them.
Profiles = Callable[[], dict[tuple[str, str], Profile | None]]


@dataclass
class PageRuntime:
    page_id: str
    program: Program
    client: GraphClient
    get_started_payload: str = "GET_STARTED"
    config: PageConfig | None = None  # its declared facts (region, ad window, templates)

    @property
    def declared(self) -> PageConfig:
        return self.config or PageConfig(id=self.page_id, token="")


class Worker:
    def __init__(
        self,
        engine: Engine,
        pages: dict[str, PageRuntime],
        clock: Clock,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.pages = pages
        self.clock = clock
        self.on_queued = on_queued  # after a commit that may have queued messages: wake a sender
        self.single = single_statements(engine)  # one-statement reads, no BEGIN/ROLLBACK
        self.stopping = threading.Event()  # set on SIGTERM: finish the current event, take no more
        self.unknown_pages: set[str] = set()  # told once per process, not once per event
        self.facts = FactsCache()  # each page's region, ad window and templates (facts.py)
        self._profile_pool: ThreadPoolExecutor | None = None  # new contacts' look-ups
        # Contacts of a batch to come, checked (and looked up when new) ahead of it: the
        # pass that checked them, and the look-up (None: not new when checked).
        self._ahead: dict[tuple[str, str], tuple[int, Future[Profile | None] | None]] = {}
        self._passes = 0
        # issue 13: G. (this process's place, live processes) among the worker processes,
        # from the heartbeats (serve.py): its share of the contacts comes first.
        self.share: tuple[int, int] = (0, 1)

    # ---------------------------------------------------------- inbox

    def process_inbox(self, limit: int = 200) -> int:
        """Pending events, oldest contact first; each contact's events in their order.

        The candidates only say which contacts have work. For each, the events taken
        are the contact's pending ones, oldest first, chosen under the contact's lock
        (locks.py), so no other process can run that contact's events meanwhile
        and no later event can overtake an earlier one. A contact whose earliest
        event waits for a retry keeps its later events behind it; a contact another
        process is busy with is left to that process. Contacts are decided
        `BATCH_CONTACTS` to a transaction (`decide_batch`), and no more contacts than
        the pass's `limit` of events can reach.

        issue 13: G. Several processes on PostgreSQL: each takes its own share of the
        contacts first (`share`, from the heartbeats: contacts by a hash of their id,
        one share per live process), so they do not all try, and look up the profiles
        of, the same oldest contacts; only with room left in the pass does it take any
        contact's events (another's share, a dead process's), starting at a random one
        of those batches. Which process decides a contact never changes what is decided:
        the contact's lock does that.
        """
        now = self.clock.now()
        own = self._own_share()
        if own is not None:
            done, seen = self._decide_candidates(_OWN_CANDIDATES, own, limit, now, spread=False)
            if done < limit and not self.stopping.is_set():
                more, _ = self._decide_candidates(_CANDIDATES, {}, limit - done, now, skip=seen)
                done += more
            return done
        done, _ = self._decide_candidates(_CANDIDATES, {}, limit, now)
        return done

    def _own_share(self) -> dict[str, int] | None:
        """issue 13: G. This process's share as the `_OWN_*` queries' parameters, or None
        when there is nothing to share (one live process, or SQLite's one worker)."""
        index, count = self.share
        if count > 1 and self.engine.dialect.name == "postgresql":
            return {"share_index": index, "share_count": count}
        return None

    def _decide_candidates(
        self,
        candidates: Any,
        params: dict[str, Any],
        limit: int,
        now: datetime,
        *,
        spread: bool = True,
        skip: frozenset[tuple[str, str]] = frozenset(),
    ) -> tuple[int, frozenset[tuple[str, str]]]:
        """The candidates' contacts decided in batches (`skip`: left out); the events
        decided and the contacts tried. `spread`: on PostgreSQL, where several processes
        may read the same candidates, start at a random one of the batches."""
        with self.single.connect() as connection:
            rows = connection.execute(candidates, params).all()
        contacts: dict[tuple[str, str], int] = {}  # in the order of their earliest event
        new: set[tuple[str, str]] = set()  # those not stored yet, of configured pages
        done = 0
        for row_id, page_id, contact_id, makes_new in rows:
            if contact_id is None:  # page-level events (a policy block) have no order to keep
                if self.stopping.is_set() or done >= limit:
                    break
                done += self.process_one(row_id, page_id, None, now)
                continue
            pair = (page_id, contact_id)
            if pair in skip:
                continue
            contacts[pair] = contacts.get(pair, 0) + 1
            if makes_new and page_id in self.pages:
                new.add(pair)
        batches = _batches(contacts, limit)
        if spread and len(batches) > 1 and self.engine.dialect.name == "postgresql":
            # issue 13: several processes read the same oldest candidates; each starting
            # at a batch of its own, they lock different contacts instead of trying the
            # same ones (a batch whose contacts are all held elsewhere decides nothing).
            start = random.randrange(len(batches))
            # But at the batch whose new contacts this process is looking up already (the
            # one after its last batch of the pass before), itself a random one.
            start = next((i for i, b in enumerate(batches) if b[0] in self._ahead), start)
            batches = batches[start:] + batches[:start]
        self._passes += 1
        for pair in [p for p, (at, _) in self._ahead.items() if at < self._passes - AHEAD_PASSES]:
            del self._ahead[pair]  # looked up for a batch that never came (decided elsewhere)
        for index, batch in enumerate(batches):
            if self.stopping.is_set() or done >= limit:
                break
            profiles = self._start_profiles(batch, new)
            if index + 1 < len(batches):
                # issue 13: the next batch's new contacts are looked up while this one is
                # decided, in this pass or the next (a pass of INBOX_PASS events often
                # holds one batch): their Graph calls wait on the network, not on us.
                self._look_up_ahead(batches[index + 1], new)
            done += self.decide_batch(batch, limit - done, profiles)
        if self.stopping.is_set():  # no batch comes: the look-ups not started never start
            for _, looking in self._ahead.values():
                if looking is not None:
                    looking.cancel()
            self._ahead.clear()
        return done, frozenset(contacts)

    def process_contact(self, page_id: str, contact_id: str, now: datetime, limit: int) -> int:
        """The contact's pending events in order, each in its own transaction, until none
        is due, one fails (it waits for its retry) or another process holds the contact."""
        done = 0
        while done < limit and not self.stopping.is_set():
            handled = self.process_one(None, page_id, contact_id, now)
            if not handled:
                break
            done += handled
        return done

    def process_one(
        self, row_id: int | None, page_id: str, contact_id: str | None, now: datetime
    ) -> int:
        """Process the event `row_id` (or the contact's earliest pending one); 1 when one was
        processed or its failure recorded (it waits for a retry, or is parked), else 0."""
        taken: int | None = None
        try:
            with Session(self.engine) as session, session.begin():
                if not try_lock_contact(session, page_id, contact_id):
                    return 0  # another process is deciding for this contact right now
                # Read under the lock, not at the start of the pass: a contact's decisions
                # then carry times that only move forward, whichever process makes them
                # (a follow-up's due time comes from it, and follow-ups fire by due time).
                now = self.clock.now()
                query = select(InboxEvent).where(InboxEvent.status == "pending")
                if row_id is not None:
                    query = query.where(InboxEvent.id == row_id)
                else:
                    query = query.where(
                        InboxEvent.page_id == page_id, InboxEvent.contact_id == contact_id
                    )
                # Locked: another process handling a contact-less event skips it; a contact's
                # earliest event is waited for, never skipped (that would let a later one by).
                row = session.scalars(
                    query.order_by(InboxEvent.id)
                    .limit(1)
                    .with_for_update(skip_locked=contact_id is None)
                ).first()
                if row is None or (row.next_attempt_at is not None and row.next_attempt_at > now):
                    return 0
                taken = row.id
                try:
                    row.status = self._process(session, row, now)
                except ValidationError as exc:
                    row.status, row.error = "parked", f"stored event unreadable: {exc.errors()[:1]}"
                row.processed_at = now
            self.on_queued()
            return 1
        except OperationalError:
            raise  # the database, not the event: no try is counted; the loop waits for it
        except Exception as exc:  # one event's failure must never stop the others
            if taken is None:
                log.exception("could not take the next event of %s", contact_id)
                return 0
            self._failed(taken, page_id, contact_id, exc, now)
            return 1

    # ---------------------------------------------------------- batches (issue 13: C)

    def decide_batch(
        self, contacts: list[tuple[str, str]], limit: int, profiles: Profiles | None = None
    ) -> int:
        """The pending events of up to `BATCH_CONTACTS` contacts, decided in ONE transaction.

        The guarantees are those of `process_one`, for many contacts at once: each
        contact's lock is taken (one statement) before anything is read, and the
        clock read after it; a contact held elsewhere is left to that process. Its
        events are taken oldest first and locked (waited for, never skipped); the
        contacts' rows are read in one query, so deciding an event costs no round
        trip of its own; the writes go out in one flush and one commit. A contact's
        event that waits for its retry keeps its later events behind it.

        Profile look-ups (Graph calls) for contacts not yet stored happen before,
        outside the transaction, so a slow Graph API never holds locks open
        (`profiles`: started already, while the batch before was decided).

        Anything but the database being away (an event that raises while it is
        decided, a value the database refuses at commit) rolls the whole batch back
        and decides its contacts again one event per transaction (`process_contact`),
        the path that isolates the bad event: it waits for its retry, the others go on.
        """
        looked_up = (profiles or self._start_profiles(contacts))()
        try:
            with Session(self.engine) as session, session.begin():
                taken = try_lock_contacts(session, contacts)
                if not taken:
                    return 0
                now = self.clock.now()  # under the locks, as in `process_one`
                # F4: the events and the contacts, both locked, in one statement
                found, stored = select_together(
                    session, [_events_query(taken, max(limit, 1)), _contacts_query(taken)]
                )
                events = _event_rows(found)
                _keep_contacts(session, taken, stored)
                session.info[PROFILES] = looked_up
                session.info[NEW_IDS] = _new_ids(session)  # their keys: read when needed
                session.info[OUTBOX_ROWS] = []  # written in one statement below
                session.info[FOLLOW_UP_ROWS] = []  # so are these
                session.info[arrivals.DEFERRED] = []  # and these
                _notify_later(session)  # and the senders woken in the same statement
                done = 0
                waiting: set[tuple[str, str | None]] = set()
                with session.no_autoflush:
                    for row in events:
                        key = (row.page_id, row.contact_id)
                        if key in waiting:
                            continue
                        if row.next_attempt_at is not None and row.next_attempt_at > now:
                            waiting.add(key)  # its later events wait behind it
                            continue
                        try:
                            row.status = self._process(session, row, now)
                        except ValidationError as exc:
                            row.status = "parked"
                            row.error = f"stored event unreadable: {exc.errors()[:1]}"
                        row.processed_at = now
                        done += 1
                # F4: the batch's writes (five tables, no two touching the same row, none
                # read before the commit) and the notification as ONE statement: a lone
                # event's reply waited for five round trips here (issue 13, tenth session).
                defer_writes(session)
                _write_contacts(session)
                _write_events(session, events)
                _write_follow_ups(session)
                arrivals.write_deferred(session)
                _write_outbox(session)
                _send_writes(session)
            if done:
                self.on_queued()
            return done
        except OperationalError:
            raise  # the database, not an event: nothing counted; the loop waits for it
        except Exception as exc:
            log.warning(
                "a batch of %d contacts could not be decided together (%s: %s);"
                " deciding them one event at a time",
                len(contacts),
                type(exc).__name__,
                str(exc)[:200],
            )
            return self._one_at_a_time(contacts, limit)

    def _one_at_a_time(self, contacts: list[tuple[str, str]], limit: int) -> int:
        done = 0
        for page_id, contact_id in contacts:
            if self.stopping.is_set() or done >= limit:
                break
            done += self.process_contact(page_id, contact_id, self.clock.now(), limit - done)
        return done

    def _start_profiles(
        self, contacts: list[tuple[str, str]], new: set[tuple[str, str]] | None = None
    ) -> Profiles:
        """The names of the batch's contacts not stored yet, looked up before its transaction
        (several at once, `PROFILE_THREADS`): the event's transaction then makes no Graph
        call. A failed look-up is None: that contact is greeted without a name, as before.
        Started here (or already, `_look_up_ahead`), waited for by calling what this
        returns; a lone look-up is made in this thread (a lone event's answer waits for it
        anyway). A contact checked ahead and found stored then is not asked about again:
        one that is new after all (its row deleted meanwhile) is looked up when decided.
        `new`: the contacts the pass's candidates found not stored (`_CANDIDATES`); without
        it (a batch decided on its own) they are asked for (`_missing`)."""
        looking: list[tuple[tuple[str, str], Future[Profile | None]]] = []
        unchecked: list[tuple[str, str]] = []
        for pair in contacts:
            checked = self._ahead.pop(pair, None)
            if checked is None:
                unchecked.append(pair)
            elif checked[1] is not None:
                looking.append((pair, checked[1]))
        missing = self._missing(unchecked) if new is None else [p for p in unchecked if p in new]
        if len(missing) == 1 and not looking:
            found = {missing[0]: self._look_up(missing[0])}
            return lambda: found
        looking += [(pair, self._submit(pair)) for pair in missing]
        if not looking:
            return dict
        return lambda: {pair: future.result() for pair, future in looking}

    def _look_up_ahead(self, contacts: list[tuple[str, str]], new: set[tuple[str, str]]) -> None:
        """Start looking up the new contacts (`new`, as the pass's candidates said) of a
        batch to come."""
        for pair in [pair for pair in contacts if pair not in self._ahead]:
            self._ahead[pair] = (self._passes, self._submit(pair) if pair in new else None)

    def _missing(self, contacts: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The contacts (of configured pages) not stored yet whose pending events will make
        one (not receipts alone), in the order given."""
        wanted = [(p, c) for p, c in contacts if p in self.pages]
        if not wanted:
            return []
        pages = {page_id for page_id, _ in wanted}
        with self.single.connect() as connection:
            if len(pages) == 1:  # the statement built once, its values bound (issue 13)
                found = connection.execute(
                    _MISSING_OF_PAGE, {"page": wanted[0][0], "ids": [c for _, c in wanted]}
                )
            else:
                found = connection.execute(
                    _MISSING.where(_of_contacts(InboxEvent, wanted)).distinct()
                )
            needing = set(found.all())
        return [pair for pair in wanted if pair in needing]

    def _look_up(self, pair: tuple[str, str]) -> Profile | None:
        return self.pages[pair[0]].client.get_profile(pair[1])

    def _submit(self, pair: tuple[str, str]) -> Future[Profile | None]:
        if self._profile_pool is None:  # kept: a pool's threads cost a start per batch
            self._profile_pool = ThreadPoolExecutor(PROFILE_THREADS, "pf-profile")
        return self._profile_pool.submit(self._look_up, pair)

    @staticmethod
    def _contact_row(
        session: Session, page_id: str, psid: str, lock: bool = False
    ) -> Contact | ContactValues | None:
        """The contact's row: from the batch's preloaded rows, or read (and locked)."""
        rows: dict[tuple[str, str], Contact | ContactValues | None] | None = session.info.get(
            CONTACT_ROWS
        )
        if rows is not None and (page_id, psid) in rows:
            return rows[(page_id, psid)]
        return session.get(Contact, (page_id, psid), with_for_update=True if lock else None)

    def _failed(
        self, row_id: int, page_id: str, contact_id: str | None, exc: Exception, now: datetime
    ) -> None:
        """Count the failure under the contact's lock, so no other process decides the
        contact's next event while this one is being marked to wait."""
        error = f"{type(exc).__name__}: {exc}"[:2000]
        with Session(self.engine) as session, session.begin():
            lock_contact(session, page_id, contact_id)
            row = session.get(InboxEvent, row_id, with_for_update=True)
            if row is None or row.status != "pending":
                return
            row.attempts += 1
            row.error = error
            if row.attempts >= MAX_EVENT_ATTEMPTS:
                row.status, row.processed_at, row.next_attempt_at = "parked", now, None
                log.error(
                    "inbox event %s (%s from %s) parked after %d failures: %s;"
                    " `pageflows inbox replay %s` retries it after a fix",
                    row.id,
                    row.kind,
                    row.contact_id,
                    row.attempts,
                    error,
                    row.id,
                )
                return
            row.next_attempt_at = now + EVENT_RETRY[min(row.attempts, len(EVENT_RETRY)) - 1]
            log.warning(
                "inbox event %s failed (try %d of %d), retrying: %s",
                row.id,
                row.attempts,
                MAX_EVENT_ATTEMPTS,
                error,
            )

    def _process(self, session: Session, row: InboxEvent | EventRow, now: datetime) -> str:
        runtime = self.pages.get(row.page_id)
        if runtime is None:
            if row.page_id not in self.unknown_pages:
                self.unknown_pages.add(row.page_id)
                log.warning(
                    "events for page %s are stored but not answered: no page with that id is"
                    " configured here (configured: %s); check PAGEFLOWS_PAGE_ID or [[pages]]",
                    row.page_id,
                    ", ".join(sorted(self.pages)) or "none",
                )
            return "ignored"
        event = EVENTS.validate_python(row.payload)
        if not isinstance(event, MessageEvent | PostbackEvent):
            _write_outbox(session, keep=True)  # the paths below add or touch outbox rows too
            _write_follow_ups(session)  # (and, as far as this batch knows, these)
            arrivals.write_deferred(session)
        if isinstance(event, TemplateStatusEvent):
            return self._template_status(session, event, row.received_at)
        if event.kind in ("delivery", "read"):
            self._watermark(session, row.page_id, event)
            return "done"
        if isinstance(event, HandoverEvent):
            return self._handover(session, runtime, event, now)
        if isinstance(event, UnknownEvent):
            return self._unknown(session, runtime, event, now)
        if isinstance(event, StandbyEvent):
            return self._standby(session, runtime, event, now)
        if isinstance(event, EchoEvent):
            return self._echo(session, runtime, event, now)
        core_event = to_core(event, runtime.get_started_payload)
        if core_event is None:
            return "ignored"
        if core_event.kind == "comment" and getattr(core_event, "from_page", False):
            return "ignored"
        if core_event.kind == "comment":
            replied = session.get(
                CommentReply, (row.page_id, getattr(core_event, "comment_id", ""))
            )
            core_event = core_event.model_copy(update={"already_replied": replied is not None})
        decision = self.decide(session, runtime, core_event, now)
        # issue 12: R. Why it sent nothing, as the engine said it, for operators to read.
        # An empty list says the engine decided and noted nothing (a trigger ran).
        row.notes = [e.text for e in decision.effects if isinstance(e, Note)]
        return "done"

    def _handover(
        self, session: Session, runtime: PageRuntime, event: HandoverEvent, now: datetime
    ) -> str:
        """In `messaging[]` (not standby), a pass names us the new owner; a take, the old one."""
        if event.action == "request_thread_control":
            return "ignored"
        ours = event.action == "pass_thread_control"
        contact = self.load_contact(session, runtime, event.sender_id, now)
        if contact.handed_off != (not ours) or (ours and contact.agent_until is not None):
            # The thread back ends a person's pause too: automation resumes now.
            update: dict[str, object] = {"handed_off": not ours}
            if ours:
                update["agent_until"] = None
                update["handoff_until"] = None  # issue 12: a `handoff ... for` ends early
            contact = contact.model_copy(update=update)
            self.save_contact(session, runtime.page_id, contact, now)
        if ours:  # held messages are released on every pass back, whatever the state said
            released = release_held(
                session, runtime.page_id, contact.id, contact.last_user_message_at, now
            )
            log.info(
                "the thread with %s is back; automation resumes (%d held message(s) queued)",
                contact.id,
                released,
            )
        else:
            log.info("another app took the thread with %s; automation waits", contact.id)
        return "done"

    def _echo(self, session: Session, runtime: PageRuntime, event: EchoEvent, now: datetime) -> str:
        """A copy of what the Page sent. One a person typed in Facebook's Page inbox takes
        the conversation as a reply through the API does (automation pauses until the
        page's `handback_after`) and is kept so the conversation shows it; echoes of our
        own sends and of other apps change nothing."""
        if not event.from_page_inbox:
            return "ignored"
        contact = self.load_contact(session, runtime, event.contact_id, now)
        paused = agent.pause(contact, event.timestamp, runtime.declared.handback_after)
        paused = paused.model_copy(update={"inbox_has_thread": True})
        if paused != contact:
            self.save_contact(session, runtime.page_id, paused, now)
        agent.record_page_inbox_reply(
            session,
            runtime.page_id,
            event.contact_id,
            mid=event.mid,
            text=event.text,
            attachments=[a.type for a in event.attachments],
            at=event.timestamp,
            now=now,
        )
        log.info(
            "a person answered %s in the Page inbox; automation waits until %s",
            event.contact_id,
            paused.agent_until,
        )
        return "done"

    def _standby(
        self, session: Session, runtime: PageRuntime, event: StandbyEvent, now: datetime
    ) -> str:
        """Another app has the thread: no flow runs, but the contact's message still opens
        the Page's window, which decides what may go once the thread comes back."""
        inner = event.event
        if isinstance(inner, EchoEvent):  # a person typing in the Page inbox that holds it
            return self._echo(session, runtime, inner, now)
        if not isinstance(inner, MessageEvent | PostbackEvent):
            return "ignored"
        row = self._contact_row(session, runtime.page_id, inner.sender_id)
        if row is None:
            return "ignored"
        # A batch's row of plain values holds its state as text (the column
        # `last_user_message_at` is always the state's own: `save_contact` writes both).
        state = _parsed(row) if isinstance(row, ContactValues) else None
        last = state.last_user_message_at if state is not None else row.last_user_message_at
        if last is None or inner.timestamp > last:
            if state is None:
                state = ContactState.model_validate(row.state)
            contact = state.model_copy(update={"last_user_message_at": inner.timestamp})
            self.save_contact(session, runtime.page_id, contact, now)
        return "done"

    def _template_status(
        self, session: Session, event: TemplateStatusEvent, received_at: datetime
    ) -> str:
        """Store the template's new status; this process reads the page's facts again at its
        next decision, the others within `facts.FACTS_TTL` seconds."""
        applied = apply_status(
            session,
            event.page_id,
            event.event,
            event.timestamp or received_at,
            name=event.name,
            language=event.language,
            template_id=event.template_id,
        )
        self.facts.forget(event.page_id)
        log.info(
            "page %s: template %s (%s) is %s%s%s",
            event.page_id,
            event.name,
            event.language,
            event.event,
            f" ({event.reason})" if event.reason and event.reason != "NONE" else "",
            "; an older status than the one stored, kept as it was" if applied == "stale" else "",
        )
        return "ignored" if applied == "stale" else "done"

    def _unknown(
        self, session: Session, runtime: PageRuntime, event: UnknownEvent, now: datetime
    ) -> str:
        """Kept raw; a `policy_enforcement` block pauses the page, an unblock resumes it."""
        if event.field.endswith("template_status_update"):
            log.warning(
                "page %s: a template status update Facebook sent lacks the event, name or"
                " language, or holds one pageflows cannot store; kept in the inbox, ignored",
                runtime.page_id,
            )
            return "ignored"
        enforcement = event.raw.get("policy_enforcement")
        if not isinstance(enforcement, dict):
            return "ignored"
        action, reason = enforcement.get("action"), str(enforcement.get("reason") or "")
        if action == "block":
            if pages.pause(
                session,
                runtime.page_id,
                reason="policy_block",
                detail=reason or "Facebook blocked the page's messaging",
                code=None,
                subcode=None,
                token=runtime.client.token,
                now=now,
            ):
                log.error(
                    "page %s: Facebook blocked its messaging (policy_enforcement: %s);"
                    " sending paused, messages stay queued until an unblock",
                    runtime.page_id,
                    reason or "no reason given",
                )
        elif action == "unblock":
            pages.resume(session, runtime.page_id, now, "Facebook unblocked the page")
        else:
            log.warning(
                "page %s: Facebook policy warning (%s): %s", runtime.page_id, action, reason
            )
        return "done"

    def _watermark(self, session: Session, page_id: str, event: Any) -> None:
        watermark = _as_datetime(getattr(event, "watermark", None))
        contact_id = getattr(event, "contact_id", None)
        if watermark is None or contact_id is None:
            return
        column, status = (
            (OutboxMessage.read_at, "read")
            if event.kind == "read"
            else (OutboxMessage.delivered_at, "delivered")
        )
        eligible = ("sent",) if status == "delivered" else ("sent", "delivered")
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.page_id == page_id,
                OutboxMessage.contact_id == contact_id,
                OutboxMessage.status.in_(eligible),
                OutboxMessage.sent_at <= watermark,
            )
            .values({column: watermark, OutboxMessage.status: status})
        )

    # ---------------------------------------------------------- deciding

    def decide(
        self, session: Session, runtime: PageRuntime, event: InboundEvent, now: datetime
    ) -> Decision:
        contact = self.load_contact(session, runtime, event.contact_id, now)
        # issue 13: told by the event's `kind` (one string compare, where each `isinstance`
        # that misses a pydantic class costs a quarter of a microsecond): our own timers
        # make no arrival (arrivals.CONTACT_EVENTS), so a due follow-up asks nothing of it.
        kind = event.kind
        if kind not in TIMER_KINDS:
            is_new = self._contact_row(session, runtime.page_id, event.contact_id) is None
            arrivals.record(session, runtime.page_id, event, is_new)
        page = self.page_facts(session, runtime)
        decision = handle(
            runtime.program, contact, event, now, runtime.get_started_payload, page=page
        )
        text = event.text if kind == "message" and isinstance(event, MessageIn) else None
        self.save_contact(session, runtime.page_id, decision.contact, now, last_message=text)
        comment_at = event.timestamp if kind == "comment" else None
        broadcast = (
            (event.run or event.name)
            if kind == "broadcast" and isinstance(event, BroadcastDue)
            else None
        )
        # The 7-day window after an ad binds a message as long as it let it go.
        ad_at = decision.contact.ad_message_at if page.ad_window else None
        for effect in decision.effects:
            deadline = (
                send_deadline(
                    effect.delivery,
                    decision.contact.last_user_message_at,
                    comment_created_at=comment_at if effect.outbound.recipient.comment_id else None,
                    ad_message_at=ad_at,
                )
                if effect.kind == "send" and isinstance(effect, Send)
                else None
            )
            if (
                effect.kind == "typing"
                and isinstance(effect, Typing)
                and effect.delivery is not None
            ):  # issue 12: D
                deadline = send_deadline(
                    effect.delivery, decision.contact.last_user_message_at, ad_message_at=ad_at
                )
            self.apply(
                session, runtime.page_id, decision.contact.id, effect, now, deadline, broadcast
            )
        return decision

    def page_facts(self, session: Session, runtime: PageRuntime) -> PageFacts:
        """The page as the engine decides for it: declared, overlaid by stored templates."""
        return self.facts.get(session, runtime.declared)

    def load_contact(
        self, session: Session, runtime: PageRuntime, psid: str, now: datetime
    ) -> ContactState:
        # Locked for the event's transaction: one contact's events never run at once.
        row = self._contact_row(session, runtime.page_id, psid, lock=True)
        if isinstance(row, ContactValues):
            return _parsed(row)
        if row is not None:
            return ContactState.model_validate(row.state)
        looked_up: dict[tuple[str, str], Profile | None] = session.info.get(PROFILES, {})
        if (runtime.page_id, psid) in looked_up:  # before the batch's transaction
            profile = looked_up[(runtime.page_id, psid)]
        else:
            profile = runtime.client.get_profile(psid)
        if profile is None:
            log.info("profile look-up for %s failed; greeting without a name", psid)
            return ContactState(id=psid)
        return ContactState(id=psid, first_name=profile.first_name, last_name=profile.last_name)

    def save_contact(
        self,
        session: Session,
        page_id: str,
        contact: ContactState,
        now: datetime,
        last_message: str | None = None,
    ) -> None:
        """The state, and the copies of it operators search by (contact_search.py)."""
        row = self._contact_row(session, page_id, contact.id)
        if isinstance(row, ContactValues):  # a batch of follow-ups: written at its end
            earlier = _parsed(row)
            if contact is not earlier:  # else the state's text is already what it is
                row.parsed = None  # read again from `state` if needed
                row.state = JsonText(contact.model_dump_json())
            row.changed = True
            row.last_user_message_at = contact.last_user_message_at
            row.updated_at = now
            copy_searchable(session, row, earlier, contact, last_message)
            return
        if row is None and session.info.get(PLAIN_CONTACTS):
            # issue 13: a batch's new contact as plain values too, inserted at its end
            # (`_write_contacts`); the batch's next event of the contact finds it here.
            row = ContactValues(
                page_id,
                contact.id,
                JsonText(contact.model_dump_json()),
                None,
                last_user_message_at=contact.last_user_message_at,
                updated_at=now,
                new=True,
                profile_checked_at=now,
            )
            session.info[CONTACT_ROWS][(page_id, contact.id)] = row
            copy_searchable(session, row, None, contact, last_message)
            return
        state = contact.model_dump(mode="json")
        if row is None:
            row = Contact(page_id=page_id, psid=contact.id, profile_checked_at=now)
            session.add(row)
            if CONTACT_ROWS in session.info:  # the batch's next event of this contact finds it
                session.info[CONTACT_ROWS][(page_id, contact.id)] = row
            before = None
        else:
            before = ContactState.model_validate(row.state)
        row.state = state
        row.last_user_message_at = contact.last_user_message_at
        row.updated_at = now
        copy_searchable(session, row, before, contact, last_message)

    def apply(
        self,
        session: Session,
        page_id: str,
        contact_id: str,
        effect: Effect,
        now: datetime,
        deadline: datetime | None = None,
        broadcast: str | None = None,
    ) -> None:
        if isinstance(effect, Send | Skipped):
            outbound = effect.outbound
            row = _outbox_row(
                page_id=page_id,
                contact_id=contact_id,
                kind="message",
                preview=outbound.preview[:2000],
                origin=str(outbound.origin) if outbound.origin else None,
                created_at=now,
                source="broadcast" if broadcast else "flow",
                broadcast=broadcast,
            )
            if isinstance(effect, Send):
                row["body"] = effect.request_body()
                row["status"] = "queued"
                _notify_outbox(session)
                row["expires_at"] = deadline
                row["messaging_type"] = effect.delivery.messaging_type
                row["tag"] = effect.delivery.tag
                row["rationale"] = effect.delivery.because or None
                if outbound.recipient.comment_id:
                    session.merge(
                        CommentReply(
                            page_id=page_id,
                            comment_id=outbound.recipient.comment_id,
                            replied_at=now,
                        )
                    )
            else:
                recipient = outbound.recipient.as_json()
                row["body"] = {"recipient": recipient, "message": outbound.message}
                row["status"], row["reason"] = "skipped", effect.reason
                row["detail"] = effect.detail
                log.info(
                    "skipped a message to %s (%s): %s", contact_id, effect.reason, effect.detail
                )
            _add_outbox(session, row)
        elif isinstance(effect, Schedule):
            self.schedule(session, page_id, contact_id, effect, now)
        elif isinstance(effect, HandOff | TakeBack | NotifyOut):
            body: dict[str, Any] = (
                {"reason": effect.reason, "psid": contact_id}
                if isinstance(effect, HandOff | TakeBack)
                else {"url": effect.url, "payload": effect.payload}
            )
            _add_outbox(
                session,
                _outbox_row(
                    page_id=page_id,
                    contact_id=contact_id,
                    kind=effect.kind,
                    body=body,
                    preview=effect.kind,
                    status="queued",
                    created_at=now,
                ),
            )
            _notify_outbox(session)
        elif isinstance(effect, Cancelled):
            log.info(
                "follow-up for %s cancelled (%s): %s", contact_id, effect.reason, effect.detail
            )
            if effect.key is not None:  # never scheduled: a row of its own (a due one: fire)
                self.not_scheduled(session, page_id, contact_id, effect, now)
        elif isinstance(effect, Typing):
            self.typing(session, page_id, contact_id, effect, now, deadline)

    def typing(
        self,
        session: Session,
        page_id: str,
        contact_id: str,
        effect: Typing,
        now: datetime,
        deadline: datetime | None,
    ) -> None:
        """issue 12: D. A typing indicator as an outbox row of its own, in the contact's
        order: the sender sends it, then holds the contact's next row for its pause
        (`typing_pause` in the body, taken out before the call). One not sent is kept,
        skipped with its reason, beside the messages of its run."""
        body = {**effect.request_body(), TYPING_PAUSE: effect.pause.total_seconds()}
        row = _outbox_row(
            page_id=page_id,
            contact_id=contact_id,
            kind="typing",
            body=body,
            preview=f"\u2026 typing {effect.pause.total_seconds():g}s",
            origin=str(effect.origin) if effect.origin else None,
            created_at=now,
            source="flow",
        )
        if effect.delivery is None:
            row["status"], row["reason"] = "skipped", effect.skip_reason
            row["detail"] = effect.skip_detail
        else:
            row["status"], row["expires_at"] = "queued", deadline
            row["messaging_type"] = effect.delivery.messaging_type
            row["rationale"] = effect.delivery.because or None
            _notify_outbox(session)
        _add_outbox(session, row)

    def schedule(
        self, session: Session, page_id: str, contact_id: str, effect: Schedule, now: datetime
    ) -> None:
        if _scheduled_before(session, effect.key):
            return
        if effect.purpose == "window_closing":
            _write_follow_ups(session)  # a batch's earlier window_closing row is superseded too
            session.flush()
            session.execute(
                update(FollowUp)
                .where(
                    FollowUp.page_id == page_id,
                    FollowUp.contact_id == contact_id,
                    FollowUp.purpose == "window_closing",
                    FollowUp.status == "pending",
                )
                .values(status="superseded")
            )
            _supersede_due(session, page_id, contact_id)
        spec = effect.model_dump(mode="json", exclude={"origin", "kind"})
        _add_follow_up(
            session,
            key=effect.key,
            page_id=page_id,
            contact_id=contact_id,
            purpose=effect.purpose,
            due_at=effect.due_at,
            spec=spec,
            status="pending",
            created_at=now,
        )

    def not_scheduled(
        self, session: Session, page_id: str, contact_id: str, effect: Cancelled, now: datetime
    ) -> None:
        """issue 12: R. A follow-up the engine could not schedule (its stored date is
        missing, unreadable or past), kept as a cancelled row with the reason, so the
        conversation shows it; its key is the Schedule's own, so a second pass over the
        same decision records it once."""
        assert effect.key is not None
        if _scheduled_before(session, effect.key):
            return
        _add_follow_up(
            session,
            key=effect.key,
            page_id=page_id,
            contact_id=contact_id,
            purpose="follow_up",
            due_at=effect.due_at or now,
            spec={"origin": str(effect.origin) if effect.origin else None},
            status="cancelled",
            created_at=now,
            fired_at=now,
            reason=effect.reason[:32],
            detail=effect.detail,
        )

    # ---------------------------------------------------------- time

    def process_due(self) -> int:
        """Due follow-ups and broadcast deliveries, each under its contact's lock, a contact's
        in the order they fell due: one that finds the contact busy keeps the later ones of
        that contact for the next pass, so none overtakes it.

        issue 13: G. Several processes on PostgreSQL: as in `process_inbox`, each fires its
        own share of the contacts first, then any contact's (a gone or slow process's
        share), starting at a random batch, so they do not all try the same contacts'
        locks in the same order. The contact's lock still decides who fires what."""
        now = self.clock.now()
        started = self.start_broadcasts(now)
        own = self._own_share()
        if own is not None:
            done, seen, reached = self._fire_candidates(_OWN_DUE, own, now, spread=False)
            if reached and not self.stopping.is_set():
                more, _, reached = self._fire_candidates(_DUE, {}, now, skip=seen)
                done += more
        else:
            done, _, reached = self._fire_candidates(_DUE, {}, now)
        if not reached:  # the database is away: the broadcasts' runs are finished next pass
            return done + started
        return done + started + broadcasts.finish_runs(self.engine, self.clock.now())

    def _fire_candidates(
        self,
        candidates: Any,
        params: dict[str, Any],
        now: datetime,
        *,
        spread: bool = True,
        skip: frozenset[tuple[str, str]] = frozenset(),
    ) -> tuple[int, frozenset[tuple[str, str]], bool]:
        """The due candidates' contacts fired in batches (`skip`: left out); the follow-ups
        fired, the contacts tried, and False if the database went away meanwhile (the
        rest wait for the next pass). `spread`: on PostgreSQL, start at a random batch."""
        with self.single.connect() as connection:  # one statement: no BEGIN, no ROLLBACK
            due = connection.execute(candidates, {"now": now, **params}).all()
        ids: dict[tuple[str, str], list[int]] = {}  # each contact's, in the order they fell due
        for follow_up_id, page_id, contact_id in due:
            if (page_id, contact_id) not in skip:
                ids.setdefault((page_id, contact_id), []).append(follow_up_id)
        contacts = list(ids)
        batches = [
            contacts[start : start + BATCH_CONTACTS]
            for start in range(0, len(contacts), BATCH_CONTACTS)
        ]
        if spread and len(batches) > 1 and self.engine.dialect.name == "postgresql":
            start = random.randrange(len(batches))
            batches = batches[start:] + batches[:start]
        done = 0
        for batch in batches:
            if self.stopping.is_set():
                break
            try:
                done += self.fire_batch(batch, ids, now)
            except OperationalError as exc:  # the database, not the follow-ups: next pass
                log.warning("due follow-ups wait for the database: %s", exc)
                return done, frozenset(ids), False
        return done, frozenset(ids), True

    def fire_batch(
        self, contacts: list[tuple[str, str]], ids: dict[tuple[str, str], list[int]], now: datetime
    ) -> int:
        """issue 13: C. The due follow-ups (and broadcast deliveries) of up to
        `BATCH_CONTACTS` contacts, claimed and decided in ONE transaction, as `fire` does
        one: under each contact's lock (one statement), the clock read after it, the
        rows locked (one query; one taken elsewhere is skipped and the contact's later
        ones wait for the next pass). One that raises rolls the batch back and the
        batch is done again one follow-up per transaction (`_fire_one_at_a_time`),
        which parks the bad one and goes on with the others."""
        try:
            with Session(self.engine) as session, session.begin():
                taken = try_lock_contacts(session, contacts)
                if not taken:
                    return 0
                now = self.clock.now()
                wanted = [i for pair in taken for i in ids[pair]]
                # F4: both reads in one statement (one round trip, one snapshot)
                due, stored = select_together(session, [_due_query(wanted), _contacts_query(taken)])
                rows = _keep_due(session, due)
                _keep_contacts(session, taken, stored)
                session.info[OUTBOX_ROWS] = []  # written in one statement below
                _notify_later(session)  # and the senders woken in it
                fired: list[DueRow] = []
                with session.no_autoflush:
                    for pair in taken:
                        for follow_up_id in ids[pair]:
                            row = rows.get(follow_up_id)
                            if row is None or row.status != "pending":
                                break  # taken elsewhere: none of the contact's overtakes it
                            self._fire_row(session, row, now)
                            fired.append(row)
                defer_writes(session)
                _write_contacts(session)
                _write_due(session, fired)
                _write_outbox(session)
                _send_writes(session)
                done = len(fired)
            if done:
                self.on_queued()
            return done
        except OperationalError:
            raise
        except Exception as exc:
            log.warning(
                "the due follow-ups of %d contacts could not be decided together (%s: %s);"
                " deciding them one at a time",
                len(contacts),
                type(exc).__name__,
                str(exc)[:200],
            )
            return self._fire_one_at_a_time(contacts, ids, now)

    def _fire_one_at_a_time(
        self, contacts: list[tuple[str, str]], ids: dict[tuple[str, str], list[int]], now: datetime
    ) -> int:
        """Each follow-up in its own transaction (`fire`); one that fails is parked."""
        done = 0
        for page_id, contact_id in contacts:
            for follow_up_id in ids[(page_id, contact_id)]:
                if self.stopping.is_set():
                    return done
                try:
                    fired = self.fire(follow_up_id, page_id, contact_id)
                except OperationalError:
                    raise
                except Exception as exc:  # a follow-up that cannot run must not stop the others
                    self._park_follow_up(follow_up_id, page_id, contact_id, exc, now)
                    fired = 1
                if not fired:
                    break  # an earlier one of this contact's is not done: no overtaking it
                done += fired
        return done

    def _park_follow_up(
        self, follow_up_id: int, page_id: str, contact_id: str, exc: Exception, now: datetime
    ) -> None:
        with Session(self.engine) as session, session.begin():
            lock_contact(session, page_id, contact_id)
            row = session.get(FollowUp, follow_up_id, with_for_update=True)
            if row is None or row.status != "pending":
                return
            row.status, row.fired_at = "parked", now
        log.error(
            "follow-up %s failed and is parked: %s: %s", follow_up_id, type(exc).__name__, exc
        )

    def fire(self, follow_up_id: int, page_id: str, contact_id: str) -> int:
        """Decide one due follow-up (or broadcast delivery); 1 if this process did it."""
        with Session(self.engine) as session, session.begin():
            if not try_lock_contact(session, page_id, contact_id):
                return 0  # the contact is busy elsewhere; the next pass takes it
            now = self.clock.now()  # under the lock, as for inbox events
            row = session.get(FollowUp, follow_up_id, with_for_update={"skip_locked": True})
            if row is None or row.status != "pending":
                return 0
            self._fire_row(session, row, now)
        self.on_queued()
        return 1

    def _fire_row(self, session: Session, row: FollowUp | DueRow, now: datetime) -> None:
        """Decide the due follow-up `row` (taken, pending) in `session`."""
        row.status, row.fired_at = "done", now
        runtime = self.pages.get(row.page_id)
        if runtime is None:
            row.status = "orphaned"
            return
        decision = self.decide(session, runtime, self._due_event(row), now)
        # issue 12: R. One that did not run keeps the engine's reason on its row.
        cancelled = [
            e
            for e in decision.effects
            if e.kind == "cancelled" and isinstance(e, Cancelled) and not e.key
        ]
        if cancelled:
            row.status = "cancelled"
            row.reason, row.detail = cancelled[0].reason[:32], cancelled[0].detail

    @staticmethod
    def _due_event(row: FollowUp | DueRow) -> InboundEvent:
        spec = row.spec
        base = {"contact_id": row.contact_id, "timestamp": row.due_at}
        if row.purpose == "broadcast":
            return BroadcastDue(name=spec["name"], run=spec.get("run"), **base)
        if row.purpose == "window_closing":
            return WindowClosingDue(root=spec["root"], for_message_at=spec["created_at"], **base)
        if row.purpose in ("ask_timeout", "handoff_timeout"):  # issue 12: asks
            return TimeoutDue(
                purpose=row.purpose,
                root=spec["root"],
                path=tuple(spec["path"]),
                created_at=spec["created_at"],
                **base,
            )
        return FollowUpDue(
            root=spec["root"],
            path=tuple(spec["path"]),
            created_at=spec["created_at"],
            unless_replied=spec["unless_replied"],
            tag=spec["tag"],
            topic=spec["topic"],
            **base,
        )

    def start_broadcasts(self, now: datetime) -> int:
        """A due broadcast becomes one delivery per contact (a follow-up row each), so every
        worker process takes a share, each under the contact's lock, and none twice.

        The run row is the claim (broadcasts.claim): the process whose insert lands
        starts it; the contacts are then written a batch per transaction from the
        run's cursor (broadcasts.enumerate_runs), by whichever process comes next, so
        a run an operator started, or one a crash interrupted, goes on where it was.
        """
        started = 0
        for runtime in self.pages.values():
            for name, (_, broadcast) in runtime.program.broadcasts.items():
                if broadcast.recurring:  # issue 12: time
                    started += broadcasts.start_occurrences(
                        self.engine, runtime.page_id, broadcast, now
                    )
                    continue
                if broadcast.send_at > now:
                    continue
                with Session(self.engine) as session, session.begin():
                    if session.get(BroadcastRun, (runtime.page_id, name)) is not None:
                        continue
                    late = now - broadcast.send_at > LATE_BROADCAST
                    status = broadcasts.TOO_LATE if late else broadcasts.ENUMERATING
                    if not broadcasts.claim(
                        session, runtime.page_id, name, now, "schedule", status
                    ):
                        continue
                    started += 1
                    if late:
                        log.warning(
                            "broadcast %s was due %s; too late, not sent", name, broadcast.send_at
                        )
            started += broadcasts.enumerate_runs(self.engine, runtime.page_id, now)
        return started


def _as_datetime(value: Any) -> datetime | None:
    """A watermark as a time; one Facebook could not mean (out of range) is no time."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


# issue 13: C. What a batch's session carries: the contacts' rows read in one query, and
# the profiles looked up before its transaction.
CONTACT_ROWS = "pageflows.contact_rows"
PROFILES = "pageflows.profiles"
SCHEDULED = "pageflows.scheduled"
# The follow-up keys stored for each of the batch's new contacts (read in one query).
KEYS_OF_NEW = "pageflows.keys_of_new"
NEW_IDS = "pageflows.new_ids"  # the batch's new contacts, until their keys are read
# The batch's contacts are plain values (`_keep_contacts`): a new one is too (`save_contact`).
PLAIN_CONTACTS = "pageflows.plain_contacts"


# issue 13: the statements every pass runs, built once (their values bound per call): a
# lone event's pass built and coerced each anew, a fifth of its SQLAlchemy time.
# The due follow-ups' candidates (`process_due`), built once; their claim is `fire_batch`'s.
_DUE = (
    select(FollowUp.id, FollowUp.page_id, FollowUp.contact_id)
    .where(FollowUp.status == "pending", FollowUp.due_at <= bindparam("now"))
    .order_by(FollowUp.due_at, FollowUp.id)
    .limit(CANDIDATES)
)


def _of_share(contact_id: Any) -> Any:
    """issue 13: G. A contact in this process's share (PostgreSQL, several live processes):
    contacts by a hash of their id into `share_count` shares; the heartbeats say which."""
    return func.mod(
        func.hashtext(contact_id) + literal_column("2147483648"), bindparam("share_count")
    ) == bindparam("share_index")


_OWN_DUE = _DUE.where(_of_share(FollowUp.contact_id))
# Each candidate says whether its contact is new (no row yet) and it makes one (not a
# receipt): the profile look-ups of a pass start from this, without a query of their own
# (a round trip before a lone new contact's answer; issue 13, tenth session).
_NEW_CONTACT = and_(
    InboxEvent.kind.not_in(RECEIPT_KINDS),
    ~exists().where(Contact.page_id == InboxEvent.page_id, Contact.psid == InboxEvent.contact_id),
)
_CANDIDATES = (
    select(InboxEvent.id, InboxEvent.page_id, InboxEvent.contact_id, _NEW_CONTACT.label("new"))
    .where(InboxEvent.status == "pending")
    .order_by(InboxEvent.id)
    .limit(CANDIDATES)
)
# issue 13: G. This process's share of them (PostgreSQL, several live processes): contacts
# by a hash of their id, `share_count` shares; page-level events are every process's.
_OWN_CANDIDATES = _CANDIDATES.where(
    or_(InboxEvent.contact_id.is_(None), _of_share(InboxEvent.contact_id))
)
# New contacts: one statement, not two (the stored contacts, then those with an event that
# makes a contact, not a receipt alone): a round trip fewer before a new contact's answer.
_MISSING = select(InboxEvent.page_id, InboxEvent.contact_id).where(
    InboxEvent.status == "pending",
    InboxEvent.kind.not_in(RECEIPT_KINDS),
    ~exists().where(Contact.page_id == InboxEvent.page_id, Contact.psid == InboxEvent.contact_id),
)
_MISSING_OF_PAGE = _MISSING.where(
    InboxEvent.page_id == bindparam("page"),
    InboxEvent.contact_id.in_(bindparam("ids", expanding=True)),
).distinct()
_KEYS_OF = select(FollowUp.contact_id, FollowUp.key).where(
    FollowUp.contact_id.in_(bindparam("ids", expanding=True))
)


def _batches(contacts: dict[tuple[str, str], int], limit: int) -> list[list[tuple[str, str]]]:
    """The contacts in batches of at most `BATCH_CONTACTS`, each holding at most `limit`
    pending events (at least one contact): a batch locks only the contacts it can decide
    in this pass, so the contacts it could not reach are free for another process."""
    batches: list[list[tuple[str, str]]] = []
    batch: list[tuple[str, str]] = []
    events = 0
    for pair, count in contacts.items():
        if batch and (len(batch) >= BATCH_CONTACTS or events + count > limit):
            batches.append(batch)
            batch, events = [], 0
        batch.append(pair)
        events += count
    if batch:
        batches.append(batch)
    return batches


def _of_contacts(table: Any, pairs: list[tuple[str, str]]) -> Any:
    """`(page, contact) IN pairs`, as one `contact IN (...)` per page (an index range each)."""
    by_page: dict[str, list[str]] = {}
    for page_id, contact_id in pairs:
        by_page.setdefault(page_id, []).append(contact_id)
    column = table.contact_id if table is InboxEvent else table.psid
    return or_(
        *(and_(table.page_id == page_id, column.in_(ids)) for page_id, ids in by_page.items())
    )


def _scheduled_before(session: Session, key: str) -> bool:
    """A follow-up with this key exists, stored or added earlier in this transaction (a
    batch writes its rows at the end: the database does not know them yet)."""
    keys: set[str] = session.info.setdefault(SCHEDULED, set())
    if key in keys:
        return True
    keys.add(key)
    # A flow's key starts with its contact's id and "|" (engine/run.py, engine/core.py):
    # for a contact of the batch's preloaded ones, its stored keys answer.
    known: dict[str, set[str]] | None = session.info.get(KEYS_OF_NEW)
    if known is None and NEW_IDS in session.info:
        # A batch reads its new contacts' keys when it first schedules a follow-up (most
        # replies schedule none: a lone event's reply waited for the read; tenth session).
        known = session.info[KEYS_OF_NEW] = _keys_of_new(session, session.info.pop(NEW_IDS))
    if known:
        stored = known.get(key.partition("|")[0])
        if stored is not None:
            return key in stored
    return session.scalar(select(FollowUp.id).where(FollowUp.key == key)) is not None


def _notify_outbox(session: Session) -> None:
    """Wake the senders when this transaction commits: once per transaction, as PostgreSQL
    delivers one notification per channel however often it was asked in one (a batch
    queues hundreds of messages: one round trip, not hundreds); in a batch that sends its
    writes as one statement, in that statement (`_send_writes`)."""
    if not session.info.get("pageflows.notified"):
        session.info["pageflows.notified"] = True
        if NOTIFY_LATER in session.info:
            session.info[NOTIFY_LATER] = True
        else:
            notify(session, OUTBOX)


# issue 13: F4. A batch's writes and its notification go to PostgreSQL as ONE statement
# (storage/bulk.py `run_deferred`): a round trip each was about 1-2 ms on a busy machine,
# four of a batch's nine (BEGIN, lock, two reads, three writes, notify, COMMIT).
NOTIFY_LATER = "pageflows.notify_later"


def _notify_later(session: Session) -> None:
    """On PostgreSQL, the batch's notification waits for its writes (`_send_writes`)."""
    if session.get_bind().dialect.name == "postgresql":
        session.info[NOTIFY_LATER] = False


def _send_writes(session: Session) -> None:
    """The writes kept since `defer_writes` and the notification asked for meanwhile, as
    one statement (PostgreSQL delivers the notification at commit, as before), the last
    of the batch's transaction: its COMMIT goes with it (issue 13, twelfth session: one
    round trip a batch less; `run_deferred` keeps the separate commit when the session
    still has ORM objects to flush)."""
    if session.info.pop(NOTIFY_LATER, False):
        run_deferred(session, NOTIFY_SQL, {"channel": OUTBOX}, commit=True)
    else:
        run_deferred(session, commit=True)


# issue 13: W. A batch's outbox rows, written with one executemany at its end instead of
# one ORM object each (their construction and unit of work were a third of a follow-up's
# cost). `fire_batch` and `decide_batch` defer them; an inbox event that is not a message
# or postback (an echo, a handover, a receipt...) may add or update outbox rows another
# way, so the rows deferred so far are written before it (`_process`): the rows keep the
# order they were decided in, the order they are sent.
OUTBOX_ROWS = "pageflows.outbox_rows"
_OUTBOX_DEFAULTS: dict[str, Any] = dict.fromkeys(
    (
        "body",
        "origin",
        "messaging_type",
        "tag",
        "reason",
        "detail",
        "expires_at",
        "rationale",
        "source",
        "broadcast",
    )
)


def _outbox_row(**values: Any) -> dict[str, Any]:
    """An outbox row's values; every row has the same columns, so a batch's rows go out
    as one executemany in the order they were added."""
    return {**_OUTBOX_DEFAULTS, "attempts": 0, **values}


def _add_outbox(session: Session, values: dict[str, Any]) -> None:
    """Keep the row for the batch's single insert (`_write_outbox`), or add it now."""
    deferred: list[dict[str, Any]] | None = session.info.get(OUTBOX_ROWS)
    if deferred is not None:
        deferred.append(values)
    else:
        session.add(OutboxMessage(**values))


def _write_outbox(session: Session, keep: bool = False) -> None:
    """The batch's deferred outbox rows, in one executemany, in the order decided; with
    `keep`, later rows are deferred again (a batch in the middle of its events)."""
    if OUTBOX_ROWS not in session.info:
        return
    rows: list[dict[str, Any]] = session.info.pop(OUTBOX_ROWS)
    if keep:
        session.info[OUTBOX_ROWS] = []
    if rows:
        columns = rows[0].keys()
        if any(row.keys() != columns for row in rows):  # `_outbox_row` makes them alike
            raise ValueError("the batch's outbox rows do not all have the same columns")
        table = cast(Table, OutboxMessage.__table__)
        insert_rows(session, table, tuple(columns), [tuple(row.values()) for row in rows])


# issue 13: F. A batch of due follow-ups reads its follow-up and contact rows as plain
# values (Core rows) and writes the ones it changed back with one executemany per table
# at its end, in the same transaction: an ORM object per row cost its construction, an
# attribute event per column set and the unit of work's per-row flush, about half of a
# follow-up's cost. The one-at-a-time path (`fire`) keeps the ORM objects: it is the
# fallback and the reference the batch is tested against.
DUE_ROWS = "pageflows.due_rows"
_DUE_COLUMNS = ("id", "page_id", "contact_id", "purpose", "due_at", "spec", "status")


@dataclass(slots=True)
class DueRow:
    """A due follow-up as plain values (`FollowUp`'s columns a firing reads or writes)."""

    id: int
    page_id: str
    contact_id: str
    purpose: str
    due_at: datetime
    spec: dict[str, Any]
    status: str
    fired_at: datetime | None = None
    reason: str | None = None
    detail: str | None = None


def _due_query(wanted: list[int]) -> Query:
    table = cast(Table, FollowUp.__table__)
    return Query(
        table, _DUE_COLUMNS, "id", {None: wanted}, lock="skip_locked", convert=("due_at", "spec")
    )


def _keep_due(session: Session, found: Sequence[Sequence[Any]]) -> dict[int, DueRow]:
    """The follow-ups read (`_due_query`: the ones wanted, locked; one taken by another
    process is skipped, as in `fire`), by id; kept in the session so a `window_closing`
    superseded in the batch is seen superseded by the batch too (`_supersede_due`). Read
    through the driver (F2, storage/bulk.py): the time and the spec as `FollowUp`'s
    columns read them, without a row object and a processor call per column."""
    rows = {values[0]: DueRow(*values) for values in found}
    session.info[DUE_ROWS] = rows
    return rows


def _supersede_due(session: Session, page_id: str, contact_id: str) -> None:
    """The batch's own pending `window_closing` rows of the contact, superseded in memory
    as the statement just superseded them in the database (an ORM session did the same
    to its objects), so the batch does not fire one or write it back as done."""
    rows: dict[int, DueRow] = session.info.get(DUE_ROWS, {})
    for row in rows.values():
        if (row.page_id, row.contact_id, row.purpose, row.status) == (
            page_id,
            contact_id,
            "window_closing",
            "pending",
        ):
            row.status = "superseded"


def _contacts_query(contacts: list[tuple[str, str]]) -> Query:
    """The batch's contact rows, locked, in one query, as plain values (`_keep_contacts`);
    the session then answers `_contact_row` from memory (a contact absent here is new:
    nobody else can store it while we hold its lock; `save_contact` adds it as an ORM
    object). F2: read through the driver, the state as its JSON text (parsed only when a
    decision reads it, `_parsed`), and the columns the batch writes as they are stored, so
    it writes only the ones that change (`_write_contacts`)."""
    by_page: dict[str, list[str]] = {}
    for page_id, contact_id in contacts:
        by_page.setdefault(page_id, []).append(contact_id)
    table = cast(Table, Contact.__table__)
    return Query(
        table, ("page_id", "psid", *WRITTEN_COLUMNS), "psid", by_page, by="page_id",
        lock="update", text=("state",),
    )  # fmt: skip


def _keep_contacts(
    session: Session, contacts: list[tuple[str, str]], found: Sequence[Sequence[Any]]
) -> None:
    rows: dict[tuple[str, str], Contact | ContactValues | None] = dict.fromkeys(contacts)
    last_message = WRITTEN_COLUMNS.index("last_message")
    for page_id, psid, *stored in found:
        rows[(page_id, psid)] = ContactValues(
            page_id, psid, JsonText(stored[0]), stored[last_message], stored=stored
        )
    session.info[CONTACT_ROWS] = rows
    session.info[PLAIN_CONTACTS] = True
    session.info[PROFILES] = {}
    preload_searchable(session, contacts, lambda t: _of_contacts(t, contacts))


def _parsed(row: ContactValues) -> ContactState:
    """The contact's state as read from its stored `state`, read once per change."""
    if row.parsed is None:
        row.parsed = ContactState.model_validate_json(row.state)
    return row.parsed


# A contact row's keys and written columns as one tuple: one C call, where a generator
# over the 12 names cost a frame step a column (issue 13, twelfth session).
_KEYED_WRITTEN = attrgetter("page_id", "psid", *WRITTEN_COLUMNS)


def _write_contacts(session: Session) -> None:
    """The batch's changed contacts, by key, each only in the columns whose value changed
    (storage/bulk.py `update_changed`: one UPDATE for the rows that change the same ones)."""
    rows: dict[tuple[str, str], Contact | ContactValues | None] = session.info[CONTACT_ROWS]
    plain = [row for row in rows.values() if isinstance(row, ContactValues)]
    table = cast(Table, Contact.__table__)
    new = [row for row in plain if row.new]
    insert_rows(
        session,
        table,
        ("page_id", "psid", "profile_checked_at", *WRITTEN_COLUMNS),
        [
            (row.page_id, row.psid, row.profile_checked_at,
             *(getattr(row, name) for name in WRITTEN_COLUMNS))
            for row in new
        ],
    )  # fmt: skip
    changed = [row for row in plain if row.changed and not row.new]
    values = [_KEYED_WRITTEN(row) for row in changed]
    stored = [row.stored for row in changed]
    update_changed(session, table, ("page_id", "psid"), WRITTEN_COLUMNS, values, stored)


def _write_due(session: Session, fired: list[DueRow]) -> None:
    """The follow-ups the batch fired: their status, time and reason, one UPDATE for all."""
    table = cast(Table, FollowUp.__table__)
    update_rows(
        session,
        table,
        ("id",),
        ("status", "fired_at", "reason", "detail"),
        [(row.id, row.status, row.fired_at, row.reason, row.detail) for row in fired],
    )


# issue 13: a batch of inbox events reads its events as plain values, as a batch of due
# follow-ups does (F), and writes what deciding them changed with one statement for all
# (`_write_events`): an ORM object per event cost its construction, an attribute event per
# column set and its part of the unit of work's flush. `process_one` keeps the ORM object.
_EVENT_COLUMNS = ("id", "page_id", "contact_id", "payload", "received_at", "next_attempt_at")


@dataclass(slots=True)
class EventRow:
    """A pending inbox event as plain values: the columns deciding it reads, and those it
    sets (`status`, `processed_at`; `error` and `notes` only when set: None leaves the
    stored value, as an ORM object whose attribute was never set does)."""

    id: int
    page_id: str
    contact_id: str | None
    payload: dict[str, Any]
    received_at: datetime
    next_attempt_at: datetime | None
    status: str = "pending"
    processed_at: datetime | None = None
    error: str | None = None
    notes: list[str] | None = None


def _events_query(contacts: list[tuple[str, str]], limit: int) -> Query:
    """The contacts' pending events, oldest first, at most `limit`, locked (waited for,
    never skipped: a contact's earliest event must not be passed by a later one)."""
    by_page: dict[str, list[str]] = {}
    for page_id, contact_id in contacts:
        by_page.setdefault(page_id, []).append(contact_id)
    table = cast(Table, InboxEvent.__table__)
    return Query(
        table, _EVENT_COLUMNS, "contact_id", by_page, by="page_id", lock="update",
        convert=("payload", "received_at", "next_attempt_at"), equal={"status": "pending"},
        order="id", limit=limit,
    )  # fmt: skip


def _event_rows(found: Sequence[Sequence[Any]]) -> list[EventRow]:
    """The events read by `_events_query`, oldest first: read as a part of a larger
    statement (`select_together`), their order is the part's, which SQL does not promise
    to keep, so it is made sure of here."""
    return sorted((EventRow(*values) for values in found), key=lambda row: row.id)


def _write_events(session: Session, events: list[EventRow]) -> None:
    """The decided events' status and time, one UPDATE per set of columns they change."""
    groups: dict[tuple[bool, bool], list[tuple[Any, ...]]] = {}
    for row in events:
        if row.status == "pending":
            continue  # not reached (a retry it waits for, or behind one)
        values: tuple[Any, ...] = (row.id, row.status, row.processed_at)
        if row.error is not None:
            values += (row.error,)
        if row.notes is not None:
            values += (row.notes,)
        groups.setdefault((row.error is not None, row.notes is not None), []).append(values)
    table = cast(Table, InboxEvent.__table__)
    for (error, notes), rows in groups.items():
        columns = (
            ("status", "processed_at")
            + (("error",) if error else ())
            + (("notes",) if notes else ())
        )
        update_rows(session, table, ("id",), columns, rows)


def _new_ids(session: Session) -> set[str]:
    """The batch's contacts not stored yet, as read (`_keep_contacts`), before any is saved."""
    rows: dict[tuple[str, str], Contact | ContactValues | None] = session.info[CONTACT_ROWS]
    return {psid for (_, psid), row in rows.items() if row is None and "|" not in psid}


def _keys_of_new(session: Session, new: set[str]) -> dict[str, set[str]]:
    """issue 13 (seventh session): the follow-up keys of the batch's new contacts
    (`_new_ids`), in one query, so scheduling their first follow-up asks no question of its
    own (`_scheduled_before`). New contacts only: a stored one may have a long history."""
    keys: dict[str, set[str]] = {psid: set() for psid in new}
    if new:
        for contact_id, key in session.execute(_KEYS_OF, {"ids": list(new)}):
            keys[contact_id].add(key)
    return keys


# issue 13: a batch of inbox events keeps the follow-ups it schedules as values and inserts
# them with one statement (`_write_follow_ups`), in the order scheduled, as its outbox rows.
# Written early when a statement must see them (a `window_closing` superseding the batch's
# earlier one). Outside a batch (`process_one`, `fire_batch`) they are ORM objects still.
FOLLOW_UP_ROWS = "pageflows.follow_up_rows"
_FOLLOW_UP_COLUMNS = (
    "key",
    "page_id",
    "contact_id",
    "purpose",
    "due_at",
    "spec",
    "status",
    "created_at",
    "fired_at",
    "reason",
    "detail",
)


def _add_follow_up(session: Session, **values: Any) -> None:
    """Keep the follow-up for the batch's insert (`_write_follow_ups`), or add it now."""
    deferred: list[dict[str, Any]] | None = session.info.get(FOLLOW_UP_ROWS)
    if deferred is None:
        session.add(FollowUp(**values))
        return
    deferred.append(values)


def _write_follow_ups(session: Session) -> None:
    """The batch's follow-ups deferred so far, in one statement, in the order scheduled."""
    rows: list[dict[str, Any]] = session.info.get(FOLLOW_UP_ROWS) or []
    if rows:
        table = cast(Table, FollowUp.__table__)
        insert_rows(
            session,
            table,
            _FOLLOW_UP_COLUMNS,
            [tuple(row.get(name) for name in _FOLLOW_UP_COLUMNS) for row in rows],
        )
        rows.clear()
