"""Fresh planner statistics for the tables whose claims PostgreSQL plans by them.

Why: PostgreSQL plans a query by its statistics of each table, which only
ANALYZE updates (autovacuum runs it at most once a minute, and only after a
fifth of the table changed). A broadcast queues thousands of outbox rows in a
few seconds; until the next ANALYZE the planner still believes the table is as
small as it was, and plans the sender's claim (candidates with two NOT EXISTS
over the same table) as nested loops that compare every row with every other:
4.2 s for one claim over 4,000 queued rows, 10 ms once analyzed (issue 13,
measured with bench/bench_broadcast.py; its PostgreSQL pace went anywhere
from 0.23 to 0.90 of the page's, by when autovacuum came).

So a claimer calls `analyze_if_stale` now and then: when the rows changed
since the table's last ANALYZE (`pg_stat_user_tables.n_mod_since_analyze`)
are many against its size, it runs ANALYZE itself: about 10 ms at 4,000 rows,
100 ms at 50,000. It never waits behind another ANALYZE or a VACUUM (a short
lock timeout: that one refreshes the statistics anyway), and any failure is
left to autovacuum. SQLite plans without such statistics: nothing to do there.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

# Stale: more rows changed since the last ANALYZE than this many, and than this share of
# the rows the statistics know of (autovacuum's own default share is 0.1 + 50 rows, but
# it looks only once a minute).
MIN_CHANGES = 1000
SHARE = 0.2
LOCK_TIMEOUT = "50ms"

_STALE = text(
    "SELECT s.n_mod_since_analyze > GREATEST(:least, :share * GREATEST(c.reltuples, 0))"
    " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
    " WHERE s.relname = :table AND s.schemaname = current_schema()"
)


def analyze_if_stale(engine: Engine, table: str) -> bool:
    """ANALYZE `table` (PostgreSQL) when its statistics lag far behind its rows; whether it
    ran. `table` is one of our own table names, never text from outside."""
    if engine.dialect.name != "postgresql" or not table.isidentifier():
        return False
    try:
        with engine.begin() as connection:
            stale = connection.execute(
                _STALE, {"table": table, "least": MIN_CHANGES, "share": SHARE}
            ).scalar()
            if not stale:
                return False
            connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            connection.execute(text(f"ANALYZE {table}"))
        return True
    except SQLAlchemyError as exc:  # another ANALYZE or a VACUUM holds it: it refreshes them
        log.debug("ANALYZE %s skipped: %s", table, type(exc).__name__)
        return False
