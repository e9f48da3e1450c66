"""Everything the simulator remembers: pages, contacts, comments, tokens, sends.

One lock guards it all: the app is served threaded, and a webhook the simulator
posts can make the engine call the Send API back while the first request is
still open, so the lock is never held across network I/O.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pageflows.simulator.clock import SimClock

DEFAULT_APP_ID = "987654321098765"  # the app the engine runs as (as in webhooks.md)
PAGE_INBOX_APP_ID = "263902037430900"
FIRST_TEMPLATE_ID = 771000000000001  # template ids are numbers, counted up per simulator
PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


@dataclass
class Template:
    """A Page-owned message template, in the shape Facebook lists it (policy.md §2a)."""

    template_id: str
    name: str
    language: str  # e.g. "en_US"
    status: str  # APPROVED, PENDING, REJECTED, PAUSED, DISABLED
    category: str  # "UTILITY"
    components: list[dict[str, Any]]  # [{"type": "BODY", "text": ...}, {"type": "BUTTONS", ...}]

    def body(self) -> str:
        return next(
            (str(c.get("text", "")) for c in self.components if c.get("type") == "BODY"), ""
        )

    def placeholders(self) -> int:
        """How many body parameters a send needs: the highest `{{n}}` in the body."""
        return max((int(n) for n in PLACEHOLDER.findall(self.body())), default=0)

    def buttons(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for component in self.components:
            if component.get("type") == "BUTTONS":
                found.extend(b for b in component.get("buttons") or [] if isinstance(b, dict))
        return found

    def render(self, values: list[str]) -> str:
        """The body as the person reads it; a placeholder without a value stays as written."""

        def one(match: re.Match[str]) -> str:
            index = int(match.group(1)) - 1
            return values[index] if 0 <= index < len(values) else match.group(0)

        return PLACEHOLDER.sub(one, self.body())

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.template_id,
            "name": self.name,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "components": self.components,
        }


@dataclass
class Page:
    page_id: str
    token: str
    app_secret: str
    webhook_url: str
    verify_token: str | None = None
    app_id: str = DEFAULT_APP_ID
    name: str = "Simulated Page"
    profile: dict[str, Any] = field(default_factory=dict)  # messenger_profile properties
    region: str | None = None  # "AU", "EU", "JP", "KR", "UK" or None: none of them (policy.md §3)
    ad_window: bool = False  # 7 days after a click-to-Messenger ad message (policy.md §1a)
    # The app has Facebook's Human Agent permission (App Review): HUMAN_AGENT is refused without.
    human_agent: bool = False
    templates: dict[str, Template] = field(default_factory=dict)  # by id, in creation order
    # issue 11 (oauth.py): page tokens Facebook Login gave out besides `token`, and the
    # webhook fields our app is subscribed to (`subscribed_apps`).
    issued_tokens: set[str] = field(default_factory=set)
    subscribed_fields: list[str] = field(default_factory=list)

    def template(self, name: str, language: str) -> Template | None:
        found = (t for t in self.templates.values() if (t.name, t.language) == (name, language))
        return next(found, None)

    def settings(self) -> dict[str, Any]:
        return {"page_id": self.page_id, "webhook_url": self.webhook_url,
                "region": self.region, "ad_window": self.ad_window,
                "human_agent": self.human_agent}  # fmt: skip


@dataclass
class Contact:
    psid: str
    page_id: str
    first_name: str
    last_name: str
    last_message_at: datetime | None = None  # drives the 24 h / 7 day windows
    ad_message_at: datetime | None = None  # last message that followed a click-to-Messenger ad
    owner_app_id: str | None = None  # thread owner; None = idle / our app
    delivered_mids: list[str] = field(default_factory=list)

    def profile(self) -> dict[str, Any]:
        return {
            "id": self.psid,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "name": f"{self.first_name} {self.last_name}".strip(),
            "profile_pic": f"https://platform-lookaside.fbsbx.com/platform/profilepic/?psid={self.psid}",
            "locale": "en_US",
            "timezone": 0,
        }


@dataclass
class Comment:
    comment_id: str
    page_id: str
    post_id: str
    from_id: str
    from_name: str
    message: str
    created_time: datetime
    by_page: bool = False
    replied: bool = False


@dataclass
class NotificationToken:
    token: str
    page_id: str
    psid: str
    topic: str
    stopped: bool = False
    last_sent_at: datetime | None = None
    payload: str = ""  # the opt-in request's payload ("" after an m.me/rn link)
    from_link: bool = False  # an m.me/rn link gave it: its webhooks name the topic


@dataclass
class Faults:
    fail_next: int = 0
    status: int | None = None
    code: int = 613
    subcode: int | None = None
    delay_seconds: float = 0.0
    scope: str = "messages"  # "messages" (Send API only) or "all" Graph calls
    fail_until: datetime | None = None  # on the simulator's clock: every call fails until then
    delay_next: int = 0  # how many of the next calls `delay_seconds` applies to (0: all)


@dataclass
class MediaFile:
    content_type: str
    content_length: int


def new_mid() -> str:
    """Message ids look like Facebook's: `m_` + 86 URL-safe characters."""
    return "m_" + secrets.token_urlsafe(66)[:86]


def psid_for(name: str) -> str:
    """A stable 16-digit PSID for a persona name, so `--as alice` is the same person each time."""
    digest = hashlib.sha256(name.lower().encode()).hexdigest()
    return str(10**15 + int(digest, 16) % (9 * 10**15))


class SimState:
    """The whole simulated Facebook; pass one to `create_app` to share it with a test."""

    def __init__(self, clock: SimClock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or SimClock()
        self.pages: dict[str, Page] = {}
        self.contacts: dict[tuple[str, str], Contact] = {}  # (page_id, psid)
        self.comments: dict[str, Comment] = {}
        self.tokens: dict[str, NotificationToken] = {}
        self.log: list[dict[str, Any]] = []  # accepted and refused sends, in order
        self.handovers: list[dict[str, Any]] = []
        self.faults = Faults()
        self.media: dict[str, MediaFile] = {}
        # (page_id, psid, title) -> when the last opt-in request with that title was accepted
        self.optin_requests: dict[tuple[str, str, str], datetime] = {}
        self.template_events: list[dict[str, Any]] = []  # status webhooks posted, in order
        self.optins_tapped: set[int] = set()  # log seqs of opt-in requests already tapped
        self._next_template_id = FIRST_TEMPLATE_ID
        # issue 11 (oauth.py): Facebook Login's codes and user tokens, and tokens killed
        # (a person changed their password): a call with one is a 190.
        self.oauth_codes: dict[str, dict[str, Any]] = {}
        self.user_tokens: dict[str, dict[str, Any]] = {}
        self.dead_tokens: set[str] = set()
        # Set when the server stops: a call held by a `slow` fault ends at once, as a hung
        # call does when Facebook's side goes away, instead of holding the stop for its delay.
        self.stopping = threading.Event()

    def new_template_id(self) -> str:
        with self.lock:
            self._next_template_id += 1
            return str(self._next_template_id - 1)

    def page_for_token(self, token: str | None) -> Page | None:
        with self.lock:
            if not token or token in self.dead_tokens:
                return None
            found = (p for p in self.pages.values() if token in (p.token, *p.issued_tokens))
            return next(found, None)

    def only_page(self, page_id: str | None) -> Page:
        """The named page, or the single registered one (so CLI users can omit it)."""
        with self.lock:
            if page_id is not None:
                if page_id not in self.pages:
                    raise LookupError(
                        f"unknown page {page_id!r}; register it with POST /_sim/pages"
                    )
                return self.pages[page_id]
            if len(self.pages) != 1:
                raise LookupError(f"{len(self.pages)} pages registered: give page_id")
            return next(iter(self.pages.values()))

    def contact(self, page_id: str, psid: str) -> Contact | None:
        with self.lock:
            return self.contacts.get((page_id, psid))

    def ensure_contact(
        self, page_id: str, psid: str, first_name: str = "", last_name: str = ""
    ) -> Contact:
        with self.lock:
            found = self.contacts.get((page_id, psid))
            if found is None:
                found = Contact(psid, page_id, first_name or "Alice", last_name or "Example")
                self.contacts[(page_id, psid)] = found
            elif first_name:
                found.first_name, found.last_name = first_name, last_name or found.last_name
            return found

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            entry.setdefault("seq", len(self.log) + 1)
            self.log.append(entry)

    def sends_to(self, psid: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.log if e.get("recipient_id") == psid and e["ok"]]
