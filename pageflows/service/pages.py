"""Per-page sending state shared by every process: paused (a person must act) or slowed.

Why in the database: a token Facebook rejects, a missing permission or a policy
block affects every message of the page, in every process; one row per page says
so, `/healthz` and the logs show it, and the sender claims nothing for a paused
page, so its messages stay queued, in order, until the cause is gone. A rate
limit slows the whole page (not one message): `slow_until` is when the next
probe may go, and `rate_limit_strikes` grows the wait while Facebook keeps
refusing. A page paused for its token resumes by itself when the configured
token changes (`token_fingerprint`), e.g. after a restart with the new token.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pageflows.service.storage.models import PageState

log = logging.getLogger("pageflows.pages")
TOKEN_REASONS = ("token_invalid", "permission_missing", "token_or_permission")


def fingerprint(token: str) -> str:
    """A short, one-way digest: lets us notice a new token without storing the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PageStatus:
    page_id: str
    paused_reason: str | None
    paused_detail: str | None
    paused_code: int | None
    paused_at: datetime | None
    slow_until: datetime | None


def _row(session: Session, page_id: str, now: datetime) -> PageState:
    row = session.get(PageState, page_id)
    if row is None:
        row = PageState(page_id=page_id, rate_limit_strikes=0, updated_at=now)
        session.add(row)
    return row


def pause(
    session: Session,
    page_id: str,
    *,
    reason: str,
    detail: str,
    code: int | None,
    subcode: int | None,
    token: str,
    now: datetime,
) -> bool:
    """Stop the page's sending. True when it was running until now (log once, not per message)."""
    row = _row(session, page_id, now)
    newly = row.paused_reason is None
    row.paused_reason, row.paused_detail = reason, detail[:2000]
    row.paused_code, row.paused_subcode = code, subcode
    row.token_fingerprint = fingerprint(token)
    row.updated_at = now
    if newly:
        row.paused_at = now
    return newly


def resume(session: Session, page_id: str, now: datetime, why: str) -> bool:
    row = session.get(PageState, page_id)
    if row is None or row.paused_reason is None:
        return False
    log.warning("page %s: sending resumes (%s; it was paused: %s)", page_id, why, row.paused_reason)
    row.paused_reason = row.paused_detail = None
    row.paused_code = row.paused_subcode = None
    row.paused_at = None
    row.updated_at = now
    return True


def resume_if_token_replaced(engine: Engine, tokens: dict[str, str], now: datetime) -> list[str]:
    """At start (or reload): pages paused for their token resume when the token changed."""
    resumed = []
    with Session(engine) as session, session.begin():
        for row in session.scalars(
            select(PageState).where(PageState.paused_reason.in_(TOKEN_REASONS))
        ):
            token = tokens.get(row.page_id)
            if token is not None and fingerprint(token) != row.token_fingerprint:
                resume(session, row.page_id, now, "its token was replaced")
                resumed.append(row.page_id)
    return resumed


def slow_down(
    session: Session, page_id: str, now: datetime, wait: timedelta | None, backoff: timedelta
) -> tuple[datetime, bool]:
    """Hold the page's sending until Facebook's wait (or our growing backoff) has passed."""
    row = _row(session, page_id, now)
    first = row.rate_limit_strikes == 0
    row.rate_limit_strikes += 1
    until = now + max(wait or timedelta(0), backoff)
    row.slow_until = until  # replaces the hold a probe put on the page (sender._claim_page)
    row.updated_at = now
    return row.slow_until, first


def strikes(session: Session, page_id: str) -> int:
    row = session.get(PageState, page_id)
    return 0 if row is None else row.rate_limit_strikes


def recovered(session: Session, page_id: str, now: datetime) -> None:
    """A send went through: the page is no longer throttled."""
    row = session.get(PageState, page_id)
    if row is not None and (row.rate_limit_strikes or row.slow_until):
        if row.rate_limit_strikes:
            log.info("page %s: Facebook accepts messages again; sending at full pace", page_id)
        row.rate_limit_strikes, row.slow_until, row.updated_at = 0, None, now


def probe_answered(session: Session, page_id: str, now: datetime) -> None:
    """A throttled page's probe got an answer about the message alone (refused, or to retry
    on its own): the next probe may go now instead of when the probe's hold ends."""
    row = session.get(PageState, page_id)
    if row is not None and row.rate_limit_strikes and row.slow_until and row.slow_until > now:
        row.slow_until, row.updated_at = now, now


def statuses(session: Session) -> list[PageStatus]:
    return [
        PageStatus(
            r.page_id, r.paused_reason, r.paused_detail, r.paused_code, r.paused_at, r.slow_until
        )
        for r in session.scalars(select(PageState).order_by(PageState.page_id))
    ]


def ensure(
    engine: Engine, page_ids: list[str], now: datetime, rates: dict[str, float] | None = None
) -> None:
    """One row per configured page, made at start, so no two senders race to create it.

    With `rates` (a process starting with its settings), the page's pace becomes this
    process's: every process paces by the row's rate, so two that disagree cannot add
    up to more than one page may send; a change is logged.
    """
    for page_id in page_ids:
        try:
            with Session(engine) as session, session.begin():
                row = session.get(PageState, page_id, with_for_update=True)
                if row is None:
                    row = PageState(page_id=page_id, rate_limit_strikes=0, updated_at=now)
                    session.add(row)
                rate = (rates or {}).get(page_id)
                if rate is not None and row.rate != rate:
                    if row.rate is not None:
                        log.warning(
                            "page %s: pace changed from %g to %g messages/s by this process's"
                            " settings; every process now paces at %g",
                            page_id,
                            row.rate,
                            rate,
                            rate,
                        )
                    row.rate = rate
        except IntegrityError:  # another process made it first: that is all we wanted
            continue
