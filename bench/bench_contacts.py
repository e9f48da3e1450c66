"""Benchmark: the operator's contact list at 100,000 contacts.

Fills a fresh database (SQLite file by default, or --database-url, e.g. a
PostgreSQL database) with 100,000 contacts of one page (names from 997 first
and 331 last names, tags on every 10,000th, 97th and 2nd, one contact in 50 that never wrote),
then times `service.conversations.list_contacts` as the API calls it, 50 per
page, items built: the first page, page 1,000 (its cursor is found by walking,
untimed, then the fetch is timed: keyset pagination makes it cost what page 1
costs), a very rare, a rare and a common tag, a name search and the open-window
filter. The baseline,
measured in the same run, is a primary-key fetch of one contact (one row, no
list): the ratio says how many such fetches a page costs. Each figure is the
median of --rounds runs, in milliseconds. The target is absolute (a page in
under 50 ms, what a console can show while typing); there is no pass/fail exit.

Run: .venv/bin/python bench/bench_contacts.py [--contacts N] [--rounds N]
     [--database-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from pageflows.service.conversations import ContactFilter, get_contact, list_contacts
from pageflows.service.storage.contact_search import name_key
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.migrate import upgrade
from pageflows.service.storage.models import Contact, ContactTag

PAGE = "104123456789012"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TARGET_MS = 50.0


def fill(engine: Engine, count: int) -> None:
    batch: list[dict[str, Any]] = []
    with Session(engine) as session, session.begin():
        for n in range(count):
            psid = f"{n:016d}"
            last = None if n % 50 == 0 else NOW - timedelta(seconds=n * 7)
            first, surname = f"Name{n % 997}", f"Family{n % 331}"
            tags = ["vip"] if n % 97 == 0 else []
            state = {"id": psid, "first_name": first, "last_name": surname, "tags": tags,
                     "fields": {"city": "Lisbon"},
                     "last_user_message_at": last.isoformat() if last else None}  # fmt: skip
            batch.append(
                {
                    "page_id": PAGE,
                    "psid": psid,
                    "state": state,
                    "last_user_message_at": last,
                    "updated_at": NOW,
                    "first_name": first,
                    "last_name": surname,
                    "first_key": name_key(first),
                    "last_key": name_key(surname),
                    "last_message": f"message {n}",
                }
            )
            if len(batch) == 5000:
                session.execute(insert(Contact), batch)
                batch = []
        if batch:
            session.execute(insert(Contact), batch)
        session.execute(
            insert(ContactTag),
            [{"page_id": PAGE, "psid": f"{n:016d}", "tag": "vip"} for n in range(0, count, 97)]
            + [{"page_id": PAGE, "psid": f"{n:016d}", "tag": "customer"}
               for n in range(1, count, 2)]
            + [{"page_id": PAGE, "psid": f"{n:016d}", "tag": "rare"}
               for n in range(3, count, 10_000)],
        )  # fmt: skip
    # What autovacuum does on a live database: statistics, and on PostgreSQL the
    # visibility map that lets index-only scans skip the table.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(
            text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )


def median_ms(run: Callable[[], object], rounds: int) -> float:
    run()  # warm the caches: every figure is a warm one
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def cursor_of_page(engine: Engine, number: int) -> str | None:
    after = None
    for _ in range(number - 1):
        after = list_contacts(engine, PAGE, NOW, limit=50, after=after).next
    return after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", action="store_true", help="Also print the results as JSON.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        fill(engine, args.contacts)
        print(f"{engine.dialect.name}: {args.contacts:,} contacts in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        page_1000 = cursor_of_page(engine, 1000) if args.contacts >= 50_000 else None
        baseline = median_ms(lambda: get_contact(engine, PAGE, f"{777:016d}"), args.rounds)
        cases: dict[str, Callable[[], object]] = {
            "first page": lambda: list_contacts(engine, PAGE, NOW, limit=50),
            "page 1,000": lambda: list_contacts(engine, PAGE, NOW, limit=50, after=page_1000),
            "tag 1 in 97": lambda: list_contacts(engine, PAGE, NOW, ContactFilter(tag="vip")),
            "tag 1 in 10k": lambda: list_contacts(engine, PAGE, NOW, ContactFilter(tag="rare")),
            "tag 1 in 2": lambda: list_contacts(engine, PAGE, NOW, ContactFilter(tag="customer")),
            "name search": lambda: list_contacts(engine, PAGE, NOW, ContactFilter(q="name12")),
            "open window": lambda: list_contacts(engine, PAGE, NOW, ContactFilter(window="open")),
        }
        results = [
            {"name": "contacts: primary-key fetch (baseline)", "value": round(baseline, 3),
             "unit": "ms", "baseline": None, "ratio": None, "target": None, "met": None}
        ]  # fmt: skip
        print(f"{'case':<14}{'ms':>9}{'x baseline':>12}   target < {TARGET_MS:.0f} ms")
        print(f"{'pk fetch':<14}{baseline:>9.2f}{1:>12.1f}")
        for name, run in cases.items():
            value = median_ms(run, args.rounds)
            ratio = value / baseline
            met = value < TARGET_MS
            print(f"{name:<14}{value:>9.2f}{ratio:>12.1f}   {'met' if met else 'NOT met'}")
            results.append(
                {"name": f"contacts ({engine.dialect.name}, {args.contacts:,}): {name}",
                 "value": round(value, 3), "unit": "ms", "baseline": round(baseline, 3),
                 "ratio": round(ratio, 2), "target": f"< {TARGET_MS:.0f} ms", "met": met}
            )  # fmt: skip
        if args.json:
            print(json.dumps(results, indent=2))
        engine.dispose()


if __name__ == "__main__":
    main()
