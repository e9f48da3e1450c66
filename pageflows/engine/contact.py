"""A contact's state as the core reads and returns it (storage keeps it per page)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from pageflows.engine.policy import TokenState


class PendingAsk(BaseModel):
    """An `ask` waiting for the contact's answer: where it is, so the flow can resume."""

    model_config = ConfigDict(frozen=True)

    root: str
    path: tuple[int | str, ...]
    field: str
    # issue 12: a question lets go (docs/language.md): when it was asked, when it stops
    # waiting, and how many wrong answers it has had. None for asks stored before.
    asked_at: AwareDatetime | None = None
    until: AwareDatetime | None = None
    wrong: int = 0

    def expired(self, now: datetime) -> bool:
        return self.until is not None and now >= self.until


class ContactState(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    first_name: str | None = None
    last_name: str | None = None
    fields: dict[str, str] = {}
    tags: frozenset[str] = frozenset()
    ref: str | None = None
    ref_source: str | None = None
    first_seen_at: AwareDatetime | None = None
    last_user_message_at: AwareDatetime | None = None
    message_count: int = 0
    waiting: PendingAsk | None = None
    handed_off: bool = False
    tokens: dict[str, TokenState] = {}
    # The contact's message that came from a click-to-Messenger ad (policy.md §1a).
    ad_message_at: AwareDatetime | None = None
    # Opt-in request title -> when it last went out: one per title per week (policy.md §3).
    optin_requests: dict[str, AwareDatetime] = {}
    # A person answered (the operator API, or the Page inbox): no flow runs for this
    # contact until then, or until someone hands the conversation back (handback).
    agent_until: AwareDatetime | None = None
    # A person typed in Facebook's Page inbox, which took the thread (send-api.md §5): it
    # must be taken back when automation resumes. A reply through pageflows leaves the
    # thread with us, and taking a thread one holds is a call Facebook may refuse.
    inbox_has_thread: bool = False
    # issue 12: `handoff ... for 2h`: automation takes the thread back at this time.
    handoff_until: AwareDatetime | None = None

    def person_answering(self, now: datetime) -> bool:
        """A person's reply holds the conversation at ``now`` (the pause has not run out)."""
        return self.agent_until is not None and now < self.agent_until

    def automation_paused(self, now: datetime) -> bool:
        """No flow runs: the thread was handed off, or a person is answering."""
        return self.handed_off or self.person_answering(now)

    @property
    def is_new(self) -> bool:
        return self.first_seen_at is None
