"""One process at a time per contact: the lock every decision for a contact takes first.

A contact's events must run in order and never at the same time as each other,
across any number of worker processes. On PostgreSQL each decision's
transaction first takes a transaction-scoped advisory lock on the contact
(`pg_try_advisory_xact_lock`, released at commit or rollback, so a killed
process never leaves one behind); a process that finds it taken moves on to
another contact and comes back on its next pass. Inbox events, follow-ups and
broadcast deliveries all take the same lock, always before any row lock, so
no two transactions wait on each other in opposite orders.

SQLite has one worker process (the CLI refuses a second one), whose deciding
runs on one thread: there is nothing to lock against.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from pageflows.service.storage.pipelined import run_pipelined

# The seed that keeps our keys apart from any other application's advisory locks.
CONTACT_LOCK_SEED = 7_261_842_002
_TRY = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, :seed))")
_WAIT = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, :seed))")


def try_lock_contact(session: Session, page_id: str, contact_id: str | None) -> bool:
    """True when this transaction now holds the contact's lock (or no lock is needed).

    A hash collision between two contacts only makes them wait for each other.
    """
    if contact_id is None or session.get_bind().dialect.name != "postgresql":
        return True
    key = f"{page_id}:{contact_id}"
    return bool(session.scalar(_TRY, {"key": key, "seed": CONTACT_LOCK_SEED}))


def lock_contact(session: Session, page_id: str, contact_id: str | None) -> None:
    """Wait for the contact's lock: for short bookkeeping (recording a failure) that must
    not race a decision for the same contact in another process."""
    if contact_id is None or session.get_bind().dialect.name != "postgresql":
        return
    key = f"{page_id}:{contact_id}"
    session.execute(_WAIT, {"key": key, "seed": CONTACT_LOCK_SEED})


# issue 13: C. A batch's contacts locked in one round trip; the ones held elsewhere are left out.
_TRY_MANY = text(
    "SELECT k FROM unnest(CAST(:keys AS text[])) AS k"
    " WHERE pg_try_advisory_xact_lock(hashtextextended(k, :seed))"
)


def try_lock_contacts(
    session: Session, contacts: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The (page, contact) pairs whose locks this transaction now holds, in the given order.

    The same lock as `try_lock_contact`, taken for a whole batch in one statement:
    a worker deciding 100 contacts per transaction pays one round trip, not 100.
    Each is tried, never waited for, so two batches never wait on each other.
    """
    if not contacts or session.get_bind().dialect.name != "postgresql":
        return list(contacts)
    keys = [f"{page_id}:{contact_id}" for page_id, contact_id in contacts]
    params = {"keys": keys, "seed": CONTACT_LOCK_SEED}
    connection = session.connection()
    # issue 13: F4. psycopg sends the BEGIN that opens a transaction as a round trip of its
    # own; in a pipeline it goes with the locks: one round trip instead of two.
    held = {row[0] for row in run_pipelined(connection, [(_TRY_MANY, params)])[0]}
    return [pair for pair, key in zip(contacts, keys, strict=True) if key in held]
