"""The sender: queued outbox rows -> the Graph API -> a recorded status, never lost.

One state machine in the database (storage/models.py):

    queued -> claimed (a lease) -> sending -> sent | failed | skipped | held
                                           -> queued again (retry later)

A batch is claimed in one transaction; each row turns `sending` in its own
small transaction just before its Graph call, and its result is recorded in
another. (On PostgreSQL a claim of one row whose turn is now marks it `sending`
itself, and its call follows at once: the same moment, a transaction less.) So
a process that dies leaves its untried rows `claimed` (they go back to the
queue silently when the lease ends: Facebook never saw them) and at most the
one row in flight `sending`. That row is *in doubt*: Facebook may or may not
have the message. It is sent again at most once, with `possible_duplicate`
set, so a duplicate is counted and visible rather than hidden; a second doubt
on the same row fails it with the reason `in_doubt` instead of risking a third
copy. A timeout is the same doubt: only a connection never made is safe to
resend silently.

Transient errors (5xx, timeouts, codes 1, 2, 1200, the rate limits) are
retried with backoff and jitter for as long as the message is still allowed
(`policy.still_allowed`: a reply is worth sending while its window is open),
then skipped with that reason. They slow the whole page (`pages.slow_down`),
so a burst of 613s costs one probe per backoff step, not one call per message.
Token and permission errors pause the page (its messages stay queued, in
order) until the token is replaced; 2018300 (another app owns the thread)
holds the message until the thread comes back (the worker releases it).

Media goes by URL; a file over 25 MB (8 MB for images fetched from a URL),
or of a type Messenger does not take, goes out as a link in a text message
instead. Size and type come from a HEAD request, cached per URL.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    Row,
    Select,
    bindparam,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import Executable

from pageflows.clock import Clock
from pageflows.engine.policy import Skip, still_allowed
from pageflows.service import pages
from pageflows.service.graph.client import (
    GraphClient,
    MediaInfo,
    NeedsOperator,
    Outcome,
    Refused,
    RetryLater,
    Sent,
    ThreadElsewhere,
)
from pageflows.service.graph.transport import Request, TransportError
from pageflows.service.pace import Pacer
from pageflows.service.storage.database import single_statements
from pageflows.service.storage.models import Contact, MediaCheck, OutboxMessage, PageState
from pageflows.service.storage.pipelined import run_pipelined
from pageflows.service.storage.statistics import analyze_if_stale

log = logging.getLogger("pageflows.sender")
MAX_MEDIA_BYTES = 25 * 1024 * 1024
MAX_IMAGE_BYTES = 8 * 1024 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")
MEDIA_CACHE = timedelta(days=1)
MAX_CACHED_URL = 2048  # media_checks.url's length; a longer URL is checked each time
# Longer than a claimed row can take: a HEAD and a Send API call, 10 s timeout each.
LEASE = timedelta(seconds=30)
MAX_BACKOFF = timedelta(seconds=60)  # the page's, while Facebook is away or rate limiting
MAX_ROW_BACKOFF = timedelta(minutes=10)  # one message's own, for errors about it alone
# A message no window binds (a token, a tag without a window) is still given up on after
# this long of transient failures, so nothing retries forever.
MAX_RETRY_AGE = timedelta(days=2)
CANDIDATES = 500
RECORD_TRIES = 3
# issue 13: how often the sender also looks for the rows of a process that died (their
# leases ended), after a drain's sends: a lease is LEASE long, so a second later is no
# later; every claim, it was a transaction of its own before every send (a sixth of the
# sender's time).
RECOVER_EVERY = timedelta(seconds=1)
RECOVER_LATE = timedelta(seconds=5)  # a claim looks first once it is this late (a long drain)
# Contacts sent to at once by one process: AUTO (the default, issue 13: E) sizes each
# page's lanes from its pace and its calls' time, MIN_LANES to MAX_LANES; `--senders K` fixes K.
AUTO = 0
CONCURRENCY = AUTO
MIN_LANES = 8
# issue 13: E. A page's lanes grow with its pace times the time its calls take (`width`):
# 250/s against a 50 ms Graph API takes about 20. This bounds them (and the pool).
MAX_LANES = 64
FIRST_CALL_SECONDS = 0.1  # what a call is taken to need before one was timed
PIPELINE = 10  # batches one drain claims back to back while there is more to send
# How long before its turn a row is marked in flight: the commit fits in it on a busy machine,
# so the call itself starts on time.
PREPARE = timedelta(milliseconds=50)
RECORD_EVERY = 0.02  # seconds between the recordings of what the lanes sent
TAKEN_POLL = 0.002  # seconds between looks at whether a batch's rows are all taken
# A page's share of one claim: what its pace sends in this long. Claimed rows wait for
# their turns, so this bounds how long a claim is held before its rows are tried.
CLAIM_AHEAD = timedelta(seconds=2)
# issue 12: D. A typing indicator's row: its pause rides in the body under this key (taken
# out before the call), and dots shown this late would announce nothing: skipped instead.
TYPING_PAUSE = "typing_pause"
TYPING_LATE = timedelta(minutes=1)


# What a claim reads of each candidate (`_claim_page`, `_gone_stale`, `_recheck`): its
# rows are plain rows, not ORM objects, and what it changes goes in prebuilt UPDATEs.
_CLAIM_READS = (
    OutboxMessage.id,
    OutboxMessage.page_id,
    OutboxMessage.contact_id,
    OutboxMessage.kind,
    OutboxMessage.body,
    OutboxMessage.messaging_type,
    OutboxMessage.tag,
    OutboxMessage.error_message,
    OutboxMessage.expires_at,
    OutboxMessage.created_at,
)


def _candidates() -> Select[Any]:
    """The claim's candidates: one page's due, queued rows, oldest first, skipping any
    contact with a message claimed or in flight (its messages leave in order) or with an
    earlier one still waiting to be due. A contact with a message claimed or in flight gets
    nothing more in this query (issue 13: E: it was a query of its own, a round trip more
    before every send).

    Built once, with the page and the time bound per call (issue 13, sixth session):
    built per claim, the two aliases' columns were adapted anew each time, 2.8 ms of CPU
    per claim, more than the rest of a one-message claim together."""
    page_id: BindParameter[str] = bindparam("page_id")
    now: BindParameter[datetime] = bindparam("now")
    flying = aliased(OutboxMessage)
    in_flight = exists().where(
        flying.page_id == page_id,
        flying.contact_id == OutboxMessage.contact_id,
        flying.status.in_(("claimed", "sending")),
    )
    earlier = aliased(OutboxMessage)
    waits_behind = exists().where(  # an earlier message of the contact not yet due
        earlier.page_id == page_id,
        earlier.contact_id == OutboxMessage.contact_id,
        earlier.status == "queued",
        earlier.next_attempt_at > now,
        earlier.id < OutboxMessage.id,
    )
    return (
        select(*_CLAIM_READS)
        .where(
            OutboxMessage.status == "queued",
            OutboxMessage.page_id == page_id,
            # Due rows only, in SQL: retries waiting their turn never fill the window.
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
            ~waits_behind,
            ~in_flight,
        )
        .order_by(OutboxMessage.id)
        .limit(CANDIDATES)
        .with_for_update(skip_locked=True)
    )


_CANDIDATES = _candidates()

# issue 13 (seventh session): the statements of every send, built once with their values
# bound per call, like _CANDIDATES (an UPDATE's bound names must not be its columns').
# Built per call, their expressions (each `==`, each `.values`) were coerced anew every
# time: about a millisecond of CPU per message sent.
_PAGE_FOR_CLAIM = (
    select(
        PageState.page_id,
        PageState.paused_reason,
        PageState.slow_until,
        PageState.next_send_at,
        PageState.rate_limit_strikes,
        PageState.rate,
    )
    .where(PageState.page_id == bindparam("page_id"))
    .with_for_update(skip_locked=True)
)


# The page's row as a claim reads it (`_PAGE_FOR_CLAIM`).
class _PageRow(NamedTuple):
    page_id: str
    paused_reason: str | None
    slow_until: datetime | None
    next_send_at: datetime | None
    rate_limit_strikes: int
    rate: float | None


# A claim's writes (issue 13, eighth session: the claim without ORM objects; its rows
# loaded, tracked and flushed by the session were half of its CPU).
_CLAIM_ROW = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("row_id"))
    .values(
        status=bindparam("new_status"),
        lease_until=bindparam("until"),
        attempts=OutboxMessage.attempts + 1,
        claim_token=bindparam("token"),
    )
)
_STALE_ROW = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("row_id"))
    .values(status=bindparam("new_status"), reason=bindparam("why"), detail=bindparam("text"))
)
_PAGE_CLAIMED = (
    update(PageState)
    .where(PageState.page_id == bindparam("page"))
    .values(next_send_at=bindparam("next_at"), slow_until=bindparam("slow"))
)
_LAST_MESSAGE = select(Contact.last_user_message_at).where(
    Contact.page_id == bindparam("page"), Contact.psid == bindparam("psid")
)
_IN_DOUBT = (
    select(OutboxMessage)
    .where(
        OutboxMessage.status.in_(("claimed", "sending")),
        OutboxMessage.lease_until < bindparam("now"),
    )
    .with_for_update(skip_locked=True)
)
_START_ATTEMPT = (
    update(OutboxMessage)
    .where(
        OutboxMessage.id == bindparam("row_id"),
        OutboxMessage.status == bindparam("was"),
        OutboxMessage.claim_token == bindparam("token"),
    )
    .values(status="sending", lease_until=bindparam("until"))
)
_SENT_WHERE = (
    OutboxMessage.id == bindparam("row_id"),
    OutboxMessage.status == "sending",
    OutboxMessage.claim_token == bindparam("token"),
)
_SENT_VALUES: dict[str, Any] = {
    "status": "sent",
    "message_id": bindparam("sent_id"),
    "sent_at": bindparam("at"),
    "next_attempt_at": None,
    "lease_until": None,
    "claim_token": None,
}
# A sent message recorded: ours and in flight, else another process recovered it and its
# answer wins. The body too when its media went as a link (`with_media_fallback`).
_MARK_SENT = update(OutboxMessage).where(*_SENT_WHERE).values(**_SENT_VALUES)
_MARK_SENT_AS = (
    update(OutboxMessage).where(*_SENT_WHERE).values(**_SENT_VALUES, body=bindparam("new_body"))
)
# `pages.recovered` in one UPDATE that changes nothing unless the page was throttled.
_RECOVERED = (
    update(PageState)
    .where(
        PageState.page_id == bindparam("page"),
        or_(PageState.rate_limit_strikes > 0, PageState.slow_until.is_not(None)),
    )
    .values(rate_limit_strikes=0, slow_until=None, updated_at=bindparam("at"))
    .returning(PageState.page_id)
)


def media_fits(kind: str, info: MediaInfo | None) -> bool:
    """Would Messenger take this attachment? Unknown size or type: no, send a link."""
    if info is None or info.size is None or info.content_type is None:
        return False
    content_type = info.content_type.split(";")[0].strip().lower()
    limit = MAX_IMAGE_BYTES if kind == "image" else MAX_MEDIA_BYTES
    if info.size > limit:
        return False
    if kind == "image":
        return content_type in IMAGE_TYPES
    if kind in ("audio", "video"):
        return content_type.startswith(kind + "/")
    return True


def as_link(body: dict[str, Any], url: str) -> dict[str, Any]:
    """The send with its attachment replaced by a link; its quick replies stay (the question
    the attachment asks still needs its answers)."""
    message = body.get("message")
    link: dict[str, Any] = {"text": url}
    if isinstance(message, dict) and message.get("quick_replies"):
        link["quick_replies"] = message["quick_replies"]
    return {**body, "message": link}


def why_not_media(kind: str, info: MediaInfo | None) -> str:
    """Why `media_fits` said no, in words for the log."""
    if info is None:
        return "could not be checked (no answer to HEAD)"
    if info.size is None or info.content_type is None:
        return "has no size or type in its answer to HEAD"
    limit = MAX_IMAGE_BYTES if kind == "image" else MAX_MEDIA_BYTES
    if info.size > limit:
        return f"is {info.size} bytes, over Messenger's {limit}"
    return f"is of type {info.content_type}, which Messenger refuses as {kind}"


def backoff(attempt: int, rng: random.Random, cap: timedelta = MAX_BACKOFF) -> timedelta:
    """Exponential from 1 s, capped, with jitter between half and all of it."""
    base = min(2.0 ** min(max(attempt - 1, 0), 30), cap.total_seconds())
    return timedelta(seconds=base * (0.5 + rng.random() / 2))


class _Halted:
    """Pages Facebook slowed or paused during this batch, shared by its sending threads."""

    def __init__(self) -> None:
        self._pages: set[str] = set()
        self._lock = threading.Lock()

    def stop(self, page_id: str) -> None:
        with self._lock:
            self._pages.add(page_id)

    def page(self, page_id: str) -> bool:
        with self._lock:
            return page_id in self._pages


@dataclass(frozen=True)
class Claimed:
    id: int
    page_id: str
    contact_id: str
    kind: str
    body: dict[str, Any]
    token: str  # this claim's own mark: a row another process took over is no longer ours
    slot: datetime | None = None  # when its call may start: the page's pace (pace.py)
    # Marked in flight by its claim (`_claim_page`): its turn was now, so the claim's commit
    # did what `start_attempt` does, a transaction less before the call.
    in_flight: bool = False


class Sender:
    def __init__(
        self,
        engine: Engine,
        clients: dict[str, GraphClient],
        clock: Clock,
        rng: random.Random | None = None,
        lease: timedelta = LEASE,
        pacer: Pacer | None = None,
        concurrency: int = 1,
    ) -> None:
        self.engine = engine
        self.clients = clients
        self.clock = clock
        self.rng = rng or random.Random()
        self.lease = lease
        self.pacer = pacer or Pacer(engine, clock, {})
        # issue 13: E. AUTO (0): each page's lanes follow its pace and its calls' time
        # (`width`); a number K is a fixed bound, K contacts at once, as before.
        self.auto = concurrency <= AUTO
        self.concurrency = MIN_LANES if self.auto else concurrency
        self.stopping = threading.Event()  # set on SIGTERM: finish what is in flight, no more
        self._pool: ThreadPoolExecutor | None = None
        self._ensured = False
        self._recovered_at: datetime | None = None  # the last look for dead processes' rows
        # issue 13: E. Per page, how long its calls took lately (slot to recorded answer), a
        # moving average: it sizes the page's lanes (`width`).
        self._call_seconds: dict[str, float] = {}
        # issue 13: E. Messages the lanes sent, recorded by the draining thread (_flush_sent).
        self._sent: list[tuple[Claimed, Sent, datetime]] = []
        self._sent_lock = threading.Lock()
        self._flushed = 0.0
        self._lanes_running = False
        # Lanes started and not yet ended, per page: the next batch's lanes start only in
        # the room the earlier batch's leave, so a page never has more than `width` calls.
        self._running: dict[str, int] = {}
        self._running_lock = threading.Lock()
        # issue 13: E. On PostgreSQL a claim reserves its rows' turns in its own transaction
        # (`_reserve_held`): it already holds the page's row, the pace's lock there. SQLite
        # has no row locks, so there the turns are reserved after, under `Pacer.lock`.
        self.slots_in_claim = engine.dialect.name == "postgresql"
        self.single = single_statements(engine)  # one-statement writes, no BEGIN/COMMIT
        # issue 13 (seventh session): whether the last drain left rows it could have sent
        # now (its limits, a contact waiting for its typing row, a page's one probe), so
        # that draining again at once may find some. Otherwise only new rows can, and they
        # ring the sender's alarm: the serve loop's empty drain after every send (a claim
        # that found nothing, 1.5 ms of CPU) is not needed.
        self.left_behind = False

    def drain(self, limit: int = 200) -> int:
        """Claim what may go now and send it; returns how many rows were claimed.

        Each contact's claimed messages go out in order on one thread; different
        contacts go out concurrently, every call waiting for its page's turn
        (pace.py). A page gets as many lanes (threads) as its pace and the time
        its calls take need (`width`). The next batch is claimed as soon as every
        row of this one is taken by a lane, so its slots follow on without a gap
        (issue 13: a 50 ms Graph API no longer caps a page at 1/latency sends a
        second); the drain returns when every row it claimed is done.
        """
        halted = _Halted()
        futures: list[Future[None]] = []
        total = 0
        self.left_behind = False
        try:
            for batch in range(PIPELINE):
                claimed = self.claim(limit)
                total += len(claimed)
                groups: dict[tuple[str, str], list[Claimed]] = {}
                for row in claimed:
                    groups.setdefault((row.page_id, row.contact_id), []).append(row)
                if not groups:
                    break
                # One contact is sent to on this thread, unless an earlier batch's lanes
                # are still sending: then it waits for room among them, or the page would
                # have one call more in flight than its lanes allow.
                self.left_behind |= batch == PIPELINE - 1
                sending = any(not future.done() for future in futures)
                if self.concurrency == 1 or (len(groups) == 1 and not sending):
                    for group in groups.values():
                        self._send_group(group, halted)
                    break  # one at a time: one claim per drain, as before issue 13
                queues = self._queues(list(groups.values()))
                self._lanes_running = True
                lanes = self._start_lanes(queues, halted)
                futures += lanes
                self._until_taken(queues, lanes, halted, futures)
        finally:
            while not all(future.done() for future in futures):
                self._flush_sent()
                time.sleep(TAKEN_POLL)
            self._lanes_running = False
            for future in futures:
                future.result()
            self._flush_sent(force=True)
        # issue 13 (tenth session): after the sends, so that none waits for it (before a
        # claim, one message in twenty at 20 a second waited for two more transactions);
        # a claim still does it first when it is RECOVER_LATE (a drain that runs long).
        now = self.clock.now()
        if self._recovery_due(now, RECOVER_EVERY):
            self._recover(now)
        return total

    def width(self, page_id: str) -> int:
        """Lanes for a page: enough that its slots are used while each call takes what its
        calls have taken lately (the Graph API's answer time and our two small commits),
        with half again for jitter; between MIN_LANES and MAX_LANES. A process started
        with `--senders K` has K, whatever the page."""
        per_second = 1 / self.pacer.interval(page_id).total_seconds()
        # A lane is held from PREPARE before its turn (the row marked in flight) until
        # its call is answered: counting the call alone left a 250/s page a lane short of
        # every turn, and a turn missed is given up (a quarter of them on PostgreSQL, 3,000 sends).
        busy = self._call_seconds.get(page_id, FIRST_CALL_SECONDS) + PREPARE.total_seconds()
        if not self.auto:
            return self.concurrency
        return max(MIN_LANES, min(MAX_LANES, math.ceil(per_second * busy * 1.5) + 1))

    @staticmethod
    def _queues(groups: list[list[Claimed]]) -> dict[str, deque[list[Claimed]]]:
        """The batch's contacts by page, in the order claimed (their slots' order)."""
        by_page: dict[str, deque[list[Claimed]]] = {}
        for group in groups:
            by_page.setdefault(group[0].page_id, deque()).append(group)
        return by_page

    def _start_lanes(
        self, queues: dict[str, deque[list[Claimed]]], halted: _Halted
    ) -> list[Future[None]]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max(MAX_LANES, self.concurrency), thread_name_prefix="pf-send"
            )
        for page_id in queues:
            self._wait_for_room(page_id)
        return self._more_lanes(queues, halted)

    def _wait_for_room(self, page_id: str) -> None:
        """Until the page may start a lane: its width less those still sending an earlier
        batch's last rows; records what they sent meanwhile. Only this thread starts
        lanes, so the room found is still there for `_more_lanes`."""
        while True:
            with self._running_lock:
                if self.width(page_id) - self._running.get(page_id, 0) > 0:
                    return
            self._flush_sent()
            time.sleep(TAKEN_POLL)

    def _lane(self, page_id: str, queue: deque[list[Claimed]], halted: _Halted) -> None:
        """One thread's share of a page's batch: the next contact's rows, until none is left
        (a deque's popleft is atomic, so no two lanes take one contact)."""
        try:
            while True:
                try:
                    group = queue.popleft()
                except IndexError:
                    return
                self._send_group(group, halted)
        finally:
            with self._running_lock:
                self._running[page_id] -= 1

    def _until_taken(
        self,
        queues: dict[str, deque[list[Claimed]]],
        lanes: list[Future[None]],
        halted: _Halted,
        futures: list[Future[None]],
    ) -> None:
        """Wait until the lanes have taken every row of this batch (its last ones are then
        waiting for their slots), or have all ended; record what they sent meanwhile.

        A batch claimed while the earlier one's lanes were still sending started with the
        room they left, maybe one lane; as they finish, the batch gets more (issue 13: a
        batch sent by one lane ran at a sixteenth of a 250/s pace until it was taken)."""
        while any(queues.values()) and not all(lane.done() for lane in lanes):
            self._flush_sent()
            more = self._more_lanes(queues, halted)
            lanes += more
            futures += more
            time.sleep(TAKEN_POLL)

    def _more_lanes(
        self, queues: dict[str, deque[list[Claimed]]], halted: _Halted
    ) -> list[Future[None]]:
        """Lanes for the pages whose rows are still waiting to be taken, as many as their
        width has room for now (never waiting for room)."""
        assert self._pool is not None
        added = []
        for page_id, queue in queues.items():
            with self._running_lock:
                free = min(self.width(page_id) - self._running.get(page_id, 0), len(queue))
                if free > 0:
                    self._running[page_id] = self._running.get(page_id, 0) + free
            for _ in range(max(free, 0)):
                added.append(self._pool.submit(self._lane, page_id, queue, halted))
        return added

    def _flush_sent(self, force: bool = False) -> None:
        """issue 13: E. Record the messages the lanes sent since the last flush, in one
        transaction (a statement run for many rows), every RECORD_EVERY: the lanes' own two
        commits per send were what a busy page's sending waited for. Until recorded they
        stay `sending`: a crash before the flush sends them once more, flagged
        possible_duplicate (the in-doubt rule), as for a call whose answer was lost."""
        if not self._sent or (not force and time.monotonic() - self._flushed < RECORD_EVERY):
            return
        with self._sent_lock:
            batch, self._sent = self._sent, []
        self._flushed = time.monotonic()
        if not batch:
            return
        params = [
            {"row_id": c.id, "token": c.token, "sent_id": sent.message_id, "at": at}
            for c, sent, at in batch
        ]
        for attempt in range(RECORD_TRIES):  # Facebook's answers are known: worth keeping
            try:
                pages = {c.page_id for c, _, _ in batch}
                latest = max(at for _, _, at in batch)
                with self.engine.begin() as connection:
                    _mark_sent(connection, _MARK_SENT, params, pages, latest)
                return
            except OperationalError:
                if attempt == RECORD_TRIES - 1:
                    log.warning(
                        "could not record %d sent message(s) now; they are retried, flagged,"
                        " when their leases end",
                        len(batch),
                    )
                    return
                time.sleep(0.5 * (attempt + 1))

    def _send_group(self, rows: list[Claimed], halted: _Halted) -> None:
        """One contact's claimed messages, in order; the rest go back on the first that
        must wait (so nothing overtakes it) or when the page or the process stops."""
        for n, row in enumerate(rows):
            if self.stopping.is_set() or halted.page(row.page_id):
                outcome: Outcome | None = None
            else:
                try:
                    outcome = self.send_claimed(row, partial(halted.page, row.page_id))
                except SQLAlchemyError as exc:
                    # The database, not the message: leave it claimed (or in flight) for its
                    # lease to end and the recovery to decide; the contact's later ones wait.
                    log.warning(
                        "message %s to %s: the database failed (%s); it is retried when its"
                        " lease ends",
                        row.id,
                        row.contact_id,
                        type(exc).__name__,
                    )
                    self._give_back(rows[n + 1 :])
                    return
                except Exception as exc:  # one row's bug must not stall the page: fail it
                    log.exception("message %s could not be sent", row.id)
                    if self._fail_untried(row, exc):
                        continue  # failed before its call: the contact's next one may go
                    self._give_back(rows[n + 1 :])  # it may be in flight: nothing overtakes it
                    return
            if isinstance(outcome, NeedsOperator) or (
                isinstance(outcome, RetryLater) and outcome.whole_page
            ):
                halted.stop(row.page_id)
            if not isinstance(outcome, Sent | Refused):
                self._give_back(rows[n + 1 if outcome is not None else n :])
                return

    def _give_back(self, rows: list[Claimed]) -> None:
        """Unclaim untried rows; if the database is away, their leases bring them back."""
        try:
            for row in rows:
                self.unclaim(row)
        except SQLAlchemyError as exc:
            log.warning("could not give back claimed messages now (%s)", type(exc).__name__)

    def _fail_untried(self, claimed: Claimed, exc: Exception) -> bool:
        try:
            return self.fail_claimed(claimed, exc)
        except SQLAlchemyError:
            return False

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _mine(self, session: Session, claimed: Claimed, *statuses: str) -> OutboxMessage | None:
        row = session.get(OutboxMessage, claimed.id, with_for_update=True)
        if row is None or row.status not in statuses or row.claim_token != claimed.token:
            return None  # another process took it over after our lease ran out
        return row

    def fail_claimed(self, claimed: Claimed, exc: Exception) -> bool:
        """Fail a row that broke before its call; False if it was not still untried."""
        with Session(self.engine) as session, session.begin():
            row = self._mine(session, claimed, "claimed")
            if row is None:
                return False
            row.status, row.reason, row.lease_until = "failed", "cannot_send", None
            row.detail = f"pageflows could not send it: {type(exc).__name__}: {exc}"[:2000]
            return True

    def unclaim(self, claimed: Claimed) -> None:
        """Give back a claimed row untried: its page was just slowed or paused (a row its
        claim marked in flight too: it was not tried either)."""
        with Session(self.engine) as session, session.begin():
            row = self._mine(session, claimed, "sending" if claimed.in_flight else "claimed")
            if row is not None:
                row.status, row.lease_until = "queued", None
                row.attempts -= 1

    def end_leases(self) -> int:
        """At start on SQLite, where one process is the only sender: every lease left is a
        dead process's, so recover its rows now instead of when the leases run out."""
        with self.engine.begin() as connection:
            ended = connection.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status.in_(("claimed", "sending")))
                .values(lease_until=self.clock.now() - timedelta(seconds=1))
            ).rowcount
        return int(ended or 0)

    def start_attempt(self, claimed: Claimed) -> bool:
        """Mark the row in flight, committed before the call, with a lease from now that
        outlives the call; False if it is no longer ours (our claim's lease ran out). One
        UPDATE, committed on its own (`single_statements`): one round trip before the call.
        A row its claim marked in flight already gets a new lease the same way."""
        with self.single.begin() as connection:
            changed = connection.execute(
                _START_ATTEMPT,
                {
                    "row_id": claimed.id,
                    "was": "sending" if claimed.in_flight else "claimed",
                    "token": claimed.token,
                    "until": self.clock.now() + self.lease,
                },
            ).rowcount
        return bool(changed)

    # ---------------------------------------------------------- claiming

    def claim(self, limit: int) -> list[Claimed]:
        """Up to `limit` rows that may go now, a page at a time, each page's share capped at
        what its pace sends in CLAIM_AHEAD (the rest stays queued for any process)."""
        now = self.clock.now()
        if not self._ensured:
            pages.ensure(self.engine, list(self.clients), now)
            self._ensured = True
        if self._recovery_due(now, RECOVER_LATE):  # else after the drain's sends
            self._recover(now)
        claimed: list[Claimed] = []
        order = list(self.clients)
        self.rng.shuffle(order)  # no page always first when several processes claim at once
        for page_id in order:
            if len(claimed) >= limit or self.stopping.is_set():
                self.left_behind = True
                break
            share = max(1, int(CLAIM_AHEAD / self.pacer.interval(page_id)))
            rows = self._claim_page(page_id, min(limit - len(claimed), share), now, not claimed)
            claimed += rows if self.slots_in_claim else self._with_slots(page_id, rows)
        return claimed

    def _recovery_due(self, now: datetime, every: timedelta) -> bool:
        last = self._recovered_at
        return last is None or not last <= now < last + every

    def _recover(self, now: datetime) -> None:
        """Look for the rows of a process that died (`_recover_in_doubt`), and refresh the
        outbox's statistics if they are stale: a broadcast queued thousands of rows, and
        the claims are planned by the statistics, seconds a claim while they still say
        it is small."""
        with Session(self.engine) as session, session.begin():
            self._recover_in_doubt(session, now)
        analyze_if_stale(self.engine, OutboxMessage.__tablename__)
        self._recovered_at = now

    def _claim_page(
        self, page_id: str, limit: int, now: datetime, first: bool = True
    ) -> list[Claimed]:
        """Claim for one page while holding its `page_state` row, so that claims for a page
        never interleave across processes: a contact with a message claimed or in flight
        anywhere gets nothing more until it is done, and its messages leave in order.

        `first`: nothing was claimed for another page before; then a claim of one row
        whose turn is now marks it in flight at once (`_goes_now`)."""
        with self.engine.begin() as connection:
            # issue 13 (tenth session): on PostgreSQL the transaction's BEGIN goes with the
            # page's lock, and the claim's writes with its COMMIT: two round trips, not five.
            found = run_pipelined(connection, [(_PAGE_FOR_CLAIM, {"page_id": page_id})])[0]
            state = _PageRow(*found[0]) if found else None
            if state is None or _blocked(state, now):
                return []  # another process is claiming for this page, or it is paused/slowed
            if state.next_send_at is not None and state.next_send_at - now > CLAIM_AHEAD:
                return []  # the page's pace is booked ahead by other processes' claims
            probing = state.rate_limit_strikes > 0  # one probe until Facebook accepts again
            slow_until = state.slow_until
            # A contact with a message claimed or in flight gets nothing more: in the
            # candidates' query (issue 13: E, it was a query of its own, a round trip more
            # before every send), and for the typing rows this claim takes (below).
            busy: set[str] = set()
            claimed: list[Claimed] = []
            stale: list[dict[str, Any]] = []
            candidates = connection.execute(_CANDIDATES, {"page_id": page_id, "now": now})
            for row in candidates.all():
                if row.contact_id in busy:
                    self.left_behind = True
                    continue  # a contact's messages go out in the order they were decided
                gone = _gone_stale(connection, row, now)
                if gone is not None:
                    stale.append(gone)
                    continue
                if row.kind == "typing":
                    # issue 12: D. Its pause starts when Facebook has it: the contact's next
                    # message is not claimed with it, but after record() has set its time.
                    busy.add(row.contact_id)
                claimed.append(
                    Claimed(
                        row.id,
                        row.page_id,
                        row.contact_id,
                        row.kind,
                        dict(row.body),
                        uuid.uuid4().hex,
                    )
                )
                if probing:
                    # The one probe of a throttled page: other processes wait for its answer
                    # (record() clears or extends this), or for its lease if we die.
                    slow_until = now + self.lease
                    self.left_behind = True
                    break
                if len(claimed) >= limit:
                    self.left_behind = True
                    break
            writes: list[tuple[Executable, Any]] = [(_STALE_ROW, stale)] if stale else []
            next_send_at = state.next_send_at
            if self.slots_in_claim:
                claimed, next_send_at = self._reserve_held(state, claimed)
                if first and len(claimed) == 1 and _goes_now(claimed[0], now):
                    claimed[0] = replace(claimed[0], in_flight=True)
            if claimed:
                until = now + self.lease
                writes.append(
                    (
                        _CLAIM_ROW,
                        [
                            {
                                "row_id": c.id,
                                "new_status": "sending" if c.in_flight else "claimed",
                                "until": until,
                                "token": c.token,
                            }
                            for c in claimed
                        ],
                    )
                )
            if next_send_at != state.next_send_at or slow_until != state.slow_until:
                page = {"page": page_id, "next_at": next_send_at, "slow": slow_until}
                writes.append((_PAGE_CLAIMED, page))
            run_pipelined(connection, writes, commit=True)
            return claimed

    def _reserve_held(
        self, state: _PageRow, claimed: list[Claimed]
    ) -> tuple[list[Claimed], datetime | None]:
        """issue 13: E. What `_with_slots` does, inside the claim's transaction on PostgreSQL:
        the claim holds the page's row (FOR UPDATE) from its start, which is the lock
        `Pacer.reserve` takes, so the turns come from `next_send_at` as no one else can
        move it meanwhile, and the reservation costs no transaction of its own (a round
        trip and a commit between a message decided and its send). Returns the rows with
        their turns and the page's `next_send_at` after them."""
        paced = [n for n, row in enumerate(claimed) if row.kind != "notify"]
        if not paced:
            return claimed, state.next_send_at
        slots = self.pacer.take(state.page_id, state.next_send_at, len(paced), state.rate)
        for n, slot in zip(paced, slots, strict=True):
            claimed[n] = replace(claimed[n], slot=slot)
        return claimed, slots[-1] + self.pacer.interval(state.page_id, state.rate)

    def _with_slots(self, page_id: str, claimed: list[Claimed]) -> list[Claimed]:
        """Each paced row gets its turn, in the order claimed, reserved in one short
        transaction after the claim's (pace.py): so one batch goes out in the order decided,
        spaced by the page's pace. issue 13: E. Reserved inside the claim, the pace's lock
        was held for the whole claim (half a second under load) and every sender that had
        missed its turn waited for it. SQLite only now: PostgreSQL's claim holds the page's
        row to its commit anyway and books there (`_reserve_held`)."""
        paced = [n for n, row in enumerate(claimed) if row.kind != "notify"]
        if not paced:
            return claimed
        slots = self.pacer.reserve(page_id, len(paced))
        for n, slot in zip(paced, slots, strict=True):
            claimed[n] = replace(claimed[n], slot=slot)
        return claimed

    def _recover_in_doubt(self, session: Session, now: datetime) -> None:
        """Rows a dead process left behind: untried ones go back to the queue; the one it
        had in flight is sent once more, flagged; a second doubt on a row fails it."""
        stale = session.scalars(_IN_DOUBT, {"now": now}).all()
        for row in stale:
            row.lease_until = None
            if row.status == "claimed":
                row.status, row.attempts = "queued", row.attempts - 1
                continue
            if row.possible_duplicate:
                self._fail_in_doubt(row)
                continue
            log.warning(
                "message %s to %s was being sent when a process stopped; sending it once more"
                " (a possible duplicate)",
                row.id,
                row.contact_id,
            )
            row.status, row.possible_duplicate, row.next_attempt_at = "queued", True, None

    def _fail_in_doubt(self, row: OutboxMessage) -> None:
        row.status, row.reason = "failed", "in_doubt"
        row.detail = (
            "Sent twice without an answer from Facebook (a crash or a timeout each time);"
            " it may have been delivered, so it is not sent a third time."
        )
        log.warning("message %s to %s: %s", row.id, row.contact_id, row.detail)

    # ---------------------------------------------------------- sending

    def send_claimed(
        self, claimed: Claimed, halted: Callable[[], bool] = lambda: False
    ) -> Outcome | None:
        """Send one claimed row at its page's pace; None when it was not tried (the page
        stopped while it waited for its turn, or the row is no longer ours)."""
        client = self.clients[claimed.page_id]
        body = claimed.body
        if claimed.kind == "message":
            body = self.with_media_fallback(client, body)  # before the turn: a HEAD takes time
        paced = claimed.kind != "notify"  # an outside URL is not Facebook's to pace
        if paced and claimed.slot is not None:
            self.pacer.sleep_until(claimed.slot - PREPARE)
        if paced and (halted() or self.stopping.is_set()):
            return None
        started = time.perf_counter()
        if not self._still_in_flight(claimed) and not self.start_attempt(claimed):
            return None  # its lease ran out and another process took it over
        if paced:
            # issue 13: E. The row is marked in flight just before its turn, so the call
            # starts on time (within pace.py's grace); a turn missed all the same (a slow
            # commit) is replaced by a fresh one. A crash in this short wait sends the row
            # once more, flagged, which is the in-doubt rule's safe side.
            waited = time.perf_counter()
            self.pacer.wait_for(claimed.page_id, claimed.slot)
            started += time.perf_counter() - waited  # a lane waiting for a turn is not busy
        token = client.token  # the token this call uses, even if a reload replaces it meanwhile
        outcome = refused_as_discontinued(body, self.deliver(client, claimed.kind, body))
        for attempt in range(RECORD_TRIES):  # Facebook's answer is known: worth keeping
            try:
                self.record(claimed, body, outcome, token)
                break
            except OperationalError:
                if attempt == RECORD_TRIES - 1:
                    raise
                self.clock.sleep(0.5 * (attempt + 1))
        if paced:
            self._timed(claimed.page_id, time.perf_counter() - started + PREPARE.total_seconds())
        return outcome

    def _still_in_flight(self, claimed: Claimed) -> bool:
        """A row its claim marked in flight, still within PREPARE of its turn: its claim's
        commit is as fresh as `start_attempt`'s would be. Later (a stalled process), the row
        is marked again, which also tells whether another process took it over meanwhile."""
        if not claimed.in_flight or claimed.slot is None:
            return False
        return self.clock.now() - claimed.slot <= PREPARE

    def _timed(self, page_id: str, seconds: float) -> None:
        """Fold one call's time into the page's average (a lost update between two threads
        costs nothing: the next call corrects it)."""
        before = self._call_seconds.get(page_id)
        self._call_seconds[page_id] = seconds if before is None else 0.9 * before + 0.1 * seconds

    def deliver(self, client: GraphClient, kind: str, body: dict[str, Any]) -> Outcome:
        if kind == "handoff":
            return client.pass_thread_control(str(body.get("psid", "")), body.get("reason"))
        if kind == "take_thread":
            return client.take_thread_control(str(body.get("psid", "")), body.get("reason"))
        if kind == "typing":  # issue 12: D: the pause is ours, not Facebook's
            return client.send_message({k: v for k, v in body.items() if k != TYPING_PAUSE})
        if kind == "notify":
            try:
                answer = client.transport.send(
                    Request("POST", str(body["url"]), {}, body["payload"])
                )
            except TransportError as exc:
                return RetryLater(None, None, str(exc), maybe_delivered=exc.maybe_delivered)
            if answer.status >= 500:
                return RetryLater(None, None, f"HTTP {answer.status}")
            if answer.status >= 400:
                return Refused(None, None, f"HTTP {answer.status}")
            return Sent(None)
        return client.send_message(body)

    def record(self, claimed: Claimed, body: dict[str, Any], outcome: Outcome, token: str) -> None:
        now = self.clock.now()
        if isinstance(outcome, Sent) and claimed.kind == "message" and body == claimed.body:
            if self._lanes_running:
                with self._sent_lock:
                    self._sent.append((claimed, outcome, now))
                return
            self._record_sent(claimed, body, outcome, now)
            return
        with Session(self.engine) as session, session.begin():
            row = self._mine(session, claimed, "sending")
            if row is None:
                return  # another process recovered it meanwhile (flagged); its answer wins
            row.lease_until = row.claim_token = None
            if body != claimed.body:
                row.body = body
            if isinstance(outcome, Sent):
                row.status, row.message_id, row.sent_at = "sent", outcome.message_id, now
                row.next_attempt_at = None
                if row.kind != "notify":  # an outside URL says nothing about Facebook's limits
                    pages.recovered(session, row.page_id, now)
                if row.kind == "take_thread":  # the thread is ours again: held ones may go
                    _thread_back(session, row, now)
                if row.kind == "typing":
                    _hold_for_typing(session, row, now)
                return
            row.error_code, row.error_subcode = outcome.code, outcome.subcode
            row.error_message = outcome.message
            if not isinstance(outcome, NeedsOperator) and not (
                isinstance(outcome, RetryLater) and outcome.whole_page
            ):
                pages.probe_answered(session, row.page_id, now)
            if isinstance(outcome, RetryLater):
                self._retry_later(session, row, outcome, now)
            elif isinstance(outcome, NeedsOperator) and _human_agent_refused(row, outcome):
                row.status, row.reason, row.next_attempt_at = "failed", "human_agent_refused", None
                row.detail = HUMAN_AGENT_REFUSED
                log.warning("message %s to %s: %s", row.id, row.contact_id, row.detail)
            elif isinstance(outcome, NeedsOperator):
                self._pause_page(session, row, outcome, token, now)
            elif isinstance(outcome, ThreadElsewhere):
                self._hold(session, row, now)
            else:
                row.status, row.reason = "failed", outcome.reason
                row.next_attempt_at = None
                log.warning(
                    "message %s to %s refused by Facebook (%s, code %s/%s): %s",
                    row.id,
                    row.contact_id,
                    outcome.reason,
                    outcome.code,
                    outcome.subcode,
                    outcome.message,
                )

    def _record_sent(
        self, claimed: Claimed, body: dict[str, Any], outcome: Sent, now: datetime
    ) -> None:
        """issue 13: E. The common case, a message Facebook accepted, in two UPDATEs and no
        read: what `record` does for it (the row ours and in flight, else another process
        recovered it and its answer wins; the page no longer throttled)."""
        params: dict[str, Any] = {
            "row_id": claimed.id,
            "token": claimed.token,
            "sent_id": outcome.message_id,
            "at": now,
        }
        changed = body != claimed.body
        if changed:
            params["new_body"] = body
        marking = _MARK_SENT_AS if changed else _MARK_SENT
        with self.engine.begin() as connection:
            _mark_sent(connection, marking, params, {claimed.page_id}, now)

    def _retry_later(
        self, session: Session, row: OutboxMessage, outcome: RetryLater, now: datetime
    ) -> None:
        """Back off this row; when the cause is Facebook's (a rate limit, no answer at all),
        the whole page waits too, and its next probe is another contact's message."""
        if outcome.maybe_delivered:
            if row.possible_duplicate:
                self._fail_in_doubt(row)
                return
            row.possible_duplicate = True
        row.status = "queued"
        own = now + backoff(row.attempts, self.rng, MAX_ROW_BACKOFF)
        if row.kind == "notify" or not outcome.whole_page:
            row.next_attempt_at = max(own, outcome.wait_until(now))
            return
        strikes = pages.strikes(session, row.page_id) + 1
        until, first = pages.slow_down(
            session, row.page_id, now, outcome.wait, backoff(strikes, self.rng)
        )
        row.next_attempt_at = max(until, own)
        if first:
            log.warning(
                "page %s: Facebook %s (%s); the page's sending backs off, one message at a"
                " time, until Facebook accepts again (next try at %s)",
                row.page_id,
                "is rate limiting" if outcome.rate_limited else "is not answering",
                outcome.message.rstrip("."),
                until.isoformat(timespec="seconds"),
            )

    def _pause_page(
        self,
        session: Session,
        row: OutboxMessage,
        outcome: NeedsOperator,
        token: str,
        now: datetime,
    ) -> None:
        row.status, row.next_attempt_at = "queued", None
        row.attempts -= 1  # not the message's fault: it keeps its place and its tries
        newly = pages.pause(
            session,
            row.page_id,
            reason=outcome.reason,
            detail=outcome.message,
            code=outcome.code,
            subcode=outcome.subcode,
            token=token,
            now=now,
        )
        if newly:
            fix = (
                "replace the page token in pageflows.toml and reload every serve and worker"
                " (kill -HUP), or restart them with the new token;"
                f" or `pageflows pages resume {row.page_id}` once the token works again"
                if outcome.reason in pages.TOKEN_REASONS
                else f"resolve it with Facebook, then `pageflows pages resume {row.page_id}`"
            )
            log.error(
                "page %s: sending paused (%s, code %s): %s. Its messages stay queued; %s.",
                row.page_id,
                outcome.reason,
                outcome.code,
                outcome.message.rstrip("."),
                fix,
            )

    def _hold(self, session: Session, row: OutboxMessage, now: datetime) -> None:
        """Another app owns the thread: hold the message, and automation waits for it back."""
        row.status, row.reason, row.next_attempt_at = "held", "thread_elsewhere", None
        row.detail = "Another app controls this conversation; held until it is passed back."
        contact = session.get(Contact, (row.page_id, row.contact_id), with_for_update=True)
        if contact is not None and not contact.state.get("handed_off"):
            contact.state = {**contact.state, "handed_off": True}
            contact.updated_at = now
        log.info("message %s to %s held: another app controls the thread", row.id, row.contact_id)

    # ---------------------------------------------------------- media

    def with_media_fallback(self, client: GraphClient, body: dict[str, Any]) -> dict[str, Any]:
        media = _media(body)
        if media is None:
            return body
        kind, url = media
        info = self.media_info(client, url)
        if media_fits(kind, info):
            return body
        log.info("%s %s %s; sending a link", kind, url, why_not_media(kind, info))
        return as_link(body, url)

    def media_info(self, client: GraphClient, url: str) -> MediaInfo | None:
        now: datetime = self.clock.now()
        with Session(self.engine) as session, session.begin():
            cached = session.get(MediaCheck, url)
            if cached is not None and now - cached.checked_at < MEDIA_CACHE:
                return MediaInfo(cached.size, cached.content_type)
        info = client.head(url)
        if info is None or len(url) > MAX_CACHED_URL:
            return info
        with Session(self.engine) as session, session.begin():
            session.merge(
                MediaCheck(url=url, size=info.size, content_type=info.content_type, checked_at=now)
            )
        return info


HUMAN_AGENT_REFUSED = (
    "Facebook refused the HUMAN_AGENT tag (a permission error): the page is set"
    " `human_agent = true`, but the app seems not to have the Human Agent permission."
    " Get it in App Review, or set `human_agent = false` so replies after 24 h are refused"
    " before they are sent."
)


def _mark_sent(
    connection: Connection, marking: Executable, params: Any, pages: set[str], now: datetime
) -> None:
    """Sent messages recorded and their pages no longer throttled (`_RECOVERED`); on
    PostgreSQL with the transaction's BEGIN and COMMIT in ONE round trip (four before;
    issue 13, tenth session). The pages' UPDATE runs whether or not a row was still ours:
    Facebook accepted the call either way, so the page is not throttled."""
    statements: list[tuple[Executable, Any]] = [(marking, params)]
    statements += [(_RECOVERED, {"page": page_id, "at": now}) for page_id in sorted(pages)]
    found = run_pipelined(connection, statements, commit=True)
    for page_id, throttled in zip(sorted(pages), found[1:], strict=True):
        if throttled:
            log.info("page %s: Facebook accepts messages again; sending at full pace", page_id)


def _media(body: dict[str, Any]) -> tuple[str, str] | None:
    """The kind and URL of a message's media attachment, which is checked (a HEAD) before
    its call; None for anything else."""
    message = body.get("message", {})
    attachment = message.get("attachment", {}) if isinstance(message, dict) else {}
    kind = attachment.get("type")
    url = attachment.get("payload", {}).get("url")
    if kind not in ("image", "audio", "video", "file") or not isinstance(url, str):
        return None
    return kind, url


def _goes_now(claimed: Claimed, now: datetime) -> bool:
    """Will this row's call start as soon as its claim commits? Its turn is now (within
    PREPARE), it is paced (so the claim booked that turn), and nothing is looked up before
    its call (media is checked first, with a HEAD). issue 13 (seventh session): such a row
    is marked in flight by the claim itself. A crash between that commit and the call
    makes it in doubt (sent once more, flagged), as it would a moment later anyway."""
    if claimed.kind == "notify" or claimed.slot is None or claimed.slot - now > PREPARE:
        return False
    return claimed.kind != "message" or _media(claimed.body) is None


def _gone_stale(connection: Connection, row: Row[Any], now: datetime) -> dict[str, Any] | None:
    """A message that waited past what the policy allows is skipped, with the reason;
    anything else (a handover, a notify URL) that kept failing for too long is given up
    on. Returns the row's new status, reason and detail (`_STALE_ROW`'s values), or None
    while it may still go."""
    waited_since = row.created_at
    if row.kind == "typing" and now - waited_since > TYPING_LATE:  # issue 12: D
        return _stale(
            row,
            "skipped",
            "typing_late",
            f"The typing indicator waited over {TYPING_LATE} to go (the page was slowed"
            " or paused); dots shown now would announce nothing, so the next message"
            " goes without them.",
        )
    if row.kind not in ("message", "typing"):
        if now - waited_since <= MAX_RETRY_AGE:
            return None
        detail = f"Still failing after {MAX_RETRY_AGE}: {row.error_message or 'no answer'}"
        log.warning("%s %s for %s: %s", row.kind, row.id, row.contact_id, detail)
        return _stale(row, "failed", "gave_up", detail)
    deadline = row.expires_at
    if deadline is None and now - waited_since > MAX_RETRY_AGE:
        deadline = waited_since + MAX_RETRY_AGE
    last = None
    if deadline is not None and now >= deadline:  # only then can a later message matter
        last = connection.execute(
            _LAST_MESSAGE, {"page": row.page_id, "psid": row.contact_id}
        ).scalar_one_or_none()
    why = row.error_message or "Facebook did not accept it yet"
    skip = _recheck(row, deadline, last, now, why)
    if skip is None:
        return None
    log.info("skipped message %s to %s (%s): %s", row.id, row.contact_id, skip.reason, skip.detail)
    return _stale(row, "skipped", skip.reason, skip.detail)


def _stale(row: Row[Any], status: str, reason: str, detail: str) -> dict[str, Any]:
    return {"row_id": row.id, "new_status": status, "why": reason, "text": detail}


def _human_agent_refused(row: OutboxMessage, outcome: NeedsOperator) -> bool:
    """Code 10 without a subcode on a HUMAN_AGENT reply: that reply's permission, not the
    page's (errors.md documents no code for it; 10 is "permission denied"). Failing the
    one message keeps the rest of the page sending; pausing it would stop every flow."""
    return row.tag == "HUMAN_AGENT" and outcome.code == 10 and outcome.subcode is None


def _is_window_based(row: _Waiting) -> bool:
    """A RESPONSE or UPDATE to the contact's PSID: allowed while the 24 h window is open."""
    recipient = row.body.get("recipient", {}) if isinstance(row.body, dict) else {}
    return row.messaging_type in ("RESPONSE", "UPDATE") and "id" in recipient


def _blocked(state: _PageRow, now: datetime) -> bool:
    """Paused until a person acts, or slowed by Facebook until a moment still to come."""
    return state.paused_reason is not None or (
        state.slow_until is not None and state.slow_until > now
    )


class _Waiting(Protocol):
    """What the policy's recheck reads of an outbox row: an ORM row or a claim's plain one."""

    @property
    def tag(self) -> str | None: ...
    @property
    def body(self) -> dict[str, Any]: ...
    @property
    def messaging_type(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


def _recheck(
    row: _Waiting,
    deadline: datetime | None,
    last_user_message_at: datetime | None,
    now: datetime,
    why: str,
) -> Skip | None:
    """The policy's word, now, on a message that waited (a retry, a held thread)."""
    return still_allowed(
        now=now,
        deadline=deadline,
        window_based=row.tag is None and _is_window_based(row),
        tag=row.tag,
        last_user_message_at=last_user_message_at,
        waited_since=row.created_at,
        why=why,
    )


def _thread_back(session: Session, row: OutboxMessage, now: datetime) -> None:
    contact = session.get(Contact, (row.page_id, row.contact_id))
    last = contact.last_user_message_at if contact is not None else None
    released = release_held(session, row.page_id, row.contact_id, last, now)
    log.info("took the thread with %s back; %d held message(s) queued", row.contact_id, released)


def _hold_for_typing(session: Session, row: OutboxMessage, now: datetime) -> None:
    """issue 12: D. The dots are on the contact's screen: their next message waits out the
    pause (and, through `waits_behind` in the claim, so does everything after it). Only
    this contact's: other contacts' rows are claimed and sent meanwhile."""
    pause = row.body.get(TYPING_PAUSE) if isinstance(row.body, dict) else None
    if not isinstance(pause, int | float) or pause <= 0:
        return
    after = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.page_id == row.page_id,
            OutboxMessage.contact_id == row.contact_id,
            OutboxMessage.status == "queued",
            OutboxMessage.id > row.id,
        )
        .order_by(OutboxMessage.id)
        .limit(1)
        .with_for_update()
    ).first()
    if after is None:
        return
    until = now + timedelta(seconds=min(float(pause), 60.0))
    if after.next_attempt_at is None or after.next_attempt_at < until:
        after.next_attempt_at = until


def release_held(
    session: Session,
    page_id: str,
    contact_id: str,
    last_user_message_at: datetime | None,
    now: datetime,
) -> int:
    """The thread came back: decide each held message again under the policy of now."""
    released = 0
    for row in session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.page_id == page_id,
            OutboxMessage.contact_id == contact_id,
            OutboxMessage.status == "held",
        )
        .order_by(OutboxMessage.id)
    ):
        skip = _recheck(
            row, row.expires_at, last_user_message_at, now, "another app had the conversation"
        )
        if skip is None:
            row.status, row.reason, row.detail, row.next_attempt_at = "queued", None, None, None
            released += 1
        else:
            row.status, row.reason, row.detail = "skipped", skip.reason, skip.detail
    return released


def uses_notifications(body: dict[str, Any]) -> bool:
    """A send to a notification token, or an opt-in request for one (policy.md §3)."""
    recipient = body.get("recipient")
    if isinstance(recipient, dict) and "notification_messages_token" in recipient:
        return True
    message = body.get("message")
    attachment = message.get("attachment") if isinstance(message, dict) else None
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    return isinstance(payload, dict) and payload.get("template_type") == "notification_messages"


def refused_as_discontinued(body: dict[str, Any], outcome: Outcome) -> Outcome:
    """Facebook's (#10) without a subcode on a notification send means the Page's region lost
    notification messages (2026-02-10), not a missing permission: that one message fails
    with our reason and the page keeps sending. Any other (#10) still pauses the page."""
    if (
        isinstance(outcome, NeedsOperator)
        and outcome.code == 10
        and outcome.subcode is None
        and uses_notifications(body)
    ):
        return Refused(outcome.code, None, outcome.message, "notifications_discontinued")
    return outcome
