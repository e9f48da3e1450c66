"""What the API's routes share: the database, the clock, the settings and the flows."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import request
from sqlalchemy import Engine

from pageflows.api.errors import ApiError
from pageflows.clock import Clock
from pageflows.engine.policy import RULES, check_tag
from pageflows.rules.compile import Program
from pageflows.rules.load import LoadResult, load_paths
from pageflows.service.config import PageConfig, Settings
from pageflows.service.storage.templates import load_page_facts


@dataclass
class ApiContext:
    engine: Engine
    clock: Clock
    settings: Settings
    flows_dir: str | None = None  # the flows `serve` runs; None: routes that need them say so
    # issue 11: sandbox mode's simulator root (the console's preview plays a contact there)
    simulator_url: str | None = None
    _programs: dict[str, Program] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def admin_token(self) -> str:
        return self.settings.admin_token

    def page(self, page_id: str | None) -> PageConfig | None:
        """The configured page with that id; with none given, the only (or first) page."""
        if page_id is None:
            return self.settings.pages[0] if self.settings.pages else None
        return next((p for p in self.settings.pages if p.id == page_id), None)

    def programs(self) -> dict[str, Program]:
        """Each page's checked flows, loaded once per process (as the worker runs them)."""
        with self._lock:
            if self._programs is None:
                self._programs = self._load()
            return self._programs

    def _load(self) -> dict[str, Program]:
        programs: dict[str, Program] = {}
        if self.flows_dir is None:
            return programs
        for page in self.settings.pages:
            result = self.load_flows(page)
            if result is not None and result.program is not None:
                programs[page.id] = result.program
        return programs

    def load_flows(self, page: PageConfig) -> LoadResult | None:
        """The page's flows read and checked now, findings included (the console shows
        them); None when `serve` was given no flows folder."""
        folder = page.flows or self.flows_dir
        if folder is None:
            return None
        facts = load_page_facts(self.engine, page)
        today = self.clock.now().date()
        return load_paths([folder], today, check_tag, (facts,), RULES.token_regions)


def page_or_404(context: ApiContext) -> PageConfig:
    """`?page=` or the default page; an unknown one is a 404 naming those configured."""
    wanted = request.args.get("page") or None
    page = context.page(wanted)
    if page is None:
        configured = [p.id for p in context.settings.pages]
        if wanted is None:
            raise ApiError(404, "no page is configured", pages=configured)
        raise ApiError(404, f"no page {wanted} is configured here", page=wanted, pages=configured)
    return page
