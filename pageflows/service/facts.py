"""Each page's facts (region, ad window, templates) for the engine, cached for a few seconds.

The engine reads them at every decision; the database holds the templates'
statuses, which a status webhook (decided by any worker process) or a
`pageflows templates sync` (another command) changes. So a process keeps a
page's facts at most `FACTS_TTL` seconds: another process's change reaches it
within that, while a busy page costs one small query per page every few
seconds, not one per event. The process that applies a status webhook forgets
the page at once, so the events after it, in that process, see the new status;
a SIGHUP reload forgets every page (the declared facts may have changed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from pageflows.rules.page_facts import PageFacts
from pageflows.service.config import PageConfig
from pageflows.service.storage.templates import load_page_facts

FACTS_TTL = 3.0  # seconds


class FactsCache:
    def __init__(self, ttl: float = FACTS_TTL, ticker: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.ticker = ticker  # a monotonic clock: how old an entry is, not what day it is
        self._entries: dict[str, tuple[float, PageFacts]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, page: PageConfig) -> PageFacts:
        """The page's facts, read through `session` when not cached or older than `ttl`."""
        now = self.ticker()
        with self._lock:
            entry = self._entries.get(page.id)
        if entry is not None and now - entry[0] < self.ttl:
            return entry[1]
        facts = load_page_facts(session, page)
        with self._lock:
            self._entries[page.id] = (now, facts)
        return facts

    def forget(self, page_id: str | None = None) -> None:
        """Read the page (or, with no id, every page) again at its next decision."""
        with self._lock:
            if page_id is None:
                self._entries.clear()
            else:
                self._entries.pop(page_id, None)
